"""What each library module's RTL builds, from its HDL parameters (the values a
block's `hdl` passes): memories, multipliers, inner FIFOs, and the LUT and FF
terms the fit weighs (hw/resource_model.py).

One function per module of templates/, reading the same parameters and
deriving the same local widths as the Verilog does. A new register group in
a template is a new FF term here (named after its group); the refit
(benchmarks/resource_model.py --fit) then gives it its coefficient.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np

from .blocks.base import Bits, Hdl, MemFile, MemoryImage
from .memory_map import Memory
from .resource_model import Multiplier, Structure

# Which ROM of a module each file parameter fills.
ROM_FILES = {"WEIGHT_FILE": "weight_rom", "BIAS_FILE": "bias_rom", "THRESH_FILE": "thresh_rom",
             "SHIFT_FILE": "shift_rom"}


def clog2(n: int) -> int:
    """Verilog's $clog2."""
    return max(0, (int(n) - 1).bit_length())


def cw(n: int) -> int:
    """A counter's width for 0..n-1 as the templates declare it (at least 1 bit)."""
    return clog2(n) if n > 1 else 1


def _int(params: Mapping, name: str, default: int = 0) -> int:
    v = params.get(name, default)
    return v.value if isinstance(v, Bits) else int(v)


def fifo(width: int, depth: int, out_reg: int = 0) -> Structure:
    addr_w, count_w = cw(depth), clog2(depth + 1)
    if not out_reg:
        # The read is combinational from the registered rd_ptr: Yosys' memory_dff merges that
        # address register into the read port, so a deep FIFO can go to block RAM.
        return Structure(
            "fifo",
            lut={"const": 1, "ptr_bits": 2 * addr_w + count_w},
            ff={"const": 1, "ptr_regs": 2 * addr_w + count_w},
            memories=(Memory("mem", depth, width, rom=False, sync_read=True, data_reg=False),))
    # OUT_REG: the read data register (a_data, a block RAM's own) and the output register
    # (b_data) with their two valid bits; the handshake between them is a few LUTs.
    return Structure(
        "fifo",
        lut={"const": 1, "ptr_bits": 2 * addr_w + count_w, "out_reg": 1},
        ff={"const": 1, "ptr_regs": 2 * addr_w + count_w},
        memories=(Memory("mem", depth, width, rom=False, sync_read=True, data_reg=True),),
        ff_bits={"out_regs": width + 2})


def _fifo(p, rom_width=None):
    return fifo(_int(p, "WIDTH"), _int(p, "DEPTH"), _int(p, "OUT_REG"))


def _fork(p, rom_width=None):
    w = _int(p, "WIDTH")
    return Structure("fork", lut={"const": 1}, ff={"const": 1},
                     children=(fifo(w, _int(p, "DEPTH0")), fifo(w, _int(p, "DEPTH1"))))


