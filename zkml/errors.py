"""The one exception hierarchy of zkml.

Every error a user can cause or meet is a :class:`ZkmlError`. The CLI prints
``error: <message>`` on one line and exits with status 2 for any of them.
The native extension raises these same classes (it imports this module), and a
Rust panic arrives as :class:`InternalError`, never as a crash.
"""

from __future__ import annotations


class ZkmlError(Exception):
    """Base class of every error zkml raises on purpose.

    Besides its message, every error has a ``kind`` (a short, stable name of its
    class, e.g. ``"witness"``) and ``details``: the structured facts behind the
    message (a file's ``path``; a failing constraint's ``row`` and ``region``
    with the ``instruction``, ``op`` and ``tensor`` (or program ``input``) it
    belongs to; an I/O failure's ``context`` and ``os_error``; an unsupported
    node's ``node``, ``op_type`` and ``opset``...), so programs need not parse
    the text.
    """

    exit_code = 2
    kind = "error"

    def __init__(self, message: str = "", *args: object, details: dict | None = None):
        super().__init__(message, *args)
        self.details: dict = dict(details or {})


class InputFileError(ZkmlError):
    """A file is missing, unreadable, or not in the format we expect."""

    kind = "input_file"

    def __init__(self, message: str, path: object = None, details: dict | None = None):
        super().__init__(message, details=details)
        self.path = None if path is None else str(path)
        if self.path is not None:
            self.details.setdefault("path", self.path)


class ModelError(ZkmlError):
    """The ONNX model is malformed or uses something zkml cannot compile."""

    kind = "model"


class UnsupportedOpError(ModelError):
    """An ONNX node whose op (at this opset) has no lowering."""

    kind = "unsupported_op"

    def __init__(self, node: str, op_type: str, opset: int, detail: str = ""):
        message = f"unsupported op: node '{node}' is {op_type} (opset {opset})"
        if detail:
            message += f": {detail}"
        super().__init__(message, details={"node": node, "op_type": op_type, "opset": opset})
        self.node = node
        self.op_type = op_type
        self.opset = opset
        self.all = [self]

    @classmethod
    def many(cls, errors: list[UnsupportedOpError]) -> UnsupportedOpError:
        """One error reporting every unsupported node (one line each)."""
        if len(errors) == 1:
            return errors[0]
        first = errors[0]
        combined = cls(first.node, first.op_type, first.opset)
        lines = [str(e).removeprefix("unsupported op: ") for e in errors]
        combined.args = (f"{len(errors)} unsupported nodes:\n  " + "\n  ".join(lines),)
        combined.details = {"nodes": [e.details for e in errors], **first.details}
        combined.all = list(errors)
        return combined


class QuantizationError(ZkmlError):
    """A value cannot be represented in the circuit's fixed-point range."""

    kind = "quantization"


class InputShapeError(ZkmlError):
    """An input has the wrong number of tensors, shape or element count."""

    kind = "input_shape"


class CircuitMismatchError(ZkmlError):
    """Artifacts (circuit, keys, proof) belong to different circuits or versions."""

    kind = "circuit_mismatch"


class WitnessError(ZkmlError):
    """The witness does not satisfy the circuit (a bug, or a value out of range)."""

    kind = "witness"


class ProofFormatError(InputFileError):
    """A proof, public-input or key file is malformed (bad point, field element, length)."""

    kind = "proof_format"


class EvmError(ZkmlError):
    """Compiling, deploying or calling the Solidity verifier failed."""

    kind = "evm"


class ToolMissingError(ZkmlError):
    """An external tool (node, solc package, snarkjs) is not installed."""

    kind = "tool_missing"


class DeviceError(ZkmlError):
    """The GPU was asked for and cannot be used, or failed (out of memory, lost
    context, a kernel that did not compile or failed its self-check)."""

    kind = "device"


class MemoryLimitError(ZkmlError):
    """The work would need more memory than this machine has (its floor, what
    it must hold at once, is over the machine's RAM and swap): refused before
    it starts, rather than killed by the system halfway."""

    kind = "memory"


class ArgumentError(ZkmlError):
    """A Python API argument of the wrong type or value (a model that is neither
    a path, an ``onnx.ModelProto`` nor a ``torch.nn.Module``; inputs that are
    not arrays...). The CLI never raises it: its options are checked by click."""

    kind = "argument"


class CeremonyError(ZkmlError):
    """A powers-of-tau or phase-2 file or step is wrong: the message says which and where."""

    kind = "ceremony"


class InternalError(ZkmlError):
    """A bug in zkml (for example a panic in the native code). Please report it."""

    kind = "internal"


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
    "MemoryLimitError",
    "ArgumentError",
    "InternalError",
]
