from .dtypes import BIPOLAR, FLOAT32, Bipolar, DType, Fixed, Float32, Int, bits_for_range
from .graph import Graph, Node, frozen_array
from .tensor import TensorType

__all__ = ["BIPOLAR", "FLOAT32", "Bipolar", "DType", "Fixed", "Float32", "Int", "bits_for_range",
           "Graph", "Node", "TensorType", "frozen_array"]
