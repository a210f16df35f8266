"""Where a model's outputs sit in the public signals, and how a contract (or
anyone holding the signals) reads them back: the Python twin of
``contracts/ZkmlOutputs.sol``.

Each public tensor (the inputs, then the outputs) starts on a fresh signal;
with b its bit width, k = floor(252 / b) values share a signal, value j at bits
[j*b, (j+1)*b) as q + 2^(b-1) (docs/program.md). :func:`unpack` is written with
plain integers, word by word as the Solidity library does, independently of
``zkml.program.unpack_public`` (numpy, bit arrays); the tests hold them to the
same answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import ceil

from zkml.errors import ProofFormatError

PACK_BITS = 252


@dataclass(frozen=True)
class OutputLayout:
    """The arguments of ``ZkmlOutputs.unpack`` for one model output."""

    name: str
    first_signal: int
    count: int
    bits: int
    scale: int
    """Real value = q * 2^-scale."""
    shape: tuple

    @property
    def n_signals(self) -> int:
        return ceil(self.count / (PACK_BITS // self.bits))


def output_layout(program) -> list[OutputLayout]:
    """Each public output of ``program`` (a :class:`zkml.program.Program`): its
    first signal, value count, bit width and scale."""
    from zkml.program import signal_count

    cursor = 0
    layouts = []
    for kind, entries in (("input", program.inputs), ("output", program.outputs)):
        for entry in entries:
            tensor = program.tensors[entry.tensor]
            count = int(tensor.size)
            if kind == "output" and entry.visibility == "public":  # a hashed or private output has no values to read
                layouts.append(OutputLayout(entry.name, cursor, count, int(tensor.bits), int(tensor.scale),
                                            tuple(tensor.shape)))
            cursor += signal_count(entry, tensor)
    return layouts


def unpack(signals: Sequence[int], first: int, count: int, bits: int) -> list[int]:
    """The ``count`` signed values packed from ``signals[first]`` on, ``bits`` wide."""
    if not 2 <= bits <= 64:
        raise ProofFormatError(f"bit width {bits} is outside 2..64")
    per_signal = PACK_BITS // bits
    n_signals = ceil(count / per_signal)
    if first < 0 or first + n_signals > len(signals):
        raise ProofFormatError(f"{count} values from signal {first} need {n_signals} signals; "
                               f"there are {len(signals)}")
    mask, offset = (1 << bits) - 1, 1 << (bits - 1)
    values: list[int] = []
    for s in range(n_signals):
        word = int(signals[first + s])
        held = min(per_signal, count - s * per_signal)
        if word >> (held * bits):
            raise ProofFormatError(f"public signal {first + s} holds bits above its {held} packed values")
        values.extend(((word >> (j * bits)) & mask) - offset for j in range(held))
    return values


def decode_outputs(program, signals: Sequence[int]) -> dict[str, tuple]:
    """``{name: (quantized values, scale)}`` for every output of ``program``."""
    return {
        layout.name: (unpack(signals, layout.first_signal, layout.count, layout.bits), layout.scale)
        for layout in output_layout(program)
    }


def real_value(q: int, scale: int) -> Fraction:
    """q * 2^-scale, exactly."""
    return Fraction(q, 1 << scale) if scale >= 0 else Fraction(q * (1 << -scale))


LIBRARY_FILE = "ZkmlOutputs.sol"


def library_source() -> str:
    """The Solidity source of ``library ZkmlOutputs`` (package data; ``contracts/`` links to it)."""
    from zkml.resources import data_file

    return data_file(LIBRARY_FILE).read_text(encoding="utf-8")
