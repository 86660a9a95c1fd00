"""build/design.json: what the simulator needs to drive a compiled top, written
from and read into one versioned dataclass (a field added or renamed changes
VERSION, and an old or foreign file is refused with one clear message)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from hwcomp.errors import HwcompError

VERSION = 2


@dataclass(frozen=True)
class DesignFile:
    top: str                    # top module name
    sources: tuple[str, ...]    # Verilog files relative to the build directory, compile order
    hw_input: str               # IR tensor streamed into s_axis
    hw_output: str              # IR tensor streamed out of m_axis
    in_elems: int               # elements per input pixel
    in_pixels: int
    in_lanes: int
    in_width: int
    in_beats: int               # beats per image
    s_tdata_width: int
    out_elems: int
    out_pixels: int
    out_lanes: int
    out_width: int
    out_signed: bool
    out_beats: int
    m_tdata_width: int
    expected_ii_cycles: int
    version: int = VERSION

    def write(self, path: Path) -> None:
        d = asdict(self)
        d["sources"] = list(self.sources)
        Path(path).write_text(json.dumps(d, indent=1, sort_keys=True) + "\n")

    @classmethod
    def read(cls, path: Path) -> DesignFile:
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, ValueError) as e:
            raise HwcompError(f"{path}: cannot read ({e})") from None
        if not isinstance(d, dict) or d.get("version") != VERSION:
            got = d.get("version") if isinstance(d, dict) else None
            raise HwcompError(f"{path}: design file version {got!r}, this hwcomp reads version {VERSION}; "
                              "compile the model again")
        names = {f.name for f in fields(cls)}
        if set(d) != names:
            raise HwcompError(f"{path}: unexpected keys {sorted(set(d) - names)} / missing {sorted(names - set(d))}")
        d["sources"] = tuple(d["sources"])
        return cls(**d)
