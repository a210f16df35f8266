"""Reference evaluator of the quantized program (docs/program.md), in numpy.

This is the Python half of the "two independent implementations agree bit for
bit" rule: the Rust gadgets compute the witness, this module computes the same
integers from the spec alone, vectorised over an optional leading axis of
samples.

Integers are int64. Each instruction kind's ``evaluate`` (in :mod:`zkml.ops`)
is its reference semantics; a weighted sum whose accumulator could reach 2^62
(bound computed from its weights, bias and the input widths) is evaluated with
Python ints (``object`` arrays) instead, so nothing overflows silently.
"""

from __future__ import annotations

import numpy as np

from zkml.errors import InputShapeError, QuantizationError
from zkml.program import Program, validate


def evaluate(program: Program, inputs_int: list) -> list[np.ndarray]:
    """The program's outputs (``outputs`` order) for quantized inputs."""
    values = evaluate_all(program, inputs_int)
    return [values[entry.tensor] for entry in program.outputs]


def evaluate_all(program: Program, inputs_int: list) -> list[np.ndarray]:
    """Every tensor of the program (indexed like ``program.tensors``).

    Each input has its tensor's shape, or one extra leading axis of samples
    (the same for all inputs); results carry the same leading axis.
    """
    from zkml.ops import KINDS

    validate(program)
    tensors = program.tensors
    specs = program.inputs
    if len(inputs_int) != len(specs):
        raise InputShapeError(f"the program takes {len(specs)} input(s), got {len(inputs_int)}")
    values: list = [None] * len(tensors)
    lead = None
    for spec, value in zip(specs, inputs_int):
        tensor = tensors[spec.tensor]
        what = f"input '{spec.name}'"
        array = np.asarray(value)
        if array.dtype.kind not in "iuO":
            raise QuantizationError(f"{what} must hold integers (quantize it first), "
                                    f"got {array.dtype}")
        this_lead = _leading_axes(array.shape, tensor.shape, what)
        if lead is not None and this_lead != lead:
            raise InputShapeError(f"{what}: sample axis {list(this_lead)} differs from the first "
                                  f"input's {list(lead)}")
        lead = this_lead
        _check_range(array, tensor, what)
        values[spec.tensor] = array.astype(np.int64)
    lead = lead or ()

    for index, instr in enumerate(program.instructions):
        xs = [values[i] for i in instr.inputs]
        out = tensors[instr.output]
        y = np.asarray(KINDS[instr.op].evaluate(instr, xs, program, lead))
        y = y.reshape(lead + out.shape)
        what = f"tensor {instr.output} ('{out.name}') written by instruction {index} ({instr.op})"
        _check_range(y, out, what)
        values[instr.output] = y.astype(np.int64)
    return values


def _leading_axes(got: tuple, want: tuple, what: str) -> tuple:
    if got == want:
        return ()
    if len(got) == len(want) + 1 and got[1:] == want:
        return got[:1]
    raise InputShapeError(f"{what}: expected shape {list(want)} or [samples, ...{list(want)}], "
                          f"got {list(got)}")


def _check_range(values: np.ndarray, tensor, what: str) -> None:
    lo, hi = tensor.range
    outside = (values < lo) | (values > hi)
    if np.any(outside):
        at = np.unravel_index(int(np.argmax(outside)), values.shape)
        raise QuantizationError(
            f"{what}: value {values[at]} at index {[int(i) for i in at]} is outside "
            f"[{lo}, {hi}] ({tensor.bits} bits)")
