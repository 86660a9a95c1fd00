"""finetune: trains, is deterministic for a seed, reports per epoch."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hwcomp.train import QuantAct, QuantLinear, accuracy, finetune  # noqa: E402


def _data():
    rng = np.random.default_rng(0)
    centers = rng.uniform(0, 1, (3, 8)).astype(np.float32)
    y = rng.integers(0, 3, 96)
    x = np.clip(centers[y] + rng.normal(0, 0.05, (96, 8)), 0, 1).astype(np.float32)
    return x, y


def _model():
    return torch.nn.Sequential(QuantAct.input(), QuantLinear(8, 16, bias=False), torch.nn.BatchNorm1d(16),
                               QuantAct.bipolar(), QuantLinear(16, 3, bias=False), torch.nn.BatchNorm1d(3))


def _run(seed):
    torch.manual_seed(seed)
    m = _model()
    lines = []
    hist = finetune(m, *_data(), epochs=10, lr=1e-2, seed=seed, batch_size=32, eval_data=_data(), log=lines.append)
    return m, hist, lines


def test_finetune_is_deterministic_and_learns():
    m1, h1, lines = _run(0)
    m2, h2, _ = _run(0)
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)
    assert [r["loss"] for r in h1] == [r["loss"] for r in h2]
    assert not m1.training
    assert len(lines) == 10 and lines[0].startswith("epoch   1/10") and "eval acc" in lines[0]
    assert set(h1[0]) == {"epoch", "loss", "train_acc", "eval_acc", "seconds"}
    assert h1[-1]["loss"] < h1[0]["loss"]
    assert accuracy(m1, *_data()) > 0.9


def test_log_every():
    lines = []
    finetune(_model(), *_data(), epochs=5, log=lines.append, log_every=2)
    assert [ln.split()[1] for ln in lines] == ["1/5", "2/5", "4/5", "5/5"]
