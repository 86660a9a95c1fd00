"""The folding record: what the folder decided, in the one shape every reader uses.

It lives in graph.meta["folding"] of the folded graph (ir/hw.json of a build):

    input_lanes   lanes of the design's input stream
    blocks        node name -> knob values: {"pe", "simd"} for a matrix-vector
                  unit, {"lanes"} for a block that reads at chosen lanes
                  (sliding windows, global pooling, joins); absent: the block
                  reads at its producer's lanes
    ii            expected initiation interval (cycles per image), the slowest stage
    ideal_ii      MACs / (PE * SIMD) of the slowest unit
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hwcomp.errors import HwcompError

KNOBS = ("pe", "simd", "lanes")


@dataclass(frozen=True)
class Folding:
    input_lanes: int
    blocks: dict[str, dict[str, int]] = field(default_factory=dict)
    ii: int = 0
    ideal_ii: float = 0.0

    def to_meta(self) -> dict:
        return {"input_lanes": self.input_lanes, "ii": self.ii, "ideal_ii": self.ideal_ii,
                "blocks": {k: dict(sorted(v.items())) for k, v in sorted(self.blocks.items())}}

    @classmethod
    def from_meta(cls, meta: dict | None, where: str = "graph") -> Folding:
        if not isinstance(meta, dict) or set(meta) != {"input_lanes", "ii", "ideal_ii", "blocks"}:
            raise HwcompError(f"{where}: no folding record (run the fold pass first)")
        for name, knobs in meta["blocks"].items():
            bad = [k for k, v in knobs.items() if k not in KNOBS or not isinstance(v, int) or v < 1]
            if bad:
                raise HwcompError(f"{where}: folding of {name!r} has bad knobs {bad}")
        return cls(int(meta["input_lanes"]), {k: dict(v) for k, v in meta["blocks"].items()},
                   int(meta["ii"]), float(meta["ideal_ii"]))
