"""Models for end-to-end tests, trained once per session (torch, a few seconds each)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "digits_mlp"))


@pytest.fixture(scope="session")
def digits_mlp(tmp_path_factory):
    from train_mlp import build

    return build(tmp_path_factory.mktemp("digits_mlp"), [64, 32, 10], epochs=30)


@pytest.fixture(scope="session")
def digits_odd_mlp(tmp_path_factory):
    from train_mlp import build

    return build(tmp_path_factory.mktemp("digits_odd"), [64, 37, 23, 10], epochs=30)
