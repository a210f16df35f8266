"""What every instruction kind and every ONNX lowering is built from.

An **instruction kind** (``linear``, ``affine``, ``relu``, ``gather``, ``max``;
docs/program.md) is one class of :class:`Kind` in the module of its op family.
It owns, in one place:

* the float-graph node the ONNX lowerings emit (``Node``, a frozen dataclass
  with ``inputs``, ``output`` and float parameters) and its float64 semantics
  (:meth:`Kind.run_float`, vectorised over a leading axis of samples);
* the integer instruction (``Instruction``, a frozen dataclass with tensor
  indices and integer constants), its validation against docs/program.md
  (:meth:`Kind.validate`) and its numpy reference semantics
  (:meth:`Kind.evaluate`), the Python half of "two evaluators agree bit for
  bit" (the Rust half is ``native/src/ops/<op>.rs``);
* the quantization rule (:meth:`Kind.quantize`: float node → instruction and
  the output's scale);
* the interval and error-bound rules (:meth:`Kind.intervals`,
  :meth:`Kind.errors`; the derivations are in each kind's docstring).

An **ONNX lowering** turns one ONNX node into float-graph nodes; it is
registered with :func:`lowering` under its op type and the range of op
versions it implements.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar, Protocol

import numpy as np

from zkml.errors import ModelError

# --- registries -------------------------------------------------------------


@dataclass(frozen=True)
class OpLowering:
    op_type: str
    first_version: int
    last_version: int
    lower: Callable
    kinds: tuple[str, ...]
    """The instruction kinds this lowering may emit."""
    cost: str
    """Constraints per output element, for `zkml ops` and docs/ops.md."""
    domain: str = ""


ONNX_OPS: dict[tuple[str, str], OpLowering] = {}
KINDS: dict[str, Kind] = {}


def lowering(op_type: str, first_version: int, last_version: int, kinds: tuple[str, ...],
             cost: str, domain: str = ""):
    """Register the decorated function as the lowering of ``op_type``."""

    def register(fn: Callable) -> Callable:
        key = (domain, op_type)
        if key in ONNX_OPS:
            raise RuntimeError(f"two lowerings for {op_type}")
        ONNX_OPS[key] = OpLowering(op_type, first_version, last_version, fn, kinds, cost, domain)
        return fn

    return register


def kind(cls):
    """Register an instruction kind (a :class:`Kind` subclass)."""
    instance = cls()
    if instance.op in KINDS:
        raise RuntimeError(f"two kinds named {instance.op}")
    KINDS[instance.op] = instance
    return cls


class Kind:
    """One instruction kind; see the module docstring. Subclasses set ``op``,
    ``Node``, ``Instruction`` and ``CONSTANTS`` (the instruction's fields that
    are constants, stored in constants.bin) and implement the methods."""

    op: ClassVar[str]
    Node: ClassVar[type]
    Instruction: ClassVar[type]
    CONSTANTS: ClassVar[tuple[str, ...]] = ()
    SCALARS: ClassVar[tuple[str, ...]] = ()

    def run_float(self, node, xs: list[np.ndarray], lead: tuple, out_shape: tuple) -> np.ndarray:
        raise NotImplementedError

    def intervals(self, node, ins: list[tuple], out_shape: tuple) -> tuple:
        raise NotImplementedError

    def quantize(self, node, q: QuantContext):
        """``(fields, f_out)``: the instruction's fields other than ``inputs`` and
        ``output``, and the output tensor's scale."""
        raise NotImplementedError

    def errors(self, node, instr, b: BoundContext) -> np.ndarray:
        raise NotImplementedError

    def validate(self, instr, program, where: str) -> None:
        raise NotImplementedError

    def evaluate(self, instr, xs: list[np.ndarray], program, lead: tuple) -> np.ndarray:
        raise NotImplementedError


def instruction_fields(cls) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


# --- contexts the quantizer and the bound pass hand to a kind -----------------


