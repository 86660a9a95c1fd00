"""k-means weight sharing: linear initialization and Lloyd steps against a
plain reference, <= 2^K distinct non-zero values that codebook fine-tuning
keeps, zeros that stay zeros, centroid gradients that are the sums of their
members' gradients, determinism."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from hwcomp.train import (QuantLinear, distinct_values, finetune, kmeans_1d, magnitude_prune,  # noqa: E402
                          make_permanent, share_layer, share_weights)
from hwcomp.train.weight_sharing import PRUNED, get_shared  # noqa: E402
from tiny_classifiers import blobs, mlp  # noqa: E402

nn = torch.nn


def _kmeans_reference(v, k, iters=100):
    """The textbook loop: every distance computed, ties to the lower index."""
    c = np.linspace(v.min(), v.max(), k)
    for _ in range(iters):
        labels = np.argmin(np.abs(v[:, None] - c[None, :]), axis=1)
        new = np.array([v[labels == j].mean() if (labels == j).any() else c[j] for j in range(k)])
        if np.array_equal(new, c):
            break
        c = new
    return c, labels


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), bits=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_kmeans_matches_reference(n, bits, seed):
    v = np.random.default_rng(seed).normal(0, 1, n).astype(np.float32)
    c, labels = kmeans_1d(v, 2 ** bits)
    rc, rlabels = _kmeans_reference(v.astype(np.float64), 2 ** bits)
    np.testing.assert_allclose(c, rc, rtol=1e-5, atol=1e-6)
    assert np.array_equal(labels, rlabels)
    assert np.all(np.diff(c) >= 0)


def test_linear_initialization_is_even_over_min_max():
    c, labels = kmeans_1d(np.array([0.0, 3.0]), 4, max_iter=0)
    assert c.tolist() == [0.0, 1.0, 2.0, 3.0]
    c, labels = kmeans_1d(np.array([0.0, 0.9, 2.2, 3.0]), 4)
    assert c.tolist() == pytest.approx([0.0, 0.9, 2.2, 3.0]) and labels.tolist() == [0, 1, 2, 3]


@settings(max_examples=20, deadline=None)
@given(out=st.integers(1, 12), inp=st.integers(1, 12), s=st.floats(0, 0.95), bits=st.integers(1, 5),
       reserve=st.booleans(), seed=st.integers(0, 999))
def test_shared_layer_has_few_values_and_exact_zeros(out, inp, s, bits, reserve, seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(inp, out))
    magnitude_prune(model, s)
    zeros = model[0].weight.detach() == 0
    codebook = share_layer(model[0], bits, reserve_zero=reserve)
    w = model[0].weight.detach()
    assert torch.equal(w == 0, zeros)  # no centroid sits exactly on 0 for normal-ish weights
    assert distinct_values(model)["0"] <= 2 ** bits - (1 if reserve else 0)
    assert len(codebook) == 2 ** bits and (not reserve or codebook[-1] == 0.0)
    assert set(w[w != 0].tolist()) <= set(codebook.tolist())
    if reserve:
        assert distinct_values(model, nonzero=False)["0"] <= 2 ** bits


def test_centroid_gradient_is_the_sum_of_member_gradients():
    torch.manual_seed(0)
    layer = nn.Linear(6, 4, bias=False)
    magnitude_prune(nn.Sequential(layer), 0.25)
    share_layer(layer, 2)
    p = get_shared(layer)
    x = torch.randn(5, 6)
    # the same loss on a free copy of the weight gives each member's gradient
    w = layer.weight.detach().clone().requires_grad_(True)
    (x @ w.T).square().sum().backward()
    layer(x).square().sum().backward()
    for k in range(4):
        np.testing.assert_allclose(float(p.codebook.grad[k]), float(w.grad[p.index == k].sum()), rtol=1e-5, atol=1e-6)
    assert int((p.index == PRUNED).sum()) == 6
    assert layer.parametrizations.weight.original.grad is None


def test_codebook_finetune_keeps_values_and_zeros():
    x, y = blobs()
    model = mlp()
    finetune(model, x, y, epochs=10, lr=1e-2, log=None)
    magnitude_prune(model, 0.6)
    zeros = {n: m.weight.detach() == 0 for n, m in (("0", model[0]), ("2", model[2]))}
    books = share_weights(model, 3)
    index = get_shared(model[0]).index.clone()
    finetune(model, x, y, epochs=5, lr=1e-2, log=None)
    after = get_shared(model[0]).codebook.detach().numpy()
    assert not np.array_equal(after, books["0"])  # the codebook trained
    assert torch.equal(get_shared(model[0]).index, index)
    make_permanent(model)
    assert type(model[0]) is nn.Linear and model[0].weight.requires_grad
    used = torch.unique(index[index != PRUNED]).numpy()  # linear init can leave a centroid empty
    assert distinct_values(model)["0"] == len(used) and distinct_values(model)["2"] <= 8
    assert set(model[0].weight.detach().flatten().tolist()) - {0.0} == set(after[used].tolist())
    for n, m in (("0", model[0]), ("2", model[2])):
        assert torch.equal(m.weight.detach() == 0, zeros[n])


def test_sharing_is_deterministic_and_works_on_quant_layers():
    def run():
        torch.manual_seed(3)
        m = nn.Sequential(QuantLinear(8, 5, weight_bits=6))
        share_weights(m, 2)
        return make_permanent(m)[0].weight.detach()
    a = run()
    assert torch.equal(a, run()) and len(torch.unique(a)) <= 4


def test_bad_bits():
    with pytest.raises(ValueError, match="1..16"):
        share_layer(nn.Linear(2, 2), 0)
