"""Post-training w8a8 keeps fixed-point accuracy within 1 point of float on the
seeded random digits models of benchmarks/fixed_point_accuracy.py: a few of
them here (about 10 s), all 24 under `make test-slow` (about a minute)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import fixed_point_accuracy as fpa  # noqa: E402

from hwcomp.passes.quantize import QuantConfig  # noqa: E402

W8A8 = {"w8a8": QuantConfig(8, 8)}
ARCHS = fpa.architectures()
FAST = [ARCHS[i] for i in (0, 1, 3, 8)]   # MLP 64-67-10, a 3-conv CNN, conv+avgpool, MLP 64-9-33-10


@pytest.fixture(scope="module")
def data():
    return fpa.digits_splits()


def check(arch, data, tmp_path) -> None:
    r = fpa.measure(arch, data, tmp_path, W8A8)["w8a8"]
    assert r["loss_points"] <= 1.0, f"{arch.describe()}: {r}"


@pytest.mark.parametrize("arch", FAST, ids=lambda a: a.name)
def test_w8a8_within_one_point(arch, data, tmp_path) -> None:
    check(arch, data, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("arch", [a for a in ARCHS if a not in FAST], ids=lambda a: a.name)
def test_w8a8_within_one_point_all(arch, data, tmp_path) -> None:
    check(arch, data, tmp_path)
