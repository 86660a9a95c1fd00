"""Import every op module so that all ops are registered."""
from hwcomp.ops import dense, join, mvu, onnx_ops, quant, window  # noqa: F401
