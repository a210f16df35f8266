"""The one exception hierarchy of zkml.

Every error a user can cause or meet is a :class:`ZkmlError`. The CLI prints
``error: <message>`` on one line and exits with status 2 for any of them.
The native extension raises these same classes (it imports this module), and a
Rust panic arrives as :class:`InternalError`, never as a crash.
"""

from __future__ import annotations


class ZkmlError(Exception):
    """Base class of every error zkml raises on purpose."""

    exit_code = 2


class InputFileError(ZkmlError):
    """A file is missing, unreadable, or not in the format we expect."""

    def __init__(self, message: str, path: object = None):
        super().__init__(message)
        self.path = None if path is None else str(path)


class ModelError(ZkmlError):
    """The ONNX model is malformed or uses something zkml cannot compile."""


class UnsupportedOpError(ModelError):
    """An ONNX node whose op (at this opset) has no lowering."""

    def __init__(self, node: str, op_type: str, opset: int, detail: str = ""):
        message = f"unsupported op: node '{node}' is {op_type} (opset {opset})"
        if detail:
            message += f": {detail}"
        super().__init__(message)
        self.node = node
        self.op_type = op_type
        self.opset = opset


class QuantizationError(ZkmlError):
    """A value cannot be represented in the circuit's fixed-point range."""


class InputShapeError(ZkmlError):
    """An input has the wrong number of tensors, shape or element count."""


class CircuitMismatchError(ZkmlError):
    """Artifacts (circuit, keys, proof) belong to different circuits or versions."""


class WitnessError(ZkmlError):
    """The witness does not satisfy the circuit (a bug, or a value out of range)."""


class ProofFormatError(InputFileError):
    """A proof, public-input or key file is malformed (bad point, field element, length)."""


class EvmError(ZkmlError):
    """Compiling, deploying or calling the Solidity verifier failed."""


class ToolMissingError(ZkmlError):
    """An external tool (node, solc package, snarkjs) is not installed."""


class DeviceError(ZkmlError):
    """The GPU was asked for and cannot be used, or failed (out of memory, lost
    context, a kernel that did not compile or failed its self-check)."""


class InternalError(ZkmlError):
    """A bug in zkml (for example a panic in the native code). Please report it."""


__all__ = [
    "ZkmlError",
    "InputFileError",
    "ModelError",
    "UnsupportedOpError",
    "QuantizationError",
    "InputShapeError",
    "CircuitMismatchError",
    "WitnessError",
    "ProofFormatError",
    "EvmError",
    "ToolMissingError",
    "DeviceError",
    "InternalError",
]