def add_tree(n: int, in_w: int, acc_w: int, tree_levels: int) -> tuple[int, int]:
    """hwcomp_add_tree of n terms: (adder bits, register bits). Level l adds the pairs of
    level l-1 at min(in_w + l, acc_w) bits (an odd last node passes on); every
    tree_levels-th level but the last is registered, its passing node too."""
    levels = clog2(n) if n > 1 else 0
    add = regs = 0
    for lvl in range(1, levels + 1):
        prev, nodes = -(-n // (1 << (lvl - 1))), -(-n // (1 << lvl))
        lw = min(in_w + lvl, acc_w)
        add += (prev // 2) * lw
        if lvl % max(tree_levels, 1) == 0 and lvl < levels:
            regs += nodes * lw
    return add, regs


def _fold_parts(p, in_word: int, w_word: int, w_varying: int, block_rom: bool = True):
    """hwcomp_mvu_fold: step counters, weight ROM, input buffer (NF > 1), schedule flags,
    the S1b operand registers (OP_REG) and the flags' delay beside the lanes."""
    nf, sf = _int(p, "NF"), _int(p, "SF")
    op_reg, pe = _int(p, "OP_REG"), _int(p, "PE")
    ctrl = cw(nf) + cw(sf) + cw(nf * sf)
    mems = [Memory("weight_rom", nf * sf, w_word, rom=True, sync_read=True, block_only=block_rom)]
    lut = {"const": 1, "ctrl": ctrl}
    ff = {"const": 1, "ctrl_regs": ctrl, "s1_in": in_word}
    if nf > 1:
        mems.append(Memory("in_buf", sf, in_word, rom=False, sync_read=True, same_address=True))
        lut["in_mux"] = in_word
    ff_bits = {}
    if op_reg:
        # S1b: the weight word (its varying bits: constant ones are no registers) op_reg
        # times; the input word once per PE lane (X_COPIES, kept apart), once more first
        # with OP_REG = 2. Each copy feeds SIMD lanes: no DSP slice takes it in.
        ff_bits["op_w"] = op_reg * w_varying
        ff_bits["op_x"] = (pe + (op_reg - 1)) * in_word
    return mems, lut, ff, ff_bits


def _mvu(p, rom_width=lambda name, full: full):
    pe, simd, nf, sf = (_int(p, k) for k in ("PE", "SIMD", "NF", "SF"))
    in_w, w_w, acc_w, out_w = (_int(p, k) for k in ("IN_W", "W_W", "ACC_W", "OUT_W"))
    x_w = in_w if _int(p, "IN_SIGNED") else in_w + 1
    wv_w = 2 if _int(p, "W_BIPOLAR") else w_w
    k, row_shift_w = _int(p, "THRESH_K"), _int(p, "ROW_SHIFT_W")
    requant, relu = _int(p, "REQUANT"), _int(p, "RELU")
    op_reg, prod_reg, act_reg = _int(p, "OP_REG"), _int(p, "PROD_REG"), _int(p, "ACT_REG")
    tree_levels = _int(p, "TREE_LEVELS", 8)
    prod_w = wv_w + x_w
    term_w = min(prod_w, acc_w)
    levels = clog2(simd)
    tree_regs = (levels - 1) // tree_levels if levels > 0 else 0
    to_s2 = 2 + op_reg + prod_reg + tree_regs
    # With shared weights (CB_W > 0) the weight ROM holds indices; the per-lane codebook
    # lookup is not priced yet (no synthesized codebook design in the fit).
    w_word = pe * simd * (_int(p, "CB_W") or w_w)
    mems, lut, ff, ff_bits = _fold_parts(p, simd * in_w, w_word, rom_width("weight_rom", w_word))
    mems.append(Memory("bias_rom", nf, pe * acc_w, rom=True, sync_read=True))
    tree_add, tree_bits = add_tree(simd, term_w, acc_w, tree_levels)
    lut.update({"tree_add": pe * tree_add, "acc_add": pe * acc_w})
    ff.update({"dot_regs": pe * acc_w, "acc_regs": pe * acc_w})
    # Valid, first and last beside each stage before S2, the done flag beside ACT_REG.
    ff["stage_flags"] = 3 * (op_reg + prod_reg + tree_regs) + act_reg
    if prod_reg:
        # The first product register can be a slice's M register, the second its P register
        # (with SIMD 1) or plain flip-flops: weighed apart.
        ff["prod_regs"] = pe * simd * term_w
        if prod_reg > 1:
            ff["prod_regs2"] = (prod_reg - 1) * pe * simd * term_w
    if tree_bits:
        ff_bits["tree_regs"] = pe * tree_bits
    if act_reg:
        ff_bits["act_regs"] = pe * out_w
    # The row fold index carried to the bias read (one stage before S2) and, for the
    # threshold or shift ROM, to S2 itself.
    row_rom = k > 0 or row_shift_w > 0
    if nf > 1:
        ff["nf_regs"] = (to_s2 - 1 + row_rom) * cw(nf)
    if relu:
        lut["relu"] = pe * acc_w
    if k > 0:
        thr_w = acc_w + 1
        mems.append(Memory("thresh_rom", nf, pe * k * thr_w + pe, rom=True, sync_read=True))
        lut["thresh_cmp"] = pe * k * thr_w
        lut["thresh_count"] = pe * k * clog2(k + 1)
    elif requant:
        lut["requant"] = pe * (acc_w + 1)
        lut["out_bits"] = pe * out_w
        if row_shift_w > 0:
            mems.append(Memory("shift_rom", nf, pe * row_shift_w, rom=True, sync_read=True))
            lut["row_shift"] = pe * (acc_w + 1) * row_shift_w
    mult = Multiplier(wv_w, x_w, min(prod_w, acc_w), pe * simd)
    # In DSPs the weight registers (S1b) become the slices' input registers and the first
    # product register their M register. Without product registers the products' first
    # sums are the slices' adders and the dot register their P register; with one product
    # per row (SIMD 1) the accumulator too (P adds onto itself), the bias entering through
    # the C port, its register with it. One product register: with SIMD 1 the dot
    # register is P and the accumulator stays in the fabric. Two: the second is P, the
    # tree, dot and accumulator are all the fabric's.
    absorbs = ("op_w", "prod_regs", "prod_regs2")
    if prod_reg == 0:
        absorbs += ("dot_regs", "tree_add") + (("acc_regs", "acc_add", "read_reg:bias_rom") if simd == 1 else ())
    elif prod_reg == 1:
        absorbs += ("dot_regs",) if simd == 1 else ("dot_regs", "tree_add")
    return Structure("mvu_thresh" if k > 0 else "mvu", lut, ff, tuple(mems), (mult,),
                     (fifo(pe * out_w, 2),), absorbs, ff_bits)


def _xnor_mvu(p, rom_width=lambda name, full: full):
    pe, simd, nf, sf = (_int(p, k) for k in ("PE", "SIMD", "NF", "SF"))
    thresh_w, popcount_out = _int(p, "THRESH_W"), _int(p, "POPCOUNT_OUT")
    op_reg = _int(p, "OP_REG")
    cnt_w, sc_w = clog2(sf * simd + 1), clog2(simd + 1)
    mems, lut, ff, ff_bits = _fold_parts(p, simd, pe * simd, rom_width("weight_rom", pe * simd))
    lut.update({"popcount": pe * simd, "count_add": pe * cnt_w})
    ff.update({"dot_regs": pe * sc_w, "acc_regs": pe * cnt_w, "stage_flags": 3 * op_reg})
    out_w = cnt_w if popcount_out else 1
    if not popcount_out:
        mems.append(Memory("thresh_rom", nf, pe * thresh_w, rom=True, sync_read=True))
        lut["thresh_cmp"] = pe * max(thresh_w, cnt_w)
        ff["thresh_regs"] = 2 * pe * thresh_w
        if nf > 1:   # the row fold index carried to the threshold read (S1, S1b)
            ff["nf_regs"] = (1 + op_reg) * cw(nf)
    return Structure("xnor_mvu", lut, ff, tuple(mems), (), (fifo(pe * out_w, 2),), ff_bits=ff_bits)


def _swu(p, rom_width=None):
    elem_w, lanes, cf = _int(p, "ELEM_W"), _int(p, "LANES"), _int(p, "CF")
    ifm_h, ifm_w, k_h, k_w = (_int(p, k) for k in ("IFM_H", "IFM_W", "K_H", "K_W"))
    s_h, s_w = _int(p, "STRIDE_H"), _int(p, "STRIDE_W")
    pt, pl, pb, pr = (_int(p, k) for k in ("PAD_T", "PAD_L", "PAD_B", "PAD_R"))
    ofm_h, ofm_w, depth = _int(p, "OFM_H"), _int(p, "OFM_W"), _int(p, "BUF_DEPTH")
    word = lanes * elem_w
    row, img = ifm_w * cf, ifm_h * ifm_w * cf
    bound = depth + 2 * img + 2 * (k_h + pt + s_h) * row + 2 * (k_w + pl) * cf
    g_w = clog2(bound + 1) + 2
    a_w = cw(depth)
    loops = cw(cf) + cw(k_w) + cw(k_h) + clog2(ofm_w + 1) + clog2(ofm_h + 1)
    coords = 2 * clog2(ifm_w + pl + pr + 1) + 2 * clog2(ifm_h + pt + pb + 1)
    return Structure(
        "swu",
        lut={"const": 1, "g_bits": g_w, "addr_bits": a_w, "loops": loops, "coords": coords, "word": word},
        ff={"const": 1, "g_regs": 5 * g_w, "addr_regs": 3 * a_w, "loop_regs": loops + coords},
        memories=(Memory("mem", depth, word, rom=False, sync_read=True),),
        children=(fifo(word, 2),))


def _dwc(p, rom_width=None):
    elem_w, n, li, lo = (_int(p, k) for k in ("ELEM_W", "N", "IN_LANES", "OUT_LANES"))
    in_beats, out_beats = -(-n // li), -(-n // lo)
    if li == lo:
        return Structure("dwc_pass", lut={"const": 1, "beat": cw(in_beats), "word": li * elem_w},
                         ff={"const": 1, "beat_regs": cw(in_beats)}, children=(fifo(li * elem_w, 2),))
    out_tail = n - (out_beats - 1) * lo
    if li % lo == 0:
        # The slice form: the input beat in a 2-word FIFO, a K-way mux per output bit.
        k = li // lo
        return Structure("dwc_slice", lut={"const": 1, "mux": lo * elem_w * (k - 1),
                                           "mask": elem_w * (lo - out_tail), "count": cw(k) + cw(in_beats)},
                         ff={"const": 1, "count_regs": cw(k) + cw(in_beats)}, children=(fifo(li * elem_w, 2),))
    buf = li + lo + min(li, lo) - 1
    cnt_w = clog2(buf + li + 1)
    return Structure(
        "dwc",
        lut={"const": 1, "store": buf * elem_w,
             # The shift after an output beat: lane l takes l + OUT_LANES (or + OUT_TAIL) if inside.
             "shift_full": elem_w * sum(1 for lane in range(buf) if lane + lo < buf),
             "shift_tail": elem_w * sum(1 for lane in range(buf) if lane + out_tail < buf) if out_tail != lo else 0,
             # Lane l of the store takes input lane j <= l at base l - j: min(l + 1, IN_LANES) candidates.
             "landing": elem_w * sum(min(lane + 1, li) for lane in range(buf)),
             # Past a LUT6's reach (a 4:1 mux) the landing muxes take another level per lane.
             "landing_wide": elem_w * sum(max(min(lane + 1, li) - 4, 0) for lane in range(buf)),
             "decode": buf, "count": cnt_w, "out_mask": elem_w * (lo - out_tail),
             "beats": cw(in_beats) + cw(out_beats)},
        ff={"const": 1, "store_regs": buf * elem_w, "count_regs": cnt_w + cw(in_beats) + cw(out_beats)})


def _scale_terms(lanes: int, in_w: int, mult: int, shift: int, out_w: int) -> tuple[dict, Multiplier | None]:
    mult_w = clog2(mult + 1) if mult > 1 else 1
    p_w = in_w + mult_w if mult > 1 else in_w
    r_w = max(p_w, shift) + 1
    m = Multiplier(in_w, mult_w + 1, p_w, lanes) if mult > 1 else None
    return {"scale": lanes * (r_w + out_w)}, m


def _pool(p, rom_width=None, window_key="WINDOW"):
    mode, window, cf, lanes = _int(p, "MODE"), _int(p, window_key), _int(p, "CF"), _int(p, "LANES")
    in_w, out_w = _int(p, "IN_W"), _int(p, "OUT_W")
    x_w = in_w if _int(p, "IN_SIGNED") else in_w + 1
    a_w = x_w + clog2(window) if mode == 1 else x_w
    word = lanes * a_w
    lut = {"const": 1, "ctrl": cw(window) + cw(cf), "combine": word}
    ff = {"const": 1, "ctrl_regs": cw(window) + cw(cf), "s1_word": word}
    mults = ()
    if mode == 1:
        terms, m = _scale_terms(lanes, a_w, _int(p, "MULT", 1), _int(p, "SHIFT"), out_w)
        lut.update(terms)
        mults = (m,) if m else ()
    # hwcomp_gap is an hwcomp_pool over all pixels: one kind, one set of coefficients.
    return Structure("pool", lut, ff,
                     (Memory("acc_buf", cf, word, rom=False, sync_read=False, same_address=True),),
                     mults, (fifo(lanes * (in_w if mode == 0 else out_w), 2),))


def _gap(p, rom_width=None):
    return _pool(p, window_key="PIXELS")


def _add(p, rom_width=None):
    lanes = _int(p, "LANES")
    x0 = _int(p, "IN0_W") + (0 if _int(p, "IN0_SIGNED") else 1)
    x1 = _int(p, "IN1_W") + (0 if _int(p, "IN1_SIGNED") else 1)
    sum_w = max(x0 + _int(p, "SHIFT0"), x1 + _int(p, "SHIFT1")) + 1
    out_w = _int(p, "OUT_W")
    terms, _ = _scale_terms(lanes, sum_w, 1, _int(p, "SHIFT"), out_w)
    return Structure("add", lut={"const": 1, "sum": lanes * sum_w, **terms},
                     ff={"const": 1, "s1_sum": lanes * sum_w}, children=(fifo(lanes * out_w, 2),))


def _concat(p, rom_width=None):
    lanes, elem_w, cf0, cf1 = (_int(p, k) for k in ("LANES", "ELEM_W", "CF0", "CF1"))
    beat_w = clog2(cf0 + cf1)
    return Structure("concat", lut={"const": 1, "select": lanes * elem_w, "beat": beat_w},
                     ff={"const": 1, "beat_regs": beat_w + 1}, children=(fifo(lanes * elem_w, 2),))


STRUCTURES: dict[str, Callable[..., Structure]] = {
    "hwcomp_fifo": _fifo, "hwcomp_fork": _fork, "hwcomp_mvu": _mvu, "hwcomp_xnor_mvu": _xnor_mvu,
    "hwcomp_swu": _swu, "hwcomp_dwc": _dwc, "hwcomp_pool": _pool, "hwcomp_gap": _gap,
    "hwcomp_add": _add, "hwcomp_concat": _concat,
}


def varying_bits(image: MemoryImage) -> int:
    """Bit columns of a ROM image that are not the same in every line. Yosys (opt_mem)
    drops the constant ones before mapping, so they take no block RAM or LUT."""
    n = 0
    for values, bits in image.fields:
        if bits > 62:   # beyond int64: count every bit as varying (the conservative side)
            n += bits * np.asarray(values).shape[-1]
            continue
        v = np.asarray(values, dtype=np.int64) & ((1 << bits) - 1)   # two's complement in `bits`
        if v.size == 0:
            continue
        diff = np.bitwise_or.reduce(v ^ v[:1], axis=0)
        n += sum(bin(int(d)).count("1") for d in np.atleast_1d(diff))
    return n


def structure_of(hdl: Hdl, images: tuple[MemoryImage, ...] = ()) -> Structure | None:
    """The structure of one instance of `hdl`, or None for a module without one. With the
    instance's ROM `images` (a block's `memories`), each ROM is as wide as its varying bits."""
    fn = STRUCTURES.get(hdl.module)
    if fn is None:
        return None
    by_file = {i.file: i for i in images}
    widths = {ROM_FILES[k]: varying_bits(by_file[v.name]) for k, v in hdl.params
              if isinstance(v, MemFile) and k in ROM_FILES and v.name in by_file}
    s = fn(dict(hdl.params), lambda name, full: widths.get(name, full))
    if not widths:
        return s
    mems = tuple(replace(m, width=widths[m.name]) if m.rom and m.name in widths else m for m in s.memories)
    return replace(s, memories=tuple(m for m in mems if m.width > 0))
