"""report.json for a compile: per-layer shapes, types, folding, cycles and
weight storage, then totals. Plain data; the CLI formats it."""
from __future__ import annotations

from hwcomp.hw.chain import mvu_chain
from hwcomp.hw.dag import hardware_region
from hwcomp.hw.design import BlockStage, MVULayer, StreamDesign
from hwcomp.hw.netlist import NetlistDesign
from hwcomp.hw.stream_design import unit_input
from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.mvu import MatrixVectorUnit


def layer_entry(hw_graph: Graph, node: Node, layer: MVULayer) -> dict:
    a = node.attrs
    u = unit_input(hw_graph, node)
    macs = u.pixels * layer.rows * u.positions * u.channels
    return {
        "name": node.name,
        "module": layer.name,
        "op": node.op.name,
        "rows": layer.rows,
        "cols": u.positions * u.channels,
        "positions": u.positions,
        "pixels": u.pixels,
        "input": str(hw_graph.tensors[node.inputs[0]]),
        "output": str(hw_graph.tensors[node.outputs[0]]),
        "weight_dtype": str(a["weight_dtype"]),
        "acc_dtype": str(a["acc_dtype"]),
        "relu": a["relu"],
        "requant_shift": a["shift"] if a["requant"] else None,
        "pe": layer.pe,
        "simd": layer.simd,
        "nf": layer.nf,
        "sf": layer.sf,
        "macs": macs,
        "cycles": u.pixels * layer.cycles,
        "ideal_cycles": round(macs / (layer.pe * layer.simd), 3),
        "weight_bits": layer.rows * u.positions * u.channels * layer.weight_width,
        "float_weight_bits": layer.rows * u.positions * u.channels * 32,
    }


def _assemble(model: str, top: str, options: dict, layers: list[dict], blocks: list[dict], ii: int,
              stream: dict) -> dict:
    ideal = max(l["ideal_cycles"] for l in layers)
    wbits = sum(l["weight_bits"] for l in layers)
    return {
        "model": model,
        "top": top,
        "options": options,
        "layers": layers,
        "blocks": blocks,
        "totals": {
            "layers": len(layers),
            "macs": sum(l["macs"] for l in layers),
            "lanes": sum(l["pe"] * l["simd"] for l in layers),
            "weight_bits": wbits,
            "compression_vs_float32": round(sum(l["float_weight_bits"] for l in layers) / wbits, 3),
            "expected_ii_cycles": ii,
            "ideal_ii_cycles": ideal,
            "expected_pe_utilization": round(ideal / ii, 4),
        },
        "stream": stream,
    }


def compile_report(hw_graph: Graph, design: StreamDesign, model: str, options: dict) -> dict:
    layers = [layer_entry(hw_graph, n, l) for n, l in zip(mvu_chain(hw_graph), design.layers)]
    blocks = [{"name": s.name, "kind": type(s.unit).__name__, "summary": s.summary, "cycles": s.cycles}
              for s in design.stages if isinstance(s, BlockStage)]
    ii = max([l["cycles"] for l in layers] + [b["cycles"] for b in blocks])
    stream = {
        "s_axis_tdata_bits": design.s_tdata_width, "in_lanes": design.in_lanes,
        "in_element": f"{'s' if design.in_signed else 'u'}{design.in_width}", "in_beats": design.in_beats,
        "in_pixels": design.in_pixels, "out_pixels": design.out_pixels,
        "m_axis_tdata_bits": design.m_tdata_width, "out_lanes": design.out_lanes,
        "out_element": f"{'s' if design.out_signed else 'u'}{design.out_width}", "out_beats": design.out_beats,
    }
    return _assemble(model, design.name, options, layers, blocks, ii, stream)


def netlist_report(hw_graph: Graph, design: NetlistDesign, model: str, options: dict) -> dict:
    """The same report for a design with branches; block cycles come from the folding's bound."""
    units = [n for n in hardware_region(hw_graph) if n.op is MatrixVectorUnit]
    mvus = [s.unit for s in design.stages if isinstance(s.unit, MVULayer)]
    layers = [layer_entry(hw_graph, n, l) for n, l in zip(units, mvus)]
    blocks = [{"name": s.name, "kind": type(s.unit).__name__, "summary": s.summary}
              for s in design.stages if not isinstance(s.unit, MVULayer)]
    i, o = design.stream(design.input), design.stream(design.output)
    stream = {
        "s_axis_tdata_bits": design.s_tdata_width, "in_lanes": i.lanes,
        "in_element": f"{'s' if i.signed else 'u'}{i.width}", "in_beats": design.in_beats,
        "in_pixels": design.in_pixels, "out_pixels": design.out_pixels,
        "m_axis_tdata_bits": design.m_tdata_width, "out_lanes": o.lanes,
        "out_element": f"{'s' if o.signed else 'u'}{o.width}", "out_beats": design.out_beats,
    }
    ii = max(l["cycles"] for l in layers)
    return _assemble(model, design.name, options, layers, blocks, ii, stream)


def format_compile_report(rep: dict) -> str:
    head = ("layer", "rows x cols", "weights", "out", "PE", "SIMD", "cycles", "ideal")
    rows = [head] + [
        (l["name"], f"{l['rows']}x{l['cols']}", l["weight_dtype"], l["output"].split("[")[0], str(l["pe"]),
         str(l["simd"]), str(l["cycles"]), f"{l['ideal_cycles']:g}")
        for l in rep["layers"]
    ]
    w = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in rows]
    t = rep["totals"]
    lines.append(f"II {t['expected_ii_cycles']} cycles (ideal {t['ideal_ii_cycles']:g}, "
                 f"utilization {t['expected_pe_utilization']:.3f}), {t['macs']:,} MACs on {t['lanes']} lanes, "
                 f"weights {t['weight_bits']:,} bits ({t['compression_vs_float32']:g}x smaller than float32)")
    return "\n".join(lines)
