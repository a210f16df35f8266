"""ONNX frontend: load a model and lower it to a small float graph.

``load_model(path)`` returns a :class:`Graph` of ``Linear``, ``Relu`` and
``Reshape`` nodes over statically shaped tensors; see :mod:`.onnx_loader` for
the steps and :mod:`.ops` for the op registry.
"""

from zkml.frontend.graph import Graph, Linear, Node, Relu, Reshape
from zkml.frontend.onnx_loader import load_model, lower_model
from zkml.frontend.ops import REGISTRY

__all__ = ["Graph", "Linear", "Node", "Relu", "Reshape", "load_model", "lower_model", "REGISTRY"]
