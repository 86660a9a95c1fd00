"""Builds for the report tests: the residual CNN (every block kind but the XNOR
unit), compiled once per session without simulation."""
import json
import shutil

import numpy as np
import pytest

from hwcomp import compile_model
from inline_models import residual_cnn


@pytest.fixture(scope="session")
def rescnn_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rescnn")
    x = np.random.default_rng(2).uniform(0, 1, (16, 1, 8, 8)).astype(np.float32)
    return compile_model(residual_cnn(tmp), tmp / "build", calib=x).out_dir


@pytest.fixture
def build(rescnn_build, tmp_path):
    """A copy of the build each test may change."""
    return shutil.copytree(rescnn_build, tmp_path / "build")


@pytest.fixture
def report(rescnn_build):
    return json.loads((rescnn_build / "report.json").read_text())
