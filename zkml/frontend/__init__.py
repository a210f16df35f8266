"""ONNX frontend: load a model and lower it to a float graph.

``load_model(path)`` returns a :class:`Graph` whose nodes are the float nodes
of :mod:`zkml.ops`' instruction kinds; see :mod:`.onnx_loader` for the steps
and :mod:`zkml.ops` for the op registry.
"""

from zkml.frontend.graph import Graph
from zkml.frontend.onnx_loader import load_model, lower_model

__all__ = ["Graph", "load_model", "lower_model"]
