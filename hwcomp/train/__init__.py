"""Quantization-aware training in torch with straight-through estimators,
exported as QONNX (Quant / BipolarQuant nodes) for hwcomp's importer.

    from hwcomp.train import QuantAct, QuantLinear, finetune, export_qonnx

Needs torch (the `train` extra); the rest of hwcomp does not import this package.
"""
from .export import export_qonnx
from .finetune import accuracy, finetune
from .layers import QuantAct, QuantConv2d, QuantLinear, weight_scale
from .quantizers import QONNX_DOMAIN, bipolar_quant, int_range, quant, ternary_quant

__all__ = [
    "QONNX_DOMAIN", "QuantAct", "QuantConv2d", "QuantLinear", "accuracy", "bipolar_quant",
    "export_qonnx", "finetune", "int_range", "quant", "ternary_quant", "weight_scale",
]
