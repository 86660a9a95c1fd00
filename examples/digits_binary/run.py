"""Binary and low-bit demo: quantization-aware training with hwcomp.train of a
W1A1 MLP (64-256-256-10, 8-bit input) and a W2A2 CNN on digits, QONNX export,
compile (XNOR-popcount and threshold units, no multipliers in the binary
layers), simulate the whole test split in Verilator and print the results.

    python examples/digits_binary/run.py [--model mlp|cnn|both] [--stall 0.0]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from demo_common import run_demo  # noqa: E402
from train_binary import build_cnn, build_mlp  # noqa: E402

MODELS = {"mlp": (build_mlp, "a W1A1 MLP 64-256-256-10"), "cnn": (build_cnn, "a W2A2 CNN")}

if __name__ == "__main__":
    which = "both"
    if "--model" in sys.argv:
        i = sys.argv.index("--model")
        which = sys.argv[i + 1]
        del sys.argv[i:i + 2]
    keys = ("mlp", "cnn") if which == "both" else (which,)
    out = Path(__file__).parent / "out"
    codes = [run_demo(MODELS[k][0], MODELS[k][1], out / k, __doc__.splitlines()[0]) for k in keys]
    sys.exit(max(codes))
