"""The ONNX op set (float semantics). Importing this module registers every op
the ONNX frontend maps to; the modules are imported for that side effect."""
from . import (activation, conv, elementwise, linear, norm, pool, quantizers, shape,  # noqa: F401
               threshold_quant, trunc)
