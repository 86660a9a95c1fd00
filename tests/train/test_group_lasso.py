"""Group lasso (SSL): group definitions against explicit loops, the penalty's
value, whole groups driven to zero on a small problem (and not at lambda 0),
zero_small_groups masking and group_sparsity reporting."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from hwcomp.train import (accuracy, finetune, group_lasso_penalty, group_norms, group_sparsity,  # noqa: E402
                          make_permanent, zero_small_groups)

nn = torch.nn


@settings(max_examples=20, deadline=None)
@given(o=st.integers(1, 4), c=st.integers(1, 3), kh=st.integers(1, 3), kw=st.integers(1, 2), seed=st.integers(0, 99))
def test_conv_groups_match_loops(o, c, kh, kw, seed):
    torch.manual_seed(seed)
    conv = nn.Conv2d(c, o, (kh, kw))
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    filters = [np.sqrt((w[i] ** 2).sum() + b[i] ** 2) for i in range(o)]
    channels = [np.sqrt((w[:, j] ** 2).sum()) for j in range(c)]
    shapes = [np.sqrt((w[:, j, p, q] ** 2).sum()) for j in range(c) for p in range(kh) for q in range(kw)]
    np.testing.assert_allclose(group_norms(conv, "filters").detach(), filters, rtol=1e-5)
    np.testing.assert_allclose(group_norms(conv, "filters", include_bias=False).detach(),
                               [np.sqrt((w[i] ** 2).sum()) for i in range(o)], rtol=1e-5)
    np.testing.assert_allclose(group_norms(conv, "channels").detach(), channels, rtol=1e-5)
    np.testing.assert_allclose(group_norms(conv, "shapes").detach(), shapes, rtol=1e-5)
    model = nn.Sequential(conv)
    want = 0.5 * sum(filters) + 0.25 * sum(channels) + 2.0 * sum(shapes)
    got = group_lasso_penalty(model, filters=0.5, channels=0.25, shapes=2.0)
    assert float(got.detach()) == pytest.approx(want, rel=1e-5)


def test_linear_groups_are_rows_and_columns():
    lin = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 0.0, 4.0], [0.0, 0.0, 0.0]]))
    assert group_norms(lin, "filters").tolist() == [5.0, 0.0]
    assert group_norms(lin, "channels").tolist() == [3.0, 0.0, 4.0]
    assert group_norms(lin, "shapes").tolist() == [3.0, 0.0, 4.0]
    assert float(group_lasso_penalty(nn.Sequential(lin))) == 0.0


def _informative_data(n=200, seed=0):
    """Three classes from the first 3 of 10 inputs; inputs 3..9 are noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.uniform(0, 1, (n, 10)).astype(np.float32)
    x[np.arange(n), y] += 1.0
    return x, y


def _train(filters=0.0, channels=0.0):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 12), nn.ReLU(), nn.Linear(12, 3))
    x, y = _informative_data()
    finetune(model, x, y, epochs=60, lr=1e-2, batch_size=50, log=None,
             penalty=lambda: group_lasso_penalty(model, filters=filters, channels=channels, layers=["0"]))
    return model, x, y


def test_channel_lasso_zeroes_the_noise_inputs():
    model, x, y = _train(channels=0.02)
    cols = group_norms(model[0], "channels").detach()
    assert float(cols[3:].max()) < 0.01 and float(cols[:3].min()) > 0.5
    assert zero_small_groups(model, 0.01, kinds=("channels",))["0"] == {"channels": 7}
    assert accuracy(model, x, y) > 0.95
    assert group_sparsity(model)["0"]["channels"] == pytest.approx(0.7)
    finetune(model, x, y, epochs=3, lr=1e-2, log=None)  # the masks keep the groups zero
    make_permanent(model)
    assert not model[0].weight.detach()[:, 3:].any() and model[0].weight.detach()[:, :3].all()


def test_filter_lasso_kills_spare_neurons_with_their_bias():
    model, x, y = _train(filters=0.05)
    norms = group_norms(model[0], "filters").detach()
    small = norms < 0.01
    assert int(small.sum()) >= 3 and float(norms[~small].min()) > 0.2  # a clear gap, not a slope
    counts = zero_small_groups(model, 0.01, kinds=("filters",), layers=["0"])
    assert counts == {"0": {"filters": int(small.sum())}}
    assert accuracy(model, x, y) > 0.95
    report = group_sparsity(model, layers=["0"])["0"]
    assert report["filters"] == int(small.sum()) / 12
    assert report["density"] == pytest.approx(1 - int(small.sum()) / 12)
    finetune(model, x, y, epochs=3, lr=1e-2, log=None)
    make_permanent(model)
    w, b = model[0].weight.detach(), model[0].bias.detach()
    assert not w[small].any() and not b[small].any() and w[~small].any(1).all()


def test_shape_lasso_zeroes_unused_kernel_positions():
    x, y = _informative_data(n=200)
    img = np.zeros((200, 2, 3, 3), np.float32)
    img[:, 0, 0, 0], img[:, 1, 1, 1], img[:, 0, 2, 1] = x[:, 0], x[:, 1], x[:, 2]  # the informative pixels
    rng = np.random.default_rng(1)
    noise = rng.uniform(0, 1, img.shape).astype(np.float32)
    used = np.zeros((2, 3, 3), bool)
    used[0, 0, 0] = used[1, 1, 1] = used[0, 2, 1] = True
    img = np.where(used, img, noise)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6, 3))
    finetune(model, img, y, epochs=60, lr=1e-2, batch_size=50, log=None,
             penalty=lambda: group_lasso_penalty(model, shapes=0.05, layers=["0"]))
    norms = group_norms(model[0], "shapes").detach().reshape(2, 3, 3)
    assert float(norms[~torch.from_numpy(used)].max()) < 0.01 < 0.5 < float(norms[torch.from_numpy(used)].min())
    assert zero_small_groups(model, 0.01, kinds=("shapes",))["0"] == {"shapes": 15}
    assert accuracy(model, img, y) > 0.95
    w = model[0].weight.detach()
    assert not w[:, ~torch.from_numpy(used)].any()


def test_without_lambda_no_group_goes_to_zero():
    model, _, _ = _train()
    for kind in ("channels", "filters"):
        assert float(group_norms(model[0], kind).detach().min()) > 0.2
    assert zero_small_groups(model, 0.01, layers=["0"]) == {"0": {"filters": 0, "channels": 0, "shapes": 0}}
    assert group_sparsity(model, 0.01)["0"] == {"filters": 0.0, "channels": 0.0, "shapes": 0.0, "density": 1.0}


def test_bad_arguments():
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="group kind"):
        group_norms(model[0], "rows")
    with pytest.raises(ValueError, match=">= 0"):
        group_lasso_penalty(model, filters=-1.0)
    with pytest.raises(ValueError, match="tolerance"):
        zero_small_groups(model, -1.0)
