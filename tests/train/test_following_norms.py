"""A pruned filter silences the BatchNorm channel after it (gamma and beta
masked), so the channel is exactly 0 after the BatchNorm in training and eval
mode; the BatchNorm is found by torch.fx (module order when fx cannot trace);
tied layers (a residual stream) lose the same filters; the compiler then
removes every pruned channel, even in front of padded convs and through an add."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from hwcomp.train import QuantConv2d, finetune, make_permanent, prune_filters  # noqa: E402
from hwcomp.train.following_norms import norms_after  # noqa: E402

from torch.nn.utils import parametrize  # noqa: E402

nn = torch.nn


class Block(nn.Module):
    """stem conv-BN-ReLU, then relu(x + BN(conv(x))): a residual add of two BN outputs."""

    def __init__(self, c: int = 6, conv=nn.Conv2d) -> None:
        super().__init__()
        self.stem, self.bn0 = conv(1, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.c1, self.bn1 = conv(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.head = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, x):
        x = torch.relu(self.bn0(self.stem(x)))
        return nn.functional.adaptive_avg_pool2d(self.head(torch.relu(x + self.bn1(self.c1(x)))), 1).flatten(1)


class Untraceable(nn.Module):
    """Control flow on a tensor value: torch.fx cannot trace it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4)
        self.later_bn, self.fc = nn.BatchNorm1d(4), nn.Linear(4, 2)

    def forward(self, x):
        y = self.bn(self.conv(x))
        if y.sum() > 0:
            y = -y
        return self.fc(self.later_bn(y.mean((2, 3))))


def test_bn_lookup_by_trace_and_by_module_order():
    seq = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 1), nn.ReLU(),
                        nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 5),
                        nn.BatchNorm1d(5))
    # conv3 -> relu -> bn is not a direct read: not found (the documented limit)
    assert norms_after(seq) == {"0": ["1"], "7": ["8"]}
    assert norms_after(Block()) == {"stem": ["bn0"], "c1": ["bn1"]}
    assert norms_after(Block(conv=lambda *a, **k: QuantConv2d(*a, weight_bits=4, **k))) == {"stem": ["bn0"],
                                                                                              "c1": ["bn1"]}
    # untraceable: module order pairs conv with bn; fc with nothing (later_bn is defined before it)
    assert norms_after(Untraceable()) == {"conv": ["bn"]}


def test_module_order_sees_through_masks():
    model = Untraceable()
    dead = prune_filters(model, 0.5, layers=["conv"])["conv"]
    assert len(dead) == 2 and not model.bn.weight.detach()[dead].any() and not model.bn.bias.detach()[dead].any()
    assert norms_after(model) == {"conv": ["bn"]}   # the masked conv has a child module now, still a leaf


def _bn_output(model, x):
    out = {}
    h = model.bn0.register_forward_hook(lambda _m, _i, o: out.setdefault("bn0", o.detach()))
    h1 = model.bn1.register_forward_hook(lambda _m, _i, o: out.setdefault("bn1", o.detach()))
    h2 = model.head.register_forward_pre_hook(lambda _m, i: out.setdefault("add", i[0].detach()))
    model(x)
    h.remove(), h1.remove(), h2.remove()
    return out


@settings(max_examples=15, deadline=None)
@given(c=st.integers(2, 8), r=st.floats(0.1, 0.9), seed=st.integers(0, 999), train=st.booleans(),
       tied=st.booleans(), scope=st.sampled_from(["layer", "global"]))
def test_pruned_channels_are_exactly_zero_after_their_batchnorm(c, r, seed, train, tied, scope):
    torch.manual_seed(seed)
    model = Block(c)
    x = torch.randn(16, 1, 6, 6)
    y = torch.randint(0, 3, (16,))
    finetune(model, x, y, epochs=1, lr=1e-2, seed=seed, log=None)   # running stats and betas away from 0
    pruned = prune_filters(model, r, scope=scope, layers=["stem", "c1"], tie=[["stem", "c1"]] if tied else None)
    if tied:
        assert pruned["stem"] == pruned["c1"]
    finetune(model, x, y, epochs=2, lr=1e-2, seed=seed + 1, log=None)
    model.train(train)
    outs = _bn_output(model, x)
    for layer, bn in (("stem", "bn0"), ("c1", "bn1")):
        dead = pruned[layer]
        assert not outs[bn][:, dead].any()
        alive = [i for i in range(c) if i not in dead]
        assert outs[bn][:, alive].any()
    if tied:
        assert not outs["add"][:, pruned["stem"]].any()
    make_permanent(model)
    for layer, bn in (("stem", "bn0"), ("c1", "bn1")):
        norm = getattr(model, bn)
        assert not norm.weight.detach()[pruned[layer]].any() and not norm.bias.detach()[pruned[layer]].any()


