"""Reference evaluator of the quantized program (docs/program.md), in numpy.

This is the Python half of the "two independent implementations agree bit for
bit" rule: the Rust gadgets compute the witness, this module computes the same
integers from the spec alone, vectorised over an optional leading axis of
samples.

Integers are int64. A ``linear`` instruction whose accumulator could reach
2^62 (bound computed from its weights, bias and the input width) is evaluated
with Python ints (``object`` arrays) instead, so nothing overflows silently.
"""

from __future__ import annotations

import numpy as np

from zkml.errors import InputShapeError, QuantizationError
from zkml.program import accumulator_bound, tensor_range, validate

_INT64_SAFE = 2**62


def evaluate(program: dict, inputs_int: list) -> list[np.ndarray]:
    """The program's outputs (``outputs`` order) for quantized inputs."""
    values = evaluate_all(program, inputs_int)
    return [values[entry["tensor"]] for entry in program["outputs"]]


def evaluate_all(program: dict, inputs_int: list) -> list[np.ndarray]:
    """Every tensor of the program (indexed like ``program["tensors"]``).

    Each input has its tensor's shape, or one extra leading axis of samples
    (the same for all inputs); results carry the same leading axis.
    """
    validate(program)
    tensors = program["tensors"]
    specs = program["inputs"]
    if len(inputs_int) != len(specs):
        raise InputShapeError(f"the program takes {len(specs)} input(s), got {len(inputs_int)}")
    values: list = [None] * len(tensors)
    lead = None
    for spec, value in zip(specs, inputs_int):
        tensor = tensors[spec["tensor"]]
        what = f"input '{spec['name']}'"
        array = np.asarray(value)
        if array.dtype.kind not in "iuO":
            raise QuantizationError(f"{what} must hold integers (quantize it first), "
                                    f"got {array.dtype}")
        this_lead = _leading_axes(array.shape, tuple(tensor["shape"]), what)
        if lead is not None and this_lead != lead:
            raise InputShapeError(f"{what}: sample axis {list(this_lead)} differs from the first "
                                  f"input's {list(lead)}")
        lead = this_lead
        _check_range(array, tensor, what)
        values[spec["tensor"]] = array.astype(np.int64)
    lead = lead or ()

    for index, instr in enumerate(program["instructions"]):
        x = values[instr["input"]]
        out = tensors[instr["output"]]
        op = instr["op"]
        if op == "linear":
            y = _linear(instr, x, tensors[instr["input"]]["bits"])
        elif op == "relu":
            y = np.maximum(x, 0)
        else:  # reshape: validate() admits no other op
            y = x.reshape(lead + tuple(out["shape"]))
        what = f"tensor {instr['output']} ('{out['name']}') written by instruction {index} ({op})"
        _check_range(y, out, what)
        values[instr["output"]] = y.astype(np.int64)
    return values


def _leading_axes(got: tuple, want: tuple, what: str) -> tuple:
    if got == want:
        return ()
    if len(got) == len(want) + 1 and got[1:] == want:
        return got[:1]
    raise InputShapeError(f"{what}: expected shape {list(want)} or [samples, ...{list(want)}], "
                          f"got {list(got)}")


def _linear(instr: dict, x: np.ndarray, bits_in: int) -> np.ndarray:
    """``floor((x @ W^T + b) / 2^shift)``, floor toward minus infinity."""
    weight = np.array(instr["weight"], dtype=np.int64)
    bias = np.array(instr["bias"], dtype=np.int64)
    shift = instr["shift"]
    if accumulator_bound(weight, bias, bits_in) < _INT64_SAFE:
        acc = x @ weight.T + bias
        # An arithmetic right shift is floor division by 2^shift; |acc| < 2^62,
        # so shifting by 63 already gives the floor (0 or -1) of any larger shift.
        return acc >> min(shift, 63)
    acc = x.astype(object) @ weight.T.astype(object) + bias.astype(object)
    return acc // (1 << shift)


def _check_range(values: np.ndarray, tensor: dict, what: str) -> None:
    lo, hi = tensor_range(tensor)
    outside = (values < lo) | (values > hi)
    if np.any(outside):
        at = np.unravel_index(int(np.argmax(outside)), values.shape)
        raise QuantizationError(
            f"{what}: value {values[at]} at index {[int(i) for i in at]} is outside "
            f"[{lo}, {hi}] ({tensor['bits']} bits)")
