"""CNN demo: train a LeNet-style CNN on digits, export ONNX, compile to Verilog
(sliding windows, matrix-vector units, max pooling), simulate the whole test
split in Verilator and print float / fixed / RTL results.

    python examples/digits_cnn/run.py [--bits w8a8] [--stall 0.0]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from demo_common import run_demo  # noqa: E402
from train_cnn import build  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_demo(build, "a LeNet-style CNN", Path(__file__).parent / "out", __doc__.splitlines()[0]))
