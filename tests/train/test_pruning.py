"""Magnitude pruning, iterative pruning with fine-tuning and Dynamic Network
Surgery: exact sparsity per layer and globally, masks that hold through
fine-tuning, splicing that restores a weight grown back above b, and
make_permanent leaving exact zeros."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from hwcomp.train import (QuantConv2d, QuantLinear, dns_prune, finetune, get_mask, iterative_prune,  # noqa: E402
                          layer_density, magnitude_prune, make_permanent, share_weights, start_splicing,
                          total_density)
from tiny_classifiers import blobs, mlp  # noqa: E402

nn = torch.nn


def zeros(t):
    return int((t.detach() == 0).sum())


@settings(max_examples=25, deadline=None)
@given(out=st.integers(1, 12), inp=st.integers(1, 12), s=st.floats(0, 1), seed=st.integers(0, 1000))
def test_layer_sparsity_is_exact(out, inp, s, seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(inp, out))
    got = magnitude_prune(model, s)
    k = round(s * out * inp)
    assert zeros(model[0].weight) == k and got == {"0": k / (out * inp)}
    # the survivors are the largest magnitudes of the raw weight
    raw = model[0].parametrizations.weight.original.detach().abs().flatten()
    kept = model[0].weight.detach().flatten() != 0
    if 0 < k < raw.numel():
        assert raw[kept].min() >= raw[~kept].max()


@settings(max_examples=15, deadline=None)
@given(shape=st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3)),
       s1=st.floats(0, 1), s2=st.floats(0, 1), seed=st.integers(0, 1000))
def test_conv_and_per_layer_dict(shape, s1, s2, seed):
    torch.manual_seed(seed)
    o, c, kh, kw = shape
    model = nn.Sequential(nn.Conv2d(c, o, (kh, kw)), nn.Flatten(), nn.LazyLinear(3))
    model(torch.zeros(1, c, 4, 4))
    magnitude_prune(model, {"0": s1, "2": s2})
    assert zeros(model[0].weight) == round(s1 * model[0].weight.numel())
    assert zeros(model[2].weight) == round(s2 * model[2].weight.numel())


@settings(max_examples=20, deadline=None)
@given(widths=st.lists(st.integers(1, 9), min_size=2, max_size=4), s=st.floats(0, 1), seed=st.integers(0, 999))
def test_global_threshold_is_one_magnitude(widths, s, seed):
    torch.manual_seed(seed)
    model = nn.Sequential(*[nn.Linear(a, b) for a, b in zip(widths, widths[1:])])
    magnitude_prune(model, s, scope="global")
    raws = [m.parametrizations.weight.original.detach().abs().flatten() for m in model]
    kept = [m.weight.detach().flatten() != 0 for m in model]
    n = sum(r.numel() for r in raws)
    assert sum(int((~k).sum()) for k in kept) == round(s * n)
    lo = [float(r[k].min()) for r, k in zip(raws, kept) if k.any()]
    hi = [float(r[~k].max()) for r, k in zip(raws, kept) if (~k).any()]
    if lo and hi:
        assert min(lo) >= max(hi)  # every survivor outweighs every pruned weight, across layers


def test_global_threshold_is_exact_in_total_and_uneven_per_layer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))
    with torch.no_grad():
        model[2].weight.mul_(10)  # larger weights: the global threshold prunes this layer less
    per_layer = magnitude_prune(model, 0.75, scope="global")
    n = 8 * 32 + 32 * 3
    assert zeros(model[0].weight) + zeros(model[2].weight) == round(0.75 * n)
    assert per_layer["0"] > 0.75 > per_layer["2"]
    assert total_density(model) == pytest.approx(1 - round(0.75 * n) / n)


def test_masks_only_grow():
    model = mlp()
    magnitude_prune(model, 0.5)
    before = get_mask(model[0]).mask.clone()
    magnitude_prune(model, 0.25)  # lower target: nothing comes back
    assert torch.equal(get_mask(model[0]).mask, before)
    magnitude_prune(model, 0.75)
    after = get_mask(model[0]).mask
    assert bool((after <= before).all()) and zeros(model[0].weight) == round(0.75 * 128)


def test_masks_hold_through_finetune_and_make_permanent():
    model = mlp()
    magnitude_prune(model, 0.6)
    pruned = model[0].weight.detach() == 0
    finetune(model, *blobs(), epochs=3, lr=1e-2, weight_decay=1e-3, log=None)
    assert torch.equal(model[0].weight.detach() == 0, pruned)
    make_permanent(model)
    assert type(model[0]) is nn.Linear and isinstance(model[0].weight, nn.Parameter)
    assert torch.equal(model[0].weight.detach() == 0, pruned)
    assert set(model.state_dict()) == {"0.weight", "0.bias", "2.weight", "2.bias"}


def test_quant_layers_prune_and_stay_quant():
    torch.manual_seed(0)
    model = nn.Sequential(QuantLinear(8, 6, weight_bits=4), QuantConv2d(1, 4, 3, weight_bits=3))
    magnitude_prune(model, 0.5)
    assert zeros(model[0].weight) == 24 and zeros(model[1].weight) == 18
    q = model[0].quant_weight().detach()
    assert bool((q[model[0].weight.detach() == 0] == 0).all())
    make_permanent(model)
    assert type(model[0]) is QuantLinear and zeros(model[0].weight) == 24


def test_iterative_prune_reaches_each_step_and_learns():
    x, y = blobs()
    model = mlp()
    finetune(model, x, y, epochs=10, lr=1e-2, log=None)
    lines = []
    hist = iterative_prune(model, x, y, [0.5, 0.8], epochs=5, lr=1e-2, eval_data=(x, y), log=lines.append)
    assert [r["step"] for r in hist] == [1, 2] and len(lines) == 2
    assert hist[1]["density"] == {"0": pytest.approx(0.2, abs=1 / 128), "2": pytest.approx(0.2, abs=1 / 48)}
    assert layer_density(model) == hist[1]["density"]
    assert hist[1]["eval_acc"] > 0.9


def test_iterative_prune_is_deterministic():
    def run():
        model = mlp()
        iterative_prune(model, *blobs(), [0.5, 0.7], epochs=2, log=None)
        return make_permanent(model).state_dict()
    a, b = run(), run()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_dns_restores_a_weight_grown_above_b():
    torch.manual_seed(0)
    layer = nn.Linear(4, 3)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.01, 0.5, -0.6, 0.7], [0.8, -0.9, 1.0, 0.02], [1.1, 1.2, -0.03, 1.3]]))
    model = nn.Sequential(layer)
    (a, b), = dns_prune(model, 0.25, margin=0.5).values()
    assert 0.03 < a < 0.5 and b == pytest.approx(1.5 * a)
    assert zeros(layer.weight) == 3
    # a loss that pulls the pruned w[0, 0] upwards: its gradient reaches the raw weight
    opt = torch.optim.SGD(layer.parameters(), lr=0.05)
    x = torch.tensor([[1.0, 0, 0, 0]])
    history = []
    model.train()
    for _ in range(20):
        opt.zero_grad()
        out = model(x)
        history.append(float(layer.weight[0, 0].detach()))
        (-out[0, 0]).backward()
        opt.step()
    raw = layer.parametrizations.weight.original.detach()
    assert float(raw[0, 0]) > b and history[0] == 0.0 and history[-1] > b
    # it stayed pruned while between a and b, and came back once above b
    first_back = next(i for i, v in enumerate(history) if v != 0)
    assert history[first_back] > b
    assert zeros(layer.weight) == 2


def test_dns_prunes_a_weight_that_shrinks_below_a():
    layer = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, 1.0]]))
    start_splicing(layer, 0.2, 0.3)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    layer.train()
    for _ in range(6):
        opt.zero_grad()
        layer(torch.tensor([[1.0, 0.0]])).sum().backward()  # pushes w[0, 0] down by 0.1 a step
        opt.step()
    layer(torch.zeros(1, 2))  # the mask is recomputed on a training forward
    assert float(layer.weight[0, 0].detach()) == 0.0 and float(layer.weight[0, 1].detach()) == 1.0
    layer.eval()
    make_permanent(layer)
    assert layer.weight.tolist() == [[0.0, 1.0]] and not layer._forward_pre_hooks


def test_dns_on_blobs_keeps_accuracy_and_eval_does_not_splice():
    x, y = blobs()
    model = mlp()
    finetune(model, x, y, epochs=10, lr=1e-2, log=None)
    dns_prune(model, 0.7)
    finetune(model, x, y, epochs=5, lr=1e-2, log=None)
    mask = get_mask(model[0]).mask.clone()
    with torch.no_grad():
        model[0].parametrizations.weight.original.mul_(100)  # would splice everything back in training mode
    model.eval()
    model(torch.from_numpy(x))
    assert torch.equal(get_mask(model[0]).mask, mask)
    assert 0.2 <= total_density(model) <= 0.5


def test_bad_arguments():
    model = mlp()
    with pytest.raises(ValueError, match="scope"):
        magnitude_prune(model, 0.5, scope="row")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        magnitude_prune(model, 1.5)
    with pytest.raises(ValueError, match="not a Linear/Conv2d"):
        magnitude_prune(model, 0.5, layers=["1"])
    with pytest.raises(ValueError, match="one sparsity"):
        magnitude_prune(model, {"0": 0.5}, scope="global")
    with pytest.raises(ValueError, match="a <= b"):
        start_splicing(model[0], 0.5, 0.1)
    share_weights(model, 2, layers=["2"])
    with pytest.raises(ValueError, match="prune before sharing"):
        magnitude_prune(model, 0.5, layers=["2"])
