"""The hwcomp command line: a thin layer over the Python API."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import warnings
from pathlib import Path

from hwcomp.devices import DEFAULT_DEVICE
from hwcomp.errors import HwcompError
from hwcomp.sim.build_cache import SIMULATORS


def _shape(text: str):
    """'1,64' or 'input:1,3,8,8' (repeatable by separating with ';')."""
    shapes = {}
    for part in text.split(";"):
        name, _, dims = part.rpartition(":")
        try:
            shapes[name or None] = tuple(int(d) for d in dims.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad shape {part!r}: expected e.g. 1,3,32,32 or input:1,3,32,32")
    return shapes.get(None) if list(shapes) == [None] else shapes


def _fold(text: str):
    """'2x32,5x2' -> [(PE, SIMD), ...] for the layers in order; 'fc1=2x32,fc2=5x2' -> {layer: (PE, SIMD)}
    by layer name (the `name` of each entry in report.json's `layers`)."""
    items = [i.strip() for i in text.split(",") if i.strip()]
    named = ["=" in i for i in items]
    try:
        if not items or (any(named) and not all(named)):
            raise ValueError
        pairs = [i.rpartition("=") for i in items]
        values = [tuple(int(v) for v in val.lower().split("x")) for _, _, val in pairs]
        if any(len(v) != 2 for v in values):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad --fold {text!r}: expected PExSIMD per layer in order (2x32,5x2) or "
                                         "by layer name (fc1=2x32,fc2=5x2)") from None
    if all(named):
        return {name: v for (name, _, _), v in zip(pairs, values)}
    return values


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def _real(ok, expected: str):
    """An argparse type: a float for which ok() holds (never for text that is not a number)."""
    def parse(text: str) -> float:
        try:
            f = float(text)
        except ValueError:
            f = float("nan")   # fails every bound below
        if not ok(f):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return f
    return parse


