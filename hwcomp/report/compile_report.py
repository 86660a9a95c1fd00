"""report.json for a compile: per-layer shapes, types, folding, cycles and
weight storage, every other block with its cycles, then totals. Plain data
from the design's stages (their blocks' cycle models); the CLI formats it.
Every bit count comes from the storage section (report/storage.py): a layer's
`weight_bits` is its weight memory as stored (weights, or indices and codebook;
a sparse unit's entry values, indices and crossbar map)."""
from __future__ import annotations

from hwcomp.devices import DEFAULT_DEVICE, Device, device as find_device
from hwcomp.hw.blocks import block_of_unit
from hwcomp.hw.blocks.mvu import unit_input
from hwcomp.hw.design import Design, MVULayer
from hwcomp.hw.sparse import SparseLayer
from hwcomp.ir.graph import Graph, Node
from hwcomp.report.pipeline import pipeline_section
from hwcomp.report.pruning import format_pruning
from hwcomp.report.storage import format_storage, storage_section


RESOURCES = ("lut", "ff", "dsp", "bram18")


def resources_section(design: Design, dev: Device) -> dict:
    """report.json's `resources`: the analytic estimate per stage and in total on `dev`,
    with the fractions of the device it takes. A total is None when a block has no model."""
    per_block = {s.name: block_of_unit(s.unit).resources(s.unit, dev) for s in design.stages}
    totals = {}
    for k in RESOURCES:
        values = [getattr(r, k) for r in per_block.values()]
        totals[k] = None if any(v is None for v in values) else sum(values)
    if totals["bram18"] is not None:
        totals["bram18"] = round(totals["bram18"], 3)
    models = sorted({r.model for r in per_block.values() if r.model})
    return {
        **totals,
        "device": dev.name,
        "model": "; ".join(models) or None,
        "utilization": {k: None if totals[k] is None or not dev.capacity[k] else round(totals[k] / dev.capacity[k], 4)
                        for k in RESOURCES},
        "capacity": dev.capacity,
        "per_block": {name: r.as_dict() for name, r in per_block.items()},
    }


# The roles of a layer's weight memory (the rest is overhead: bias, thresholds, ...); a sparse
# unit's crossbar map (its pointers) is part of its weight memory too.
WEIGHT_ROLES = ("weights", "indices", "codebook")
SPARSE_WEIGHT_ROLES = WEIGHT_ROLES + ("pointers",)


def layer_entry(hw_graph: Graph, node: Node, unit, stage, resources: dict, storage: dict) -> dict:
    """A unit's entry; a sparse unit's (hw/sparse.py) counts the multiplies by its non-zero
    weights and stores entry values, indices and its crossbar map as its weight bits."""
    a = node.attrs
    u = unit_input(hw_graph, node)
    sparse = isinstance(unit, SparseLayer)
    layer = unit.dense if sparse else unit
    macs = u.pixels * layer.rows * u.positions * u.channels
    entry = _layer_fields(hw_graph, node, layer, stage, resources, u, a, macs, storage)
    if sparse:
        nnz_macs = u.pixels * int((unit.values != 0).sum())
        bits = storage["bits"]
        entry.update(macs=nnz_macs, ideal_cycles=round(nnz_macs / layer.pe, 3),
                     weight_bits=sum(bits[r] for r in SPARSE_WEIGHT_ROLES),
                     sparse={"nonzeros": unit.nnz, "density": round(unit.nnz / max(1, layer.rows * layer.cols), 4),
                             "entries": unit.entries, "idx_width": unit.idx_width,
                             "value_bits": bits["weights"], "index_bits": bits["indices"],
                             "pointer_bits": bits["pointers"]})
    return entry


def _layer_fields(hw_graph: Graph, node: Node, layer: MVULayer, stage, resources: dict, u, a, macs: int,
                  storage: dict) -> dict:
    return {
        "name": node.name,
        "module": stage.name,
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
        # One shift, or one per row (weights with a format per row).
        "requant_shift": (layer.row_shifts[:layer.rows].tolist() if layer.row_shifts is not None else a["shift"])
        if a["requant"] else None,
        "pe": layer.pe,
        "simd": layer.simd,
        "nf": layer.nf,
        "sf": layer.sf,
        "macs": macs,
        "cycles": stage.cycles,
        "ideal_cycles": round(macs / (layer.pe * layer.simd), 3),
        "weight_bits": sum(storage["bits"][r] for r in WEIGHT_ROLES),
        "float_weight_bits": 32 * storage["weights"],
        "resources": resources,
    }