def test_tied_layers_lose_the_same_filters_ranked_together():
    torch.manual_seed(0)
    model = Block(8)
    with torch.no_grad():
        model.stem.weight[:] = 1.0
        model.stem.weight[[1, 5]] = 0.01          # weak in the stem only
        model.c1.weight[:] = 0.5
        model.c1.weight[[2]] = 0.0                 # weak in c1 only, but stem filter 2 is strong
        model.c1.weight[[5]] = 0.02
    pruned = prune_filters(model, 0.25, layers=["stem", "c1"], tie=[["stem", "c1"]])
    # means of mean |w|: 1: (0.01+0.5)/2, 5: (0.01+0.02)/2, 2: (1+0)/2, others (1+0.5)/2
    assert pruned == {"stem": [1, 5], "c1": [1, 5]}
    glob = Block(8)
    with torch.no_grad():
        glob.stem.weight.mul_(100)                 # the tie scores high; c1 alone is weak
    pruned = prune_filters(glob, 0.25, scope="global", layers=["stem", "c1", "head"], tie=[["stem", "c1"]])
    # 8 tied channels + 3 head filters = 11 candidates, round(0.25 * 11) = 3: the head keeps one
    assert pruned["stem"] == pruned["c1"] and len(pruned["stem"]) + len(pruned["head"]) == 3
    assert len(pruned["head"]) == 2


def test_bad_ties():
    with pytest.raises(ValueError, match="same number of filters"):
        prune_filters(Block(4), 0.5, layers=["stem", "head"], tie=[["stem", "head"]])
    with pytest.raises(ValueError, match="not among the pruned layers"):
        prune_filters(Block(4), 0.5, layers=["stem"], tie=[["stem", "c1"]])
    with pytest.raises(ValueError, match="tied twice"):
        prune_filters(Block(4), 0.5, layers=["stem", "c1"], tie=[["stem", "c1"], ["c1", "stem"]])


def _compiled_pruning(tmp_path, model, x) -> dict:
    from hwcomp import compile_model

    make_permanent(model)
    model.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (torch.zeros(1, 1, 6, 6),), str(tmp_path / "m.onnx"), input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=13,
                          dynamo=False)
    np.savez(tmp_path / "calib.npz", x=x.numpy())
    compile_model(tmp_path / "m.onnx", tmp_path / "build", calib=tmp_path / "calib.npz")
    return json.loads((tmp_path / "build" / "report.json").read_text())["pruning"]


@pytest.mark.parametrize("silence", [True, False])
def test_compiler_removes_every_pruned_channel_through_the_add(tmp_path, silence):
    """Padded convs read the pruned channels: they go only because they are 0,
    not the constant an unsilenced BatchNorm makes of them."""
    torch.manual_seed(1)
    model = Block(8)
    x = torch.rand(64, 1, 6, 6)
    y = torch.randint(0, 3, (64,))
    finetune(model, x, y, epochs=2, lr=1e-2, log=None)
    pruned = prune_filters(model, 0.5, layers=["stem", "c1"], tie=[["stem", "c1"]])
    if not silence:   # undo the BatchNorm masks: the filters stay zero, the channels become constants
        for bn in (model.bn0, model.bn1):
            parametrize.remove_parametrizations(bn, "weight", leave_parametrized=False)
            parametrize.remove_parametrizations(bn, "bias", leave_parametrized=False)
    finetune(model, x, y, epochs=1, lr=1e-2, seed=2, log=None)
    rec = _compiled_pruning(tmp_path, model, x)
    chans = {layer["name"].split("/")[1]: layer["channels_after"] for layer in rec["layers"]}
    assert len(pruned["stem"]) == 4
    if silence:
        assert chans["stem"] == chans["c1"] == 4
        assert rec["dead_channels_removed"] == 4 + 4   # the same 4 channels on both inputs of the add
    else:
        # only channels whose constants a ReLU happens to clip to 0 go; the others stay
        assert chans["stem"] == chans["c1"] > 4 and rec["dead_channels_removed"] < 4 + 4
