"""Save and load a Graph as JSON (structure) plus .npz (arrays), byte-for-byte
deterministic so that the same compile writes the same files."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from hwcomp.ops.base import op_by_name

from .dtypes import DType, parse_dtype
from .graph import Graph, Node
from .tensor import TensorType

FORMAT = "hwcomp-ir/1"


def _enc(v: Any) -> Any:
    if isinstance(v, DType):
        return {"$dtype": str(v)}
    if isinstance(v, (list, tuple)):
        return [_enc(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _enc(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return {"$array": v.tolist(), "dtype": str(v.dtype)}
    return v


def _dec(v: Any) -> Any:
    if isinstance(v, dict):
        if "$dtype" in v:
            return parse_dtype(v["$dtype"])
        if "$array" in v:
            return np.array(v["$array"], dtype=v["dtype"])
        return {k: _dec(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_dec(x) for x in v]
    return v


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    # Fixed zip timestamps: np.savez would stamp the current time.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            data = io.BytesIO()
            np.lib.format.write_array(data, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            z.writestr(info, data.getvalue())
    path.write_bytes(buf.getvalue())


def save_graph(graph: Graph, stem: Path) -> list[Path]:
    """Write stem.json and stem.npz; return both paths."""
    arrays: dict[str, np.ndarray] = {}
    nodes = []
    for i, n in enumerate(graph.nodes()):
        params = {}
        for k, v in n.params.items():
            key = f"p{i}_{k}"
            arrays[key] = v
            params[k] = key
        nodes.append({"name": n.name, "op": n.op.name, "inputs": list(n.inputs), "outputs": list(n.outputs),
                      "attrs": _enc(n.attrs), "params": params})
    consts = {}
    for i, (k, v) in enumerate(sorted(graph.constants.items())):
        consts[k] = f"c{i}"
        arrays[f"c{i}"] = v
    doc = {
        "format": FORMAT, "name": graph.name, "inputs": graph.inputs, "outputs": graph.outputs,
        "tensors": {k: {"shape": list(t.shape), "dtype": str(t.dtype)} for k, t in sorted(graph.tensors.items())},
        "constants": consts, "meta": _enc(graph.meta), "nodes": nodes,
    }
    js, nz = stem.with_suffix(".json"), stem.with_suffix(".npz")
    js.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    _write_npz(nz, arrays)
    return [js, nz]


def load_graph(stem: Path) -> Graph:
    import hwcomp.ops.all  # noqa: F401  (registers every op)

    doc = json.loads(stem.with_suffix(".json").read_text())
    if doc.get("format") != FORMAT:
        raise ValueError(f"{stem}.json: not a {FORMAT} file")
    with np.load(stem.with_suffix(".npz"), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    g = Graph(doc["name"])
    g.inputs, g.outputs, g.meta = doc["inputs"], doc["outputs"], _dec(doc["meta"])
    g.tensors = {k: TensorType(tuple(t["shape"]), parse_dtype(t["dtype"])) for k, t in doc["tensors"].items()}
    for k, key in doc["constants"].items():
        g.add_constant(k, arrays[key])
    for n in doc["nodes"]:
        g.add_node(Node(n["name"], op_by_name(n["op"]), n["inputs"], n["outputs"], _dec(n["attrs"]),
                        {k: arrays[key] for k, key in n["params"].items()}))
    return g
