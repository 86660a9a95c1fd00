"""Fitted coefficients of the resource model (hw/resource_model.py), per block kind.

Written by benchmarks/resource_model.py --fit against Yosys `synth_xilinx -family xc7`; do not edit.
"""

FLOW = 'xc7'

COEFFICIENTS = {
}
