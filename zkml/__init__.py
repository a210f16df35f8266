"""zkml: prove that an ONNX model ran correctly (Groth16 over BN254).

    import zkml
    zkml.compile("model.onnx", "build", calibration="calibration.json")
    zkml.setup("build", dev=True)
    zkml.prove("build", "input.json", "out")
    assert zkml.verify("build", "out")
    zkml.export_verifier("build", "Verifier.sol")
"""

__version__ = "0.1.0"

from zkml.api import Prover, compile, export_verifier, prove, setup, verify
from zkml.errors import *  # noqa: F403
from zkml.errors import __all__ as _error_names
from zkml.poseidon import poseidon

__all__ = ["compile", "setup", "prove", "Prover", "verify", "export_verifier", "poseidon", "__version__", *_error_names]