_fraction = _real(lambda f: 0 < f <= 1, "a share above 0 and at most 1 (0.8 = 80%)")
_positive = _real(lambda f: 0 < f < float("inf"), "a number above 0")
_mhz = _real(lambda f: 0 < f < float("inf"), "a clock rate in MHz above 0")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hwcomp", description="Compile neural networks to bit-exact FPGA streaming designs.")
    sub = p.add_subparsers(dest="cmd", required=True)

    i = sub.add_parser("inspect", help="list every node with shapes, dtypes, parameters and MACs")
    i.add_argument("model", type=Path)
    i.add_argument("--input-shape", type=_shape, help="fix dynamic input dimensions, e.g. 1,3,32,32")
    i.add_argument("--canonical", action="store_true", help="show the graph after canonicalization")
    i.add_argument("--max-tensor-elems", type=_count, metavar="N", help="refuse any tensor of more than N elements "
                   "(default 2^28)")

    c = sub.add_parser("compile", help="compile an ONNX model to Verilog")
    c.add_argument("model", type=Path)
    c.add_argument("-o", "--output", type=Path, required=True, help="build directory (new, empty, or an earlier build)")
    c.add_argument("--target", choices=["fpga"], default="fpga")
    c.add_argument("--bits", default="w8a8",
                   help="weight and activation bits w<W>a<A> of a float model. W and A both 1..4 (w1a1, w1a2, "
                        "w2a2, w4a4, ...): low-bit post-training quantization: 1-bit weights are XNOR-Net "
                        "sign * per-channel mean|W|, 1-bit activations a sign (XNOR-popcount units), 2..4 bits "
                        "uniform grids (threshold units); the first and last layers keep 8-bit weights and the "
                        "input 8 bits. Otherwise W and A both 2..16 (w8a8 default, w4a8, ...): power-of-two "
                        "fixed point. A model with its own quantizers ignores --bits")
    c.add_argument("--calib", type=Path, help=".npz with array x of calibration inputs")
    c.add_argument("--ii", type=int, help="target initiation interval in cycles (default: 64 lanes on the largest layer)")
    c.add_argument("--fold", type=_fold, help="PExSIMD per layer in order (2x32,5x2) or by name (fc1=2x32,fc2=5x2); "
                   "any values, width converters join layers whose lanes differ")
    c.add_argument("--input-shape", type=_shape, help="fix dynamic input dimensions, e.g. 1,64")
    c.add_argument("--sparse", choices=("auto", "on", "off"), default="off",
                   help="build layers as sparse units that store and compute only non-zero weights: auto (per "
                        "layer, when no slower and smaller), on (every plain layer) or off (the default, until the sparse "
                        "unit has a resource model)")
    c.add_argument("--device", metavar="NAME",
                   help="fold for the highest throughput whose resource estimate fits this device (`hwcomp devices` "
                        f"lists them); with --ii or --fold only the estimate is against it (default {DEFAULT_DEVICE})")
    c.add_argument("--max-util", type=_fraction, metavar="U",
                   help="share of each of the device's resources the design may take (default 0.8)")
    c.add_argument("--target-fps", type=_positive, metavar="F",
                   help="fold for the fewest lanes reaching F images per second at --clock")
    c.add_argument("--clock", type=float, default=100.0, metavar="MHZ",   # range checked by compile_model
                   help="clock target in MHz: the units are pipelined for it, and --target-fps counts in it "
                        "(default 100)")
    c.add_argument("--prune-structured", type=float, metavar="RATIO",   # range checked by compile_model
                   help="remove this share (0 <= RATIO < 1) of the channels and neurons with the smallest L1 "
                        "norm before quantization (dead channels are always removed)")
    c.add_argument("--prune-scope", choices=["layer", "global"], default="layer",
                   help="--prune-structured per layer (default) or ranked across all layers")
    c.add_argument("--share-weights", type=int, metavar="K",   # range checked by compile_model
                   help="weight sharing: at most 2^K non-zero values per layer (k-means, linear initialization, "
                        "one weight format per layer; a layer already within 2^K is kept as is), K = 1..8")
    c.add_argument("--max-tensor-elems", type=_count, metavar="N",
                   help="refuse, before allocating it, any tensor (weight, folded constant, intermediate) of "
                        "more than N elements (default 2^28)")

    s = sub.add_parser("simulate", help="simulate a build in Verilator or Icarus and check it against the IR")
    s.add_argument("build", type=Path)
    s.add_argument("--data", type=Path, required=True, help=".npz with x (samples) and optional y (labels)")
    s.add_argument("--stall", type=float, default=0.0, help="probability of random tvalid/tready stalls (0..1)")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--limit", type=int, help="simulate only the first N samples")
    s.add_argument("--simulator", choices=SIMULATORS, default=SIMULATORS[0],
                   help="RTL simulator (icarus: slower, a second opinion on the same testbench)")
    sub.add_parser("selftest", help="check the simulation toolchain (and warm its build cache)")
    e = sub.add_parser("estimate", help="synthesize a build with Yosys for a device (and place and route it with "
                       "nextpnr): real LUT, FF, DSP, BRAM and clock rate in build/resources.json")
    e.add_argument("build", type=Path)
    e.add_argument("--device", help="device to synthesize for (`hwcomp devices`; default: the compile's, else xc7z020)")
    e.add_argument("--pnr", action="store_true", help="also place and route with nextpnr (ECP5 and iCE40 only) and "
                   "record Fmax, utilization and the critical path")
    e.add_argument("--clock", type=_mhz, default=100.0, metavar="MHZ", help="target clock for --pnr (default 100)")
    d = sub.add_parser("devices", help="list the FPGA devices hwcomp knows (resources from the data sheets)")
    d.add_argument("--json", action="store_true", help="print them as JSON")
    return p


def _say(msg: str) -> None:
    print(f"[hwcomp] {msg}", file=sys.stderr, flush=True)


def _limits(args) -> dict:
    """--max-tensor-elems when given (the API's default is DEFAULT_MAX_TENSOR_ELEMS, 2^28)."""
    return {} if args.max_tensor_elems is None else {"max_tensor_elems": args.max_tensor_elems}


