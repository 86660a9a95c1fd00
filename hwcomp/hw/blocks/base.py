"""What every hardware block provides, and the registry that finds it.

A block class owns one kind of stream block end to end: the IR ops it is
built from (`ops`) and the graph ops that lower onto it (`implements`, for the
support check before any work), the check whether a node can map, its folding
knobs, its cycle model (the only copy of each formula), its stream port
widths, its HDL module and parameters, its memory images and its resources.
The region finder, builder, folder, writer and report ask the block; none of
them lists ops.

Everything a block returns is plain data. HDL parameters are Python values
(`int`, `bool`, `Bits` for sized constants, `MemFile` for ROM file names);
memory images are integer arrays. Turning them into Verilog literals and hex
lines is the backend's job (hwcomp/backends/).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Union

import numpy as np

from hwcomp.numerics import ceil_div

if TYPE_CHECKING:
    from hwcomp.devices import Device
    from hwcomp.ir.graph import Graph, Node


@dataclass(frozen=True)
class Bits:
    """A sized constant: `width` bits holding `value` (two's complement when negative)."""
    value: int
    width: int


@dataclass(frozen=True)
class MemFile:
    """A ROM image's file name; the top prefixes it with its MEM_DIR parameter."""
    name: str


Param = Union[int, bool, Bits, MemFile]


@dataclass(frozen=True)
class Hdl:
    module: str
    sources: tuple[str, ...]                  # library files in templates/, compile order
    params: tuple[tuple[str, Param], ...]     # in the module's declaration order


MEMORY_ROLES = ("weights", "indices", "codebook", "pointers", "bias", "thresholds", "shifts")


@dataclass(frozen=True, eq=False)
class MemoryImage:
    """One $readmemh file: line i holds the fields' row i side by side, the first
    field's element 0 in the least significant bits."""
    file: str
    fields: tuple[tuple[np.ndarray, int], ...]   # ([lines, elems] integers, bits per element)
    # What the image holds, for the storage report: one of MEMORY_ROLES.
    role: str = "weights"

    def __post_init__(self):
        if self.role not in MEMORY_ROLES:
            raise ValueError(f"{self.file}: memory role {self.role!r} is not one of {', '.join(MEMORY_ROLES)}")


@dataclass(frozen=True)
class Constant:
    """A number of the model held in an HDL parameter rather than a ROM (a layer's
    requantization shift, its saturation bounds): `bits` wide, for the storage report.
    Structure (widths, counts, folding) is not storage and is never one."""
    name: str
    bits: int
    role: str

    def __post_init__(self):
        if self.role not in MEMORY_ROLES:
            raise ValueError(f"{self.name}: constant role {self.role!r} is not one of {', '.join(MEMORY_ROLES)}")


def value_bits(v: int) -> int:
    """Bits that hold the integer v: unsigned when v >= 0, two's complement when negative."""
    v = int(v)
    return max(1, v.bit_length() if v >= 0 else (-v - 1).bit_length() + 1)


@dataclass(frozen=True)
class Resources:
    """FPGA resources of one instance; None is unknown (no model yet). `model` says
    what the numbers come from (hw/resource_model.py)."""
    lut: int | None = None
    ff: int | None = None
    dsp: int | None = None
    bram18: float | None = None
    model: str | None = None

    def as_dict(self) -> dict:
        return {"lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram18": self.bram18}


@dataclass(frozen=True)
class Knob:
    """A folding knob: its name and the legal values 1..`upper`."""
    name: str
    upper: int


def lane_options(n: int) -> list[int]:
    """Lane counts worth trying for n elements: the smallest one per fold count."""
    seen: dict[int, int] = {}
    for lanes in range(1, n + 1):
        seen.setdefault(ceil_div(n, lanes), lanes)
    return sorted(seen.values())


class Block:
    """One kind of hardware block (see the module docstring). Classmethods only."""

    unit: ClassVar[type]                          # the parameters of one instance
    prefix: ClassVar[str]                         # stage names: <prefix><index>
    ops: ClassVar[tuple[type, ...]] = ()          # hardware IR ops built into this block
    implements: ClassVar[tuple[type, ...]] = ()   # graph ops (before lowering) it implements
    lanes_knob: ClassVar[bool] = False            # reads at chosen lanes (1..its input's channels)

    # ---- mapping
    @classmethod
    def unsupported(cls, node: "Node", graph: "Graph") -> str | None:
        """Why `node` (an `implements` op in the channels-last graph) cannot map, or None."""
        return None

    @classmethod
    def in_region(cls, node: "Node", graph: "Graph", region: set[str]) -> bool:
        """Whether `node` belongs to the hardware region, given the region so far."""
        return True

    @classmethod
    def build(cls, builder, node: "Node", flows: list):
        """Add this node's stages to `builder` (hw/builder.py); return its output flow."""
        raise NotImplementedError(f"{cls.__name__} is placed by the builder, not built from a node")

    # ---- folding (hw/folder.py)
    @classmethod
    def knobs(cls, node: "Node", graph: "Graph") -> tuple[Knob, ...]:
        return (Knob("lanes", graph.tensors[node.inputs[0]].shape[-1]),) if cls.lanes_knob else ()

    @classmethod
    def fold_with(cls, node: "Node", consumers: list) -> "Node | None":
        """A consumer whose knobs also fix this node's (they are chosen together), or None."""
        return None

    @classmethod
    def fold_candidates(cls, walk, node: "Node", window: "Node | None" = None) -> list:
        """(lanes, needs a width converter, knobs) to try for `node` (and the window folded
        with it), fewest lanes first; None when there is nothing to choose."""
        if window is not None:
            return walk.lanes_candidates(window)
        if any(k.name == "lanes" for k in cls.knobs(node, walk.g)):
            return walk.lanes_candidates(node)
        return None

    @classmethod
    def macs(cls, node: "Node", graph: "Graph") -> int:
        """Multiply-accumulates per image."""
        return 0

    @classmethod
    def ideal_cycles(cls, node: "Node", graph: "Graph", knobs: dict) -> float:
        """MACs / (PE * SIMD): the cycles of a PE array without padding."""
        return 0.0

    # ---- one instance
    @classmethod
    def check(cls, unit) -> None:
        """Raise ValueError if the instance cannot be built exactly as described."""

    @classmethod
    def ports(cls, unit) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Word widths (bits per beat) of the input ports and the output ports, in port order."""
        raise NotImplementedError

    @classmethod
    def cycles(cls, unit, vectors: int) -> int:
        """Cycles per image at steady state, nothing stalled; `vectors` per image on the input."""
        raise NotImplementedError

    @classmethod
    def hdl(cls, unit, name: str) -> Hdl:
        raise NotImplementedError

    @classmethod
    def memories(cls, unit, name: str) -> tuple[MemoryImage, ...]:
        return ()

    @classmethod
    def constants(cls, unit) -> tuple[Constant, ...]:
        """The model's numbers this instance holds in HDL parameters (see Constant)."""
        return ()

    @classmethod
    def resources(cls, unit, device: "Device") -> Resources:
        """The analytic estimate of one instance on `device` (hw/resource_model.py): the
        structure of its HDL module, priced with the fitted coefficients."""
        from hwcomp.hw.resource_model import estimate
        from hwcomp.hw.resource_terms import structure_of

        s = structure_of(cls.hdl(unit, "unit"), cls.memories(unit, "unit"))
        e = estimate(s, device) if s is not None else None
        if e is None:
            return Resources()
        return Resources(round(e.lut), round(e.ff), e.dsp, round(e.bram18, 3), e.model)

    @classmethod
    def summary(cls, unit) -> str:
        return cls.__name__


_BY_OP: dict[type, type[Block]] = {}
_BY_UNIT: dict[type, type[Block]] = {}


def register(block: type[Block]) -> type[Block]:
    for op in block.ops:
        if op in _BY_OP:
            raise ValueError(f"{op.__name__} already maps to {_BY_OP[op].__name__}")
        _BY_OP[op] = block
    if block.unit in _BY_UNIT:
        raise ValueError(f"{block.unit.__name__} already belongs to {_BY_UNIT[block.unit].__name__}")
    _BY_UNIT[block.unit] = block
    return block


def block_of_op(op: type) -> type[Block] | None:
    """The block a hardware IR op is built into, or None (a host op)."""
    return _BY_OP.get(op)


def block_of_unit(unit) -> type[Block]:
    try:
        return _BY_UNIT[type(unit)]
    except KeyError:
        raise TypeError(f"no hardware block for {type(unit).__name__}") from None


def implementing(op: type) -> list[type[Block]]:
    """Blocks that implement a graph op (the support check's question)."""
    return [b for b in dict.fromkeys(_BY_UNIT.values()) if op in b.implements]
