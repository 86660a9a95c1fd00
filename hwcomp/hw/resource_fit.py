"""Fitted coefficients of the resource model (hw/resource_model.py), per block kind.

Written by benchmarks/resource_model.py --fit against Yosys `synth_xilinx -family xc7`; do not edit.
"""

FLOW = 'xc7'

COEFFICIENTS = {
    'add': {
        'lut': {'const': 0.0, 'scale': 0.0, 'sum': 1.84287},
        'ff': {'const': 0.52537, 's1_sum': 0.94199},
    },
    'concat': {
        'lut': {'beat': 3.19419, 'const': 0.0, 'select': 1.00809},
        'ff': {'beat_regs': 0.88634, 'const': 0.0},
    },
    'dwc': {
        'lut': {'beats': 0.0, 'const': 0.0, 'count': 0.17584, 'landing': 0.0, 'out_mask': 0.0, 'shift_full': 3.11841, 'shift_tail': 0.84599, 'store': 0.0},
        'ff': {'const': 2.11099, 'count_regs': 0.17689, 'store_regs': 1.00924},
    },
    'fifo': {
        'lut': {'const': 0.0, 'mem_mux': 1.16412, 'ptr_bits': 1.60436},
        'ff': {'const': 0.0, 'ptr_regs': 1.32388},
    },
    'fork': {
        'lut': {'const': 12.19837},
        'ff': {'const': 9.39704},
    },
    'mvu': {
        'lut': {'acc_add': 1.68407, 'acc_add@dsp': 0.0, 'const': 33.30589, 'ctrl': 0.0, 'dot_add': 1.05395, 'dot_add@dsp': 0.05726, 'dsp': 0.0, 'in_mux': 0.98912, 'lut_mult': 0.60418, 'mem_mux': 0.0, 'out_bits': 0.0, 'relu': 0.65442, 'requant': 0.38598, 'rom_logic_bits': 0.09462, 'row_shift': 0.05113},
        'ff': {'acc_regs': 0.99101, 'acc_regs@dsp': 0.0, 'bias_regs': 0.0, 'bias_regs@dsp': 0.0, 'const': 0.05841, 'ctrl_regs': 1.57207, 'dot_regs': 1.17145, 'dot_regs@dsp': 0.0, 'dsp': 0.0, 'nf_regs': 2.10246, 'read_reg:bias_rom': 0.17947, 'read_reg:bias_rom@dsp': 0.03345, 'read_reg:in_buf': 2.22339, 'read_reg:shift_rom': 0.0, 's1_in': 0.0},
    },
    'mvu_thresh': {
        'lut': {'acc_add': 5.64466, 'acc_add@dsp': 0.0, 'const': 40.99807, 'ctrl': 0.0, 'dot_add': 1.03715, 'dot_add@dsp': 0.0, 'dsp': 16.26999, 'in_mux': 7.15319, 'lut_mult': 0.0, 'mem_mux': 0.0, 'rom_logic_bits': 0.00315, 'thresh_cmp': 0.0, 'thresh_count': 0.0},
        'ff': {'acc_regs': 0.0, 'acc_regs@dsp': 0.0, 'bias_regs': 1.61752, 'bias_regs@dsp': 0.0, 'const': 0.0, 'ctrl_regs': 0.0, 'dot_regs': 0.0, 'dot_regs@dsp': 0.0, 'dsp': 0.0, 'nf_regs': 9.15746, 'read_reg:in_buf': 1.60362, 'read_reg:thresh_rom': 0.35358, 's1_in': 0.0},
    },
    'pool': {
        'lut': {'combine': 1.41043, 'const': 0.0, 'ctrl': 1.77505, 'mem_mux': 0.0, 'ram_logic_bits': 0.0, 'scale': 0.63428},
        'ff': {'const': 0.0, 'ctrl_regs': 2.77345, 's1_word': 0.62391},
    },
    'swu': {
        'lut': {'addr_bits': 0.0, 'const': 0.0, 'coords': 0.0, 'g_bits': 0.0, 'loops': 9.22107, 'mem_mux': 1.26895, 'word': 0.46816},
        'ff': {'addr_regs': 0.0, 'const': 0.0, 'g_regs': 0.0, 'loop_regs': 2.35079, 'read_reg:mem': 0.74068},
    },
    'xnor_mvu': {
        'lut': {'const': 0.0, 'count_add': 0.84835, 'ctrl': 1.32727, 'in_mux': 3.60485, 'mem_mux': 0.0, 'popcount': 2.06814, 'rom_logic_bits': 0.0274, 'thresh_cmp': 0.64212},
        'ff': {'acc_regs': 0.8845, 'const': 45.53312, 'ctrl_regs': 0.0, 'dot_regs': 0.0, 'read_reg:in_buf': 0.0, 'read_reg:thresh_rom': 2.43206, 's1_in': 1.69155, 'thresh_regs': 0.09038},
    },
}