def _inspect(args) -> int:
    from hwcomp.frontend.onnx import load_onnx
    from hwcomp.ir.printer import format_graph
    from hwcomp.passes.canonicalize import canonicalize

    g = load_onnx(args.model, args.input_shape, **_limits(args))
    print(format_graph(canonicalize(g) if args.canonical else g))
    return 0


def _compile(args) -> int:
    from hwcomp.compile import compile_model
    from hwcomp.report.compile_report import format_compile_report, format_resources

    res = compile_model(args.model, args.output, calib=args.calib, bits=args.bits, target_ii=args.ii,
                        pe_simd=args.fold, input_shape=args.input_shape, progress=_say, device=args.device,
                        max_util=args.max_util, target_fps=args.target_fps, clock_mhz=args.clock,
                        prune_structured=args.prune_structured, prune_scope=args.prune_scope,
                        share_weights=args.share_weights, sparse=args.sparse, **_limits(args))
    print(format_compile_report(res.report))
    print(format_resources(res.report))
    print(f"wrote {res.out_dir} (open {res.out_dir / 'report.html'} in a browser)")
    return 0


def _simulate(args) -> int:
    from hwcomp.report.sim_report import format_sim_table
    from hwcomp.simulate import simulate_build

    if not 0.0 <= args.stall < 1.0:
        raise HwcompError("--stall must be in [0, 1)")
    r = simulate_build(args.build, args.data, stall_prob=args.stall, seed=args.seed, limit=args.limit,
                       progress=_say, simulator=args.simulator)
    report = json.loads((args.build / "report.json").read_text())
    print(format_sim_table(r, report))
    print(f"wrote {args.build / 'sim.json'} and {args.build / 'report.html'}")
    return 0 if r["bit_exact"] else 1


def _selftest(args) -> int:
    from hwcomp.sim.selftest import run_selftest

    r = run_selftest()
    print(f"verilator   {r.verilator}")
    print(f"build cache {r.cache}")
    print(f"simulation  {r.vectors} vectors under random stalls, {r.mismatches} mismatches "
          f"({'built' if r.built else 'cached build'}, {r.build_seconds:.1f} s)")
    print("ok" if r.mismatches == 0 else "FAILED: the simulated design disagrees with its golden model")
    return 0 if r.mismatches == 0 else 1


def _estimate(args) -> int:
    from hwcomp.synth.estimate import RESOURCES_FILE, estimate_build, format_estimate
    from hwcomp.synth.progress import rich_steps

    with rich_steps() as step:
        r = estimate_build(args.build, device=args.device, pnr=args.pnr, clock_mhz=args.clock, progress=step)
    print(format_estimate(r))
    print(f"wrote {args.build / RESOURCES_FILE}")
    return 0


def _terminated(signum, frame):
    raise KeyboardInterrupt  # unwinds like Ctrl-C, so staged build directories are removed


def _devices(args) -> int:
    from hwcomp.devices import DEVICES, format_devices

    print(json.dumps([d.as_dict() for d in DEVICES.values()], indent=1) if args.json else format_devices())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Exit status: 0 done, 1 a simulation that is not bit-exact, 2 a user error
    (HwcompError, one line), 130 interrupted (Ctrl-C or SIGTERM)."""
    args = _parser().parse_args(argv)
    warnings.simplefilter("default")
    warnings.showwarning = lambda msg, *a, **k: print(f"hwcomp: warning: {msg}", file=sys.stderr)
    main_thread = threading.current_thread() is threading.main_thread()  # signal handlers live there only
    previous = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
    try:
        commands = {"inspect": _inspect, "compile": _compile, "simulate": _simulate, "selftest": _selftest,
                    "devices": _devices, "estimate": _estimate}
        return commands[args.cmd](args)
    except HwcompError as e:
        print(f"hwcomp: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hwcomp: interrupted", file=sys.stderr)
        return 130
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
