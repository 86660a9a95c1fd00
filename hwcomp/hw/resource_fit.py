"""Fitted coefficients of the resource model (hw/resource_model.py), per block kind.

Written by benchmarks/resource_model.py --fit against Yosys `synth_xilinx -family xc7`; do not edit.
"""

FLOW = 'xc7'

COEFFICIENTS = {
    'add': {
        'lut': {'const': 4.06511, 'scale': 0.0, 'sum': 1.73739},
        'ff': {'const': 0.0, 's1_sum': 0.90644},
    },
    'concat': {
        'lut': {'beat': 3.35579, 'const': 0.0, 'select': 1.01482},
        'ff': {'beat_regs': 0.0, 'const': 0.0},
    },
    'dwc': {
        'lut': {'beats': 0.0, 'const': 0.0, 'count': 0.0, 'decode': 0.0, 'landing': 0.41667, 'landing_wide': 0.0, 'out_mask': 0.0, 'shift_full': 2.3917, 'shift_tail': 2.41253, 'store': 0.0},
        'ff': {'const': 0.0, 'count_regs': 4.84689, 'store_regs': 0.46949},
    },
    'dwc_slice': {
        'lut': {'const': 7.06559, 'count': 0.0, 'mask': 0.0, 'mux': 0.46741},
        'ff': {'const': 0.0, 'count_regs': 0.0},
    },
    'fifo': {
        'lut': {'const': 0.0, 'mem_mux': 0.98515, 'out_reg': 0.0, 'ptr_bits': 1.48316},
        'ff': {'const': 3.19237, 'ptr_regs': 1.10958, 'read_reg:mem': 0.8817},
    },
    'fork': {
        'lut': {'const': 0.0},
        'ff': {'const': 0.0},
    },
    'mvu': {
        'lut': {'acc_add': 1.84164, 'acc_add@dsp': 0.0, 'const': 26.05779, 'ctrl': 0.0, 'dsp': 0.0, 'in_mux': 1.95089, 'lut_mult': 1.11677, 'mem_mux': 0.0, 'out_bits': 0.0, 'relu': 0.83887, 'requant': 0.34703, 'rom_logic_bits': 0.04841, 'row_shift': 0.00992, 'tree_add': 1.0443, 'tree_add@dsp': 0.07506},
        'ff': {'acc_regs': 0.98145, 'acc_regs@dsp': 0.0, 'const': 3.13529, 'ctrl_regs': 1.18431, 'dot_regs': 0.80869, 'dot_regs@dsp': 0.0, 'dsp': 0.0, 'nf_regs': 0.56256, 'op_w@dsp': 0.08675, 'prod_regs': 1.07589, 'prod_regs2': 1.02327, 'prod_regs2@dsp': 0.0, 'prod_regs@dsp': 0.0, 'read_reg:bias_rom': 0.0, 'read_reg:bias_rom@dsp': 0.04499, 'read_reg:in_buf': 2.26973, 'read_reg:shift_rom': 0.0, 's1_in': 0.0, 'stage_flags': 0.0},
    },
    'mvu_thresh': {
        'lut': {'acc_add': 3.27849, 'acc_add@dsp': 1.14086, 'const': 107.50949, 'ctrl': 0.0, 'dsp': 0.0, 'in_mux': 0.0, 'lut_mult': 0.0, 'mem_mux': 0.0, 'rom_logic_bits': 0.0, 'thresh_cmp': 0.0, 'thresh_count': 0.0, 'tree_add': 1.98727, 'tree_add@dsp': 0.0},
        'ff': {'acc_regs': 1.05858, 'acc_regs@dsp': 0.40192, 'const': 0.0, 'ctrl_regs': 0.0, 'dot_regs': 0.99302, 'dot_regs@dsp': 0.0, 'dsp': 0.0, 'nf_regs': 5.58665, 'op_w@dsp': 0.0, 'prod_regs': 1.05712, 'prod_regs2': 0.90894, 'prod_regs@dsp': 0.0, 'read_reg:in_buf': 0.0, 'read_reg:thresh_rom': 0.09231, 's1_in': 0.0, 'stage_flags': 0.0},
    },
    'pool': {
        'lut': {'combine': 1.2694, 'const': 0.0, 'ctrl': 2.13445, 'mem_mux': 0.0, 'ram_logic_bits': 0.0, 'scale': 0.70733},
        'ff': {'const': 0.0, 'ctrl_regs': 2.54167, 's1_word': 0.57817},
    },
    'swu': {
        'lut': {'addr_bits': 0.0, 'const': 0.0, 'coords': 0.0, 'g_bits': 0.0, 'loops': 9.06578, 'mem_mux': 1.43308, 'word': 0.38144},
        'ff': {'addr_regs': 0.0, 'const': 0.0, 'g_regs': 0.0, 'loop_regs': 2.23996, 'read_reg:mem': 0.72012},
    },
    'xnor_mvu': {
        'lut': {'const': 38.86, 'count_add': 0.56935, 'ctrl': 0.0, 'in_mux': 0.91564, 'mem_mux': 0.0, 'popcount': 1.59253, 'rom_logic_bits': 0.01506, 'thresh_cmp': 1.05793},
        'ff': {'acc_regs': 0.64153, 'const': 18.75641, 'ctrl_regs': 1.07354, 'dot_regs': 1.08468, 'nf_regs': 0.0, 'read_reg:in_buf': 0.0, 'read_reg:thresh_rom': 0.21838, 's1_in': 1.57304, 'stage_flags': 0.0, 'thresh_regs': 0.16071},
    },
}
