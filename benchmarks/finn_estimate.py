"""FINN's own resource estimate of a network's MVAUs, for the comparison table.

Our code of the formulas in Xilinx/finn src/finn/custom_op/fpgadataflow/
(matrixvectoractivation.py: bram_estimation; hls/matrixvectoractivation_hls.py:
lut_estimation, dsp_estimation; from FINN-R, Blott et al. 2018), with FINN's
defaults: mem_mode internal_decoupled, ram_style auto (weights in RAMB18
SDP), thresholds in distributed RAM, resType lut for binary layers. FINN
estimates the MVAUs only (its TODO: no FIFO or width-converter
contributions), so its numbers leave those out.
"""
from __future__ import annotations

import math


def mvau_bram(pe: int, simd: int, w: int, mw: int, mh: int) -> int:
    omega = (mw * mh) / (simd * pe)
    width = simd * w * pe
    if width == 1:
        return math.ceil(omega / 16384)
    if width == 2:
        return math.ceil(omega / 8192)
    if width <= 4:
        return math.ceil(omega / 4096) * math.ceil(width / 4)
    if width <= 9:
        return math.ceil(omega / 2048) * math.ceil(width / 9)
    if width <= 18 or omega > 512:
        return math.ceil(omega / 1024) * math.ceil(width / 18)
    return math.ceil(omega / 512) * math.ceil(width / 36)


def mvau_lut(pe: int, simd: int, w: int, a: int, mw: int, mh: int, acc_width: int, out_bits: int | None,
             signed_input: bool, dsp: bool) -> int:
    """out_bits: output bits of a threshold activation, None without one (noActivation)."""
    c0, c1, c2 = 300, 1.1, 0
    mult = 0 if dsp else simd * (2 * math.ceil((w + a) / 6) - 1) * (w + a)
    adder_tree = (w + a) * (2 * simd - 1)
    alpha = math.log(mw, 2) + w + a - 1 - int(signed_input)
    acc_bits = min(acc_width, math.ceil(alpha + math.log(1 + 2 ** -alpha, 2) + 1))
    thr = comp = 0
    if out_bits is not None:
        tmem = mh // pe
        thr = (2 ** out_bits - 1) * acc_bits * math.ceil(tmem / 64)
        comp = (2 ** out_bits - 1) * acc_bits
    return int(c0 + c1 * (pe * (mult + adder_tree + acc_bits + thr + comp)) + c2)


def mvau_dsp(pe: int, simd: int, w: int, a: int, dsp: bool) -> int:
    return int(pe * simd * math.ceil((w + a) / 48)) if dsp else 0


def tfc_estimate(report: dict, folding) -> dict:
    """FINN's estimate of a binary FC network (TFC/SFC/LFC w1a1: XNOR-popcount MVAUs, 1-bit
    weights and inputs, thresholds on every layer but the last) at `folding`."""
    lut = bram = dsp = 0
    layers = report["layers"]
    for i, (l, (pe, simd)) in enumerate(zip(layers, folding)):
        mw, mh = l["cols"], l["rows"]
        acc_width = math.ceil(math.log2(mw + 1))   # FINN's minimized popcount accumulator
        last = i == len(layers) - 1
        lut += mvau_lut(pe, simd, 1, 1, mw, mh, acc_width, None if last else 1, False, False)
        bram += mvau_bram(pe, simd, 1, mw, mh)
        dsp += mvau_dsp(pe, simd, 1, 1, False)
    return {"lut": lut, "bram18": bram, "dsp": dsp, "ff": None,
            "source": "Xilinx/finn MVAU lut_estimation / bram_estimation / dsp_estimation (MVAUs only)"}