class QuantContext(Protocol):
    """What :meth:`Kind.quantize` may ask (implemented by the quantizer)."""

    bits: int

    def scale(self, name: str) -> int: ...

    def observed(self, name: str) -> float: ...

    def weight_frac(self, name: str, natural: int) -> int: ...


class BoundContext(Protocol):
    """What :meth:`Kind.errors` may ask (implemented by the bound pass)."""

    def interval(self, name: str) -> tuple: ...

    def error(self, name: str) -> np.ndarray: ...

    def scale(self, name: str) -> int: ...

    def bits(self, name: str) -> int: ...


# --- numbers ------------------------------------------------------------------

HEADROOM = 2.0
FLOAT_SLACK = 1.0 + 2.0**-30
BIAS_LIMIT = 2**63
INT64_SAFE = 2**62


def frac_bits(magnitude: float, bits: int) -> int:
    """The largest ``f`` with ``floor(m·2^f + 1/2) ≤ 2^(bits-1) - 1`` for every
    ``|m| ≤ magnitude`` (a magnitude of 0 is treated as 1)."""
    if not magnitude > 0 or not math.isfinite(magnitude):
        magnitude = 1.0
    limit = 2.0 ** (bits - 1) - 0.5  # m·2^f must stay below this
    f = math.floor(math.log2(limit / magnitude))
    while math.ldexp(magnitude, f) >= limit:
        f -= 1
    while math.ldexp(magnitude, f + 1) < limit:
        f += 1
    return f


def round_half_up(values: np.ndarray, f: int) -> np.ndarray:
    return np.floor(np.ldexp(np.asarray(values, dtype=np.float64), f) + 0.5)


def max_abs_elementwise(interval: tuple) -> np.ndarray:
    lo, hi = interval
    return np.maximum(np.abs(lo), np.abs(hi))


def max_abs(interval: tuple) -> float:
    return float(max_abs_elementwise(interval).max())


# --- the concatenated input X ---------------------------------------------------


def concat_flat(xs: list[np.ndarray], lead: tuple) -> np.ndarray:
    """The inputs flattened behind the ``lead`` axes and concatenated: ``X``."""
    return np.concatenate([np.asarray(x).reshape(lead + (-1,)) for x in xs], axis=-1)


def take(X: np.ndarray, index: np.ndarray, fill=0) -> np.ndarray:
    """``X[..., index]`` with ``fill`` where ``index`` is -1."""
    safe = np.where(index >= 0, index, 0)
    values = X[..., safe]
    if (index < 0).any():
        values = np.where(index >= 0, values, np.asarray(fill, dtype=values.dtype))
    return values


def input_offsets(shapes: list[tuple]) -> np.ndarray:
    """Where each input starts in X (and, last, ``|X|``)."""
    return np.concatenate([[0], np.cumsum([int(np.prod(s)) for s in shapes])]).astype(np.int64)


def source_of(index: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """For each entry of ``index`` the input it reads (-1 for no element)."""
    src = np.searchsorted(offsets, index, side="right") - 1
    return np.where(index >= 0, src, -1)


def broadcast_index(shape: tuple, out_shape: tuple, offset: int = 0) -> np.ndarray:
    """Flat indices (plus ``offset``) of the elements of a tensor of ``shape``
    that numpy broadcasting places at each element of ``out_shape``."""
    flat = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) + offset
    return np.broadcast_to(flat, out_shape).reshape(-1).copy()


def chunked(n_samples: int, per_sample: int, budget: int = 1 << 24):
    """Slices of the sample axis so that each holds at most ``budget`` numbers."""
    step = max(1, budget // max(per_sample, 1))
    for start in range(0, max(n_samples, 1), step):
        yield slice(start, min(start + step, n_samples))


def check_int_table(value, name: str, where: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "iu":
        raise ModelError(f"invalid program: {where}: constant '{name}' must hold integers")
    return array.astype(np.int64)


def node_label(node) -> str:
    return f"{type(node).__name__} -> '{node.output}'"


@dataclass(frozen=True, eq=False)
class NodeBase:
    inputs: tuple[str, ...]
    output: str
