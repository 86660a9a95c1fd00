"""Import every op module so that all ops are registered."""
from hwcomp.ops import dense, join, mvu, onnx_ops, quant, sparse_mvu, window  # noqa: F401
