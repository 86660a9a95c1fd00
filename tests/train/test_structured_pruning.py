"""Filter (neuron) pruning by L1 norm: whole filters with their bias are
zero, the lowest norms go, per layer or global, and they stay zero through
fine-tuning and export."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from hwcomp.train import QuantConv2d, finetune, make_permanent, prune_filters  # noqa: E402

from tiny_classifiers import blobs, mlp  # noqa: E402

nn = torch.nn


def dead_filters(layer):
    w = layer.weight.detach().flatten(1)
    dead = ~w.any(1)
    if layer.bias is not None:
        dead &= layer.bias.detach() == 0
    return sorted(torch.nonzero(dead).flatten().tolist())


@settings(max_examples=25, deadline=None)
@given(out=st.integers(1, 10), c=st.integers(1, 4), k=st.integers(1, 3), r=st.floats(0, 1), seed=st.integers(0, 999))
def test_conv_filters_with_lowest_l1_are_zero(out, c, k, r, seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(c, out, k), nn.ReLU(), nn.Conv2d(out, 2, 1))
    norms = model[0].weight.detach().abs().flatten(1).sum(1)
    pruned = prune_filters(model, r)
    want = min(round(r * out), out - 1)  # one filter always stays
    assert list(pruned) == ["0"]  # the last layer (the outputs) is left alone by default
    assert pruned["0"] == dead_filters(model[0]) and len(pruned["0"]) == want
    alive = [i for i in range(out) if i not in pruned["0"]]
    if pruned["0"]:
        assert max(norms[pruned["0"]]) <= min(norms[alive])
    assert not dead_filters(model[2])


def test_neurons_stay_dead_through_finetune_and_export():
    x, y = blobs()
    model = mlp(h=16)
    pruned = prune_filters(model, 0.5)
    assert len(pruned["0"]) == 8
    finetune(model, x, y, epochs=3, lr=1e-2, log=None)
    make_permanent(model)
    assert dead_filters(model[0]) == pruned["0"]
    assert set(model.state_dict()) == {"0.weight", "0.bias", "2.weight", "2.bias"}


def test_global_ranking_uses_mean_magnitude_and_keeps_a_filter():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 2))
    with torch.no_grad():
        model[0].weight.mul_(0.01)  # every neuron of layer 0 is weaker than any of layer 2
    pruned = prune_filters(model, 0.5, scope="global")
    assert len(pruned["0"]) == 5 and len(pruned["2"]) == 1  # 6 of 12, but one of layer 0 stays


def test_explicit_layers_repeat_and_quant_conv():
    torch.manual_seed(0)
    model = nn.Sequential(QuantConv2d(1, 8, 3, weight_bits=4, bias=False))
    assert prune_filters(model, 0.25, layers=["0"]) == {"0": dead_filters(model[0])}
    again = prune_filters(model, 0.5, layers=["0"])["0"]
    assert len(again) == 4 and set(dead_filters(model[0])) == set(again)
    assert not model[0].quant_weight().detach().flatten(1)[again].any()


def test_bad_scope():
    with pytest.raises(ValueError, match="scope"):
        prune_filters(mlp(), 0.5, scope="channel")
    with pytest.raises(ValueError, match="one ratio"):
        prune_filters(mlp(), {"0": 0.5}, scope="global")
