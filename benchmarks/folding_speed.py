"""How long the folder takes: the default (balanced) folding of lowered graphs,
from a 10-layer CNN to ResNet-50 (onnx's light model, random weights).

    python benchmarks/folding_speed.py    # prints a table, writes results/folding_speed.json
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "frontend"))

from test_onnx_light_models import randomize_weights  # noqa: E402

from hwcomp.compile import float_pipeline, integer_graph  # noqa: E402
from hwcomp.hw.folder import balanced_folding  # noqa: E402
from hwcomp.passes.base import run_to_fixed_point  # noqa: E402
from hwcomp.passes.lower import lower_to_hardware  # noqa: E402
from hwcomp.passes.quantize import QuantConfig  # noqa: E402

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


def cnn10(path: Path) -> Path:
    """Ten 3x3 conv layers of 32..128 channels on 32x32 images, two max pools, a classifier."""
    rng = np.random.default_rng(0)
    chans = [3, 32, 32, 64, 64, 64, 128, 128, 128, 128]
    nodes, inits, prev = [], [], "x"
    for i, (a, b) in enumerate(zip(chans, chans[1:])):
        w = rng.normal(0, (2 / (9 * a)) ** 0.5, (b, a, 3, 3)).astype(np.float32)
        inits.append(helper.make_tensor(f"w{i}", TensorProto.FLOAT, w.shape, w.ravel()))
        nodes += [helper.make_node("Conv", [prev, f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
        prev = f"r{i}"
        if i in (1, 4):
            nodes.append(helper.make_node("MaxPool", [prev], [f"p{i}"], kernel_shape=[2, 2], strides=[2, 2]))
            prev = f"p{i}"
    wf = rng.normal(0, 0.01, (10, 128 * 8 * 8)).astype(np.float32)
    inits.append(helper.make_tensor("wf", TensorProto.FLOAT, wf.shape, wf.ravel()))
    nodes += [helper.make_node("Flatten", [prev], ["f"]), helper.make_node("Gemm", ["f", "wf"], ["y"], transB=1)]
    g = helper.make_graph(nodes, "cnn10", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10), path)
    return path


def light(name: str, work: Path) -> Path:
    path = work / f"{name}.onnx"
    onnx.save(randomize_weights(onnx.load(str(LIGHT / f"light_{name}.onnx")), seed=0), str(path))
    return path


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="hwcomp_fold_"))
    results = {}
    for name, path in (("cnn10", cnn10(work / "cnn10.onnx")), ("squeezenet", light("squeezenet", work)),
                       ("resnet50", light("resnet50", work))):
        g = float_pipeline(path)
        x = np.random.default_rng(0).standard_normal((2,) + g.tensors[g.inputs[0]].shape[1:]).astype(np.float32)
        hw = run_to_fixed_point(integer_graph(g, x, QuantConfig.parse("w8a8")), [lower_to_hardware])
        units = sum(1 for n in hw.nodes() if "weight" in n.params)
        t = time.perf_counter()
        f = balanced_folding(hw)
        results[name] = {"units": units, "fold_s": round(time.perf_counter() - t, 2), "ii": f.ii,
                         "ideal_ii": f.ideal_ii}
        print(name, results[name], flush=True)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "folding_speed.json").write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