def compile_report(hw_graph: Graph, design: Design, model: str, options: dict, float_params: int,
                   device: str | Device = DEFAULT_DEVICE, original: Graph | None = None) -> dict:
    """`float_params`: the original model's floating-point parameters (storage.float32_bits);
    `original`: its float graph, whose layers the densities are measured against."""
    dev = device if isinstance(device, Device) else find_device(device)
    res = resources_section(design, dev)
    storage = storage_section(hw_graph, design, float_params, original)
    by_module = {e["module"]: e for e in storage["per_layer"]}
    nodes = {n.name: n for n in hw_graph.nodes()}
    layers = [layer_entry(hw_graph, nodes[s.node], s.unit, s, res["per_block"][s.name], by_module[s.name])
              for s in design.stages if isinstance(s.unit, (MVULayer, SparseLayer))]
    blocks = [{"name": s.name, "kind": block_of_unit(s.unit).__name__, "node": s.node, "summary": s.summary,
               "cycles": s.cycles, "resources": res["per_block"][s.name]}
              for s in design.stages if not isinstance(s.unit, (MVULayer, SparseLayer))]
    ii = design.expected_ii
    ideal = max(l["ideal_cycles"] for l in layers)
    wbits = sum(l["weight_bits"] for l in layers)
    slowest = max(design.stages, key=lambda s: s.cycles)
    i, o = design.in_stream, design.out_stream
    return {
        "model": model,
        "top": design.name,
        "options": options,
        "folding": hw_graph.meta.get("folding"),
        # How --device / --target-fps chose the folding (hw/fit.py), or None.
        "fit": hw_graph.meta.get("fit"),
        # What structured pruning removed (passes/pruning_record), or None.
        "pruning": hw_graph.meta.get("pruning"),
        "resources": res,
        "layers": layers,
        "blocks": blocks,
        "totals": {
            "layers": len(layers),
            "blocks": len(design.stages),
            "macs": sum(l["macs"] for l in layers),
            # Multiplier lanes: PE x SIMD, a sparse unit's PE (one multiplier per lane).
            "lanes": sum(l["pe"] * (1 if "sparse" in l else l["simd"]) for l in layers),
            "weight_bits": wbits,
            "expected_ii_cycles": ii,
            "bottleneck": slowest.name,
            "ideal_ii_cycles": ideal,
            "expected_pe_utilization": round(ideal / ii, 4),
        },
        "storage": storage,
        "pipeline": pipeline_section(design),
        "stream": {
            "s_axis_tdata_bits": design.s_tdata_width, "in_lanes": i.lanes,
            "in_element": f"{'s' if i.signed else 'u'}{i.width}", "in_beats": design.in_beats,
            "in_pixels": design.in_pixels, "out_pixels": design.out_pixels,
            "m_axis_tdata_bits": design.m_tdata_width, "out_lanes": o.lanes,
            "out_element": f"{'s' if o.signed else 'u'}{o.width}", "out_beats": design.out_beats,
        },
    }


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
                 f"utilization {t['expected_pe_utilization']:.3f}, slowest block {t['bottleneck']}), "
                 f"{t['macs']:,} MACs on {t['lanes']} lanes, "
                 f"weights {t['weight_bits']:,} bits; {format_storage(rep['storage'])}")
    pruned = format_pruning(rep.get("pruning"))
    return "\n".join(lines + ([pruned] if pruned else []))


def format_resources(rep: dict) -> str:
    """One line: the estimate's totals against the device."""
    r = rep.get("resources")
    if not r or r["lut"] is None:
        return "resources: no estimate (a block has no resource model)"
    u = r["utilization"]
    parts = [f"{r[k]:,g} {label}" + (f" ({100 * u[k]:.1f}%)" if u[k] is not None else "")
             for k, label in (("lut", "LUT"), ("ff", "FF"), ("dsp", "DSP"), ("bram18", "BRAM18"))]
    line = f"resources on {r['device']} (estimate, {r['model']}): " + ", ".join(parts)
    fit = rep.get("fit")
    return line + (f"\nfolding: {fit['why']} ({len(fit['probes'])} foldings estimated)" if fit else "")
