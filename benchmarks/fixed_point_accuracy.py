"""Post-training w8a8 fixed point against float on a seeded set of random digits models.

Draws MLPs (1-4 hidden layers, odd widths) and CNNs (1-3 convolutions, 3x3 or
5x5 kernels, optional max or average pooling, ReLU), trains each briefly on
scikit-learn's load_digits, exports it to ONNX (TorchScript exporter) and
compares the float executor's test accuracy with the fixed-point executor on
the hardware graph (the graph the RTL is checked against bit for bit, as
`hwcomp simulate` computes accuracy_fixed). Fixed split: 360 test images, 300
calibration images, the other 1,137 for training.

    python benchmarks/fixed_point_accuracy.py [--models 24] [--name fixed_point_accuracy]
        # prints the tables, writes results/<name>.json; about 3 minutes on 2 cores
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hwcomp.compile import float_pipeline, hardware_pipeline, shape_batch  # noqa: E402
from hwcomp.ir.execute import execute  # noqa: E402
from hwcomp.passes.quantize import QuantConfig  # noqa: E402
from hwcomp.train.finetune import finetune  # noqa: E402

SEED = 2024
ODD_WIDTHS = (9, 15, 21, 27, 33, 41, 53, 67, 85, 101, 127)
ODD_CHANNELS = (3, 5, 7, 9, 11, 13, 17)


@dataclass(frozen=True)
class Arch:
    """One random architecture: an MLP (hidden widths) or a CNN (convolutions, then an optional hidden layer)."""
    name: str
    kind: str                              # "mlp" or "cnn"
    hidden: tuple[int, ...] = ()           # widths of the hidden fully-connected layers
    convs: tuple[tuple[int, int, str], ...] = ()  # per convolution: out channels, kernel, pool after ("", "max", "avg")
    epochs: int = 10

    def describe(self) -> str:
        if self.kind == "mlp":
            return "MLP 64-" + "-".join(map(str, self.hidden)) + "-10"
        parts = [f"c{c}k{k}" + (f"+{p}pool" if p else "") for c, k, p in self.convs]
        return "CNN " + " ".join(parts) + "".join(f" fc{h}" for h in self.hidden) + " fc10"


def architectures(n: int = 24, seed: int = SEED) -> list[Arch]:
    """n architectures, alternating MLP and CNN, each drawn from its own seeded generator."""
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        if i % 2 == 0:
            hidden = tuple(int(rng.choice(ODD_WIDTHS)) for _ in range(int(rng.integers(1, 5))))
            out.append(Arch(f"m{i:02d}", "mlp", hidden, epochs=20))
        else:
            convs, size = [], 8
            for _ in range(int(rng.integers(1, 4))):
                pool = str(rng.choice(["", "", "max", "avg"])) if size >= 4 else ""
                convs.append((int(rng.choice(ODD_CHANNELS)), int(rng.choice([3, 5])), pool))
                size //= 2 if pool else 1
            hidden = (int(rng.choice(ODD_WIDTHS)),) if rng.random() < 0.4 else ()
            out.append(Arch(f"c{i:02d}", "cnn", hidden, tuple(convs), epochs=15))
    return out


def digits_splits() -> dict[str, np.ndarray]:
    """Pixels in [0, 1]; stratified: 360 test, 300 calibration, 1,137 training images."""
    d = load_digits()
    x, y = (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=360, random_state=0, stratify=y)
    x_train, x_cal, y_train, _ = train_test_split(x_rest, y_rest, test_size=300, random_state=0, stratify=y_rest)
    return {"x_train": x_train, "y_train": y_train, "x_calib": x_cal, "x_test": x_test, "y_test": y_test}


def make_model(arch: Arch) -> torch.nn.Module:
    layers: list[torch.nn.Module] = []
    width = 64
    if arch.kind == "cnn":
        ch, size = 1, 8
        for c, k, pool in arch.convs:
            layers += [torch.nn.Conv2d(ch, c, k, padding=k // 2), torch.nn.ReLU()]
            if pool:
                layers.append(torch.nn.MaxPool2d(2) if pool == "max" else torch.nn.AvgPool2d(2))
                size //= 2
            ch = c
        layers.append(torch.nn.Flatten())
        width = ch * size * size
    for h in arch.hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, 10))
    return torch.nn.Sequential(*layers)


def inputs(arch: Arch, x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, 1, 8, 8) if arch.kind == "cnn" else x


def train(arch: Arch, data: dict, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)  # the initial weights
    model = make_model(arch)
    finetune(model, inputs(arch, data["x_train"]), data["y_train"], epochs=arch.epochs, lr=3e-3, seed=seed,
             weight_decay=1e-4, cosine=False, log=None)  # threads=1: same weights on every run
    return model


def export(arch: Arch, model: torch.nn.Module, path: Path) -> Path:
    shape = (1, 1, 8, 8) if arch.kind == "cnn" else (1, 64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter, on purpose
        torch.onnx.export(model, (torch.zeros(shape),), str(path), input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13, dynamo=False)
    return path


def accuracies(onnx_path: Path, arch: Arch, data: dict, configs: dict[str, QuantConfig]) -> dict:
    """Test accuracy of the float executor and, per config, of the executor on the hardware
    graph, with the fraction of test images whose class agrees with float and the
    signal-to-noise ratio of the logits (dB, fixed point against float)."""
    g = float_pipeline(onnx_path)
    calib = shape_batch(g, inputs(arch, data["x_calib"]), "calibration data")
    x = shape_batch(g, inputs(arch, data["x_test"]), "test data")
    y = data["y_test"]
    z_float = execute(g, {g.inputs[0]: x})[g.outputs[0]].astype(np.float64)
    c_float = z_float.argmax(-1)
    out = {"float": float((c_float == y).mean())}
    for label, cfg in configs.items():
        hw = hardware_pipeline(g, calib, cfg, None)
        z = execute(hw, {hw.inputs[0]: x})[hw.outputs[0]].astype(np.float64)
        acc = float((z.argmax(-1) == y).mean())
        out[label] = {"accuracy": acc, "loss_points": round(100 * (out["float"] - acc), 4),
                      "agreement": float((z.argmax(-1) == c_float).mean()),
                      "snr_db": round(float(10 * np.log10(np.square(z_float).mean() / np.square(z - z_float).mean())), 3)}
    return out


# w8a8 (the defaults: a weight format per row, activation formats by squared error) is the
# measure; "per-layer" is the former scheme (one weight format per layer, activation formats
# from the largest value), and each half alone; the narrower widths show the margin left.
def _variants(bits: int) -> dict[str, QuantConfig]:
    return {f"w{bits}a{bits}": QuantConfig(bits, bits),
            f"w{bits}a{bits} per-layer, max": QuantConfig(bits, bits, per_channel=False, act_mse=False),
            f"w{bits}a{bits} per-row, max": QuantConfig(bits, bits, act_mse=False),
            f"w{bits}a{bits} per-layer, mse": QuantConfig(bits, bits, per_channel=False)}


CONFIGS = {**_variants(8), **_variants(6), **_variants(5)}
MAIN, FORMER = "w8a8", "w8a8 per-layer, max"


def measure(arch: Arch, data: dict, work: Path, configs: dict[str, QuantConfig] = CONFIGS) -> dict:
    t0 = time.perf_counter()
    model = train(arch, data)
    path = export(arch, model, work / f"{arch.name}.onnx")
    t1 = time.perf_counter()
    res = accuracies(path, arch, data, configs)
    return {"name": arch.name, "arch": arch.describe(), "spec": asdict(arch), **res,
            "train_s": round(t1 - t0, 2), "quantize_s": round(time.perf_counter() - t1, 2)}


def worst(rows: list[dict], label: str) -> dict:
    return max(rows, key=lambda r: r[label]["loss_points"])


def table(rows: list[dict]) -> str:
    """Per model: float, w8a8 with the former and the current formats; then per config the worst case."""
    lines = ["| model | architecture | float | w8a8 per-layer | w8a8 | loss per-layer | loss | SNR per-layer dB | SNR dB |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        a, b = r[FORMER], r[MAIN]
        lines.append(f"| {r['name']} | {r['arch']} | {r['float']:.4f} | {a['accuracy']:.4f} | {b['accuracy']:.4f} | "
                     f"{a['loss_points']:+.2f} | {b['loss_points']:+.2f} | {a['snr_db']:.1f} | {b['snr_db']:.1f} |")
    lines += ["", "| config | worst loss (points) | worst model | mean loss | lowest agreement | mean SNR dB |",
              "|---|--:|---|--:|--:|--:|"]
    for label in CONFIGS:
        w = worst(rows, label)
        lines.append(f"| {label} | {w[label]['loss_points']:+.2f} | {w['name']} ({w['float']:.4f} -> "
                     f"{w[label]['accuracy']:.4f}) | {np.mean([r[label]['loss_points'] for r in rows]):+.2f} | "
                     f"{min(r[label]['agreement'] for r in rows):.4f} | "
                     f"{np.mean([r[label]['snr_db'] for r in rows]):.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=24)
    ap.add_argument("--name", default="fixed_point_accuracy", help="results/<name>.json")
    a = ap.parse_args()
    data = digits_splits()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hwcomp_fxp_") as work:
        for arch in architectures(a.models):
            rows.append(measure(arch, data, Path(work)))
            r = rows[-1]
            print(f"{r['name']} {r['arch']}: float {r['float']:.4f}, "
                  + ", ".join(f"{k} {r[k]['accuracy']:.4f}" for k in (MAIN, FORMER))
                  + f" ({r['train_s']} s training, {r['quantize_s']} s quantizing {len(CONFIGS)} configs)", flush=True)
    print()
    print(table(rows))
    res_dir = Path(__file__).parent / "results"
    res_dir.mkdir(exist_ok=True)
    summary = {k: worst(rows, k)[k]["loss_points"] for k in CONFIGS}
    (res_dir / f"{a.name}.json").write_text(json.dumps({"models": rows, "worst_loss_points": summary},
                                                       indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
