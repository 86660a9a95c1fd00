"""Fitted coefficients of the resource model (hw/resource_model.py), per block kind.

Written by benchmarks/resource_model.py --fit against Yosys `synth_xilinx -family xc7`; do not edit.
"""

FLOW = 'xc7'

COEFFICIENTS = {
    'add': {
        'lut': {'const': 4.00559, 'scale': 0.0, 'sum': 1.73739},
        'ff': {'const': 0.76869, 's1_sum': 0.93564},
    },
    'concat': {
        'lut': {'beat': 3.33595, 'const': 0.0, 'select': 1.014},
        'ff': {'beat_regs': 0.8872, 'const': 0.0},
    },
    'dwc': {
        'lut': {'beats': 1.11827, 'const': 0.0, 'count': 0.0, 'decode': 0.0, 'landing': 0.0, 'landing_wide': 0.27914, 'out_mask': 0.0, 'shift_full': 2.87326, 'shift_tail': 0.97016, 'store': 0.0},
        'ff': {'const': 2.90835, 'count_regs': 0.3538, 'store_regs': 0.99358},
    },
    'fifo': {
        'lut': {'const': 0.0, 'mem_mux': 0.98092, 'ptr_bits': 1.49804},
        'ff': {'const': 0.0, 'ptr_regs': 1.32332},
    },
    'fork': {
        'lut': {'const': 0.0},
        'ff': {'const': 0.0},
    },
    'mvu': {
        'lut': {'acc_add': 1.73727, 'acc_add@dsp': 0.0, 'const': 26.12796, 'ctrl': 0.47933, 'dot_add': 1.18574, 'dot_add@dsp': 0.05911, 'dsp': 0.0, 'in_mux': 1.25059, 'lut_mult': 0.37353, 'mem_mux': 0.0, 'out_bits': 0.0, 'relu': 0.64563, 'requant': 0.26158, 'rom_logic_bits': 0.0117, 'row_shift': 0.0827},
        'ff': {'acc_regs': 0.98927, 'acc_regs@dsp': 0.0, 'bias_regs': 0.0, 'bias_regs@dsp': 0.0, 'const': 0.0, 'ctrl_regs': 1.55104, 'dot_regs': 1.09478, 'dot_regs@dsp': 0.0, 'dsp': 0.0, 'nf_regs': 1.97567, 'read_reg:bias_rom': 0.08915, 'read_reg:bias_rom@dsp': 0.02269, 'read_reg:in_buf': 2.34856, 'read_reg:shift_rom': 0.0, 's1_in': 0.0},
    },
    'mvu_thresh': {
        'lut': {'acc_add': 5.32513, 'acc_add@dsp': 0.0, 'const': 14.96461, 'ctrl': 0.0, 'dot_add': 1.02715, 'dot_add@dsp': 0.0, 'dsp': 17.05744, 'in_mux': 9.12957, 'lut_mult': 0.0, 'mem_mux': 0.0, 'rom_logic_bits': 0.0, 'thresh_cmp': 0.0, 'thresh_count': 0.20638},
        'ff': {'acc_regs': 0.0, 'acc_regs@dsp': 0.0, 'bias_regs': 1.77856, 'bias_regs@dsp': 0.0, 'const': 0.0, 'ctrl_regs': 0.0, 'dot_regs': 0.0, 'dot_regs@dsp': 0.0, 'dsp': 0.0, 'nf_regs': 8.34072, 'read_reg:in_buf': 1.29412, 'read_reg:thresh_rom': 0.33829, 's1_in': 0.0},
    },
    'pool': {
        'lut': {'combine': 1.2689, 'const': 0.0, 'ctrl': 2.12256, 'mem_mux': 0.0, 'ram_logic_bits': 0.0, 'scale': 0.70768},
        'ff': {'const': 0.0, 'ctrl_regs': 3.01762, 's1_word': 0.58933},
    },
    'swu': {
        'lut': {'addr_bits': 0.0, 'const': 0.0, 'coords': 0.0, 'g_bits': 0.0, 'loops': 9.06074, 'mem_mux': 1.43318, 'word': 0.38124},
        'ff': {'addr_regs': 0.0, 'const': 0.0, 'g_regs': 0.0, 'loop_regs': 2.33053, 'read_reg:mem': 0.72196},
    },
    'xnor_mvu': {
        'lut': {'const': 0.0, 'count_add': 0.82145, 'ctrl': 1.36386, 'in_mux': 3.00775, 'mem_mux': 0.0, 'popcount': 2.09955, 'rom_logic_bits': 0.02978, 'thresh_cmp': 0.67113},
        'ff': {'acc_regs': 0.82791, 'const': 41.19109, 'ctrl_regs': 0.08198, 'dot_regs': 0.20706, 'read_reg:in_buf': 0.0, 'read_reg:thresh_rom': 2.39657, 's1_in': 1.7265, 'thresh_regs': 0.10647},
    },
}
