"""zkml: prove that an ONNX model ran correctly (Groth16 over BN254)."""

from zkml.errors import *  # noqa: F401,F403
from zkml.errors import __all__ as _error_names

__version__ = "0.1.0"
__all__ = list(_error_names) + ["__version__"]
