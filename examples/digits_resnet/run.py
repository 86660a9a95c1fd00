"""ResNet demo: train a small ResNet (two residual blocks with BatchNorm) on
digits, export ONNX, compile to Verilog (forks, residual adds, sliding windows,
matrix-vector units), simulate the whole test split in Verilator and print
float / fixed / RTL results.

    python examples/digits_resnet/run.py [--bits w8a8] [--stall 0.0]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from demo_common import run_demo  # noqa: E402
from train_resnet import build  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_demo(build, "a small ResNet", Path(__file__).parent / "out", __doc__.splitlines()[0]))
