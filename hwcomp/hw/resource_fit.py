"""Fitted coefficients of the resource model (hw/resource_model.py), per block kind.

Written by benchmarks/resource_model.py --fit against Yosys `synth_xilinx -family xc7`; do not edit.
"""

FLOW = 'xc7'

COEFFICIENTS = {
    'add': {
        'lut': {'const': 4.06399, 'scale': 0.0, 'sum': 1.73739},
        'ff': {'const': 0.0, 's1_sum': 0.90644},
    },
    'concat': {
        'lut': {'beat': 3.35541, 'const': 0.0, 'select': 1.01481},
        'ff': {'beat_regs': 0.0, 'const': 0.0},
    },
    'dwc': {
        'lut': {'beats': 0.0, 'const': 0.0, 'count': 0.0, 'decode': 2.14961, 'landing': 0.4215, 'landing_wide': 0.0, 'out_mask': 0.0, 'shift_full': 2.22696, 'shift_tail': 1.75402, 'store': 0.0},
        'ff': {'const': 0.71915, 'count_regs': 0.36814, 'store_regs': 0.99531},
    },
    'fifo': {
        'lut': {'const': 0.0, 'mem_mux': 0.98922, 'out_reg': 0.0, 'ptr_bits': 1.48344},
        'ff': {'const': 3.19237, 'ptr_regs': 1.10958, 'read_reg:mem': 0.8817},
    },
    'fork': {
        'lut': {'const': 0.0},
        'ff': {'const': 0.0},
    },
    'mvu': {
        'lut': {'acc_add': 1.57946, 'acc_add@dsp': 0.0, 'const': 31.09984, 'ctrl': 0.0, 'dsp': 0.0, 'in_mux': 0.98976, 'lut_mult': 1.0883, 'mem_mux': 0.0, 'out_bits': 0.0, 'relu': 0.19786, 'requant': 0.77208, 'rom_logic_bits': 0.06473, 'row_shift': 0.04651, 'tree_add': 1.07253, 'tree_add@dsp': 0.50453},
        'ff': {'acc_regs': 0.93832, 'acc_regs@dsp': 0.0, 'const': 0.0, 'ctrl_regs': 0.83981, 'dot_regs': 0.67057, 'dot_regs@dsp': 0.0, 'dsp': 0.0, 'nf_regs': 2.05622, 'op_w@dsp': 0.0, 'prod_regs': 1.06941, 'prod_regs2': 1.0156, 'prod_regs2@dsp': 0.0, 'prod_regs@dsp': 0.09485, 'read_reg:bias_rom': 0.0, 'read_reg:bias_rom@dsp': 0.11838, 'read_reg:in_buf': 1.53077, 'read_reg:shift_rom': 0.0, 's1_in': 0.91108, 'stage_flags': 0.0},
    },
    'mvu_thresh': {
        'lut': {'acc_add': 3.25305, 'acc_add@dsp': 1.09994, 'const': 108.32197, 'ctrl': 0.0, 'dsp': 0.57339, 'in_mux': 0.0, 'lut_mult': 0.0, 'mem_mux': 0.0, 'rom_logic_bits': 0.0, 'thresh_cmp': 0.0, 'thresh_count': 0.0, 'tree_add': 1.97267, 'tree_add@dsp': 0.0},
        'ff': {'acc_regs': 0.84893, 'acc_regs@dsp': 0.0, 'const': 0.0, 'ctrl_regs': 0.0, 'dot_regs': 0.92457, 'dot_regs@dsp': 0.26113, 'dsp': 0.0, 'nf_regs': 5.53733, 'op_w@dsp': 0.0, 'prod_regs': 1.05602, 'prod_regs2': 0.91479, 'prod_regs@dsp': 0.0, 'read_reg:in_buf': 0.0, 'read_reg:thresh_rom': 0.20102, 's1_in': 0.0, 'stage_flags': 0.0},
    },
    'pool': {
        'lut': {'combine': 1.26939, 'const': 0.0, 'ctrl': 2.13423, 'mem_mux': 0.0, 'ram_logic_bits': 0.0, 'scale': 0.70734},
        'ff': {'const': 0.0, 'ctrl_regs': 2.54167, 's1_word': 0.57817},
    },
    'swu': {
        'lut': {'addr_bits': 0.0, 'const': 0.0, 'coords': 0.0, 'g_bits': 0.0, 'loops': 9.06569, 'mem_mux': 1.43308, 'word': 0.38144},
        'ff': {'addr_regs': 0.0, 'const': 0.0, 'g_regs': 0.0, 'loop_regs': 2.23996, 'read_reg:mem': 0.72012},
    },
    'xnor_mvu': {
        'lut': {'const': 23.63711, 'count_add': 0.4347, 'ctrl': 0.70938, 'in_mux': 0.36562, 'mem_mux': 0.0, 'popcount': 2.28296, 'rom_logic_bits': 0.00382, 'thresh_cmp': 1.04162},
        'ff': {'acc_regs': 0.77634, 'const': 25.06704, 'ctrl_regs': 0.75092, 'dot_regs': 0.64462, 'nf_regs': 0.03317, 'read_reg:in_buf': 0.0, 'read_reg:thresh_rom': 1.72246, 's1_in': 1.39875, 'stage_flags': 1.58165, 'thresh_regs': 0.11166},
    },
}
