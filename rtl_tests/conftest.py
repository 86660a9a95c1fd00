"""rtl_tests helpers (cases, sim_builds, axis, stream_tb) import each other as
top-level modules, both here and inside the simulator's Python."""
import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
