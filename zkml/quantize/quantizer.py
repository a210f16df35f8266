"""Float graph → quantized program (docs/program.md), plus a report.

Scales are powers of two, one per tensor, written as ``f`` fractional bits
(``q`` stands for ``q·2^-f``); every tensor is ``bits`` wide.

* A model input: ``f`` is the largest whose range holds the calibration
  ``max|x|`` (without calibration data: ``|x| ≤ 1`` is assumed, and the report
  says so).
* A linear layer: weights get the largest ``f_w`` for which ``max|w|`` rounds
  into ``bits`` signed bits. The output gets the largest ``f_out`` whose range
  holds twice the calibration ``max|y|`` (2× headroom; without calibration, twice
  the certified bound on ``|y|`` over the assumed input box), capped at
  ``f_in + f_w`` so that ``shift = f_in + f_w - f_out ≥ 0``. The bias is rounded
  at scale ``f_in + f_w`` and, when ``shift > 0``, gets ``2^(shift-1)`` added so
  that the program's floor rounds to nearest. If the bias would not fit in
  signed 64 bits, ``f_w`` is lowered until it does.
* Relu and reshape outputs keep their input's scale.

The report (for ``settings.json``) gives every tensor's scale and width, the
calibration range, the certified worst-case error of each output for inputs in
the calibration box (:mod:`zkml.quantize.bounds`), and, when calibration data
is given, the measured error of the program against the float graph on it.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from zkml.errors import InputShapeError, QuantizationError
from zkml.frontend.graph import Graph, Linear, Relu, Reshape
from zkml.program import FORMAT, VERSION, dequantize, quantize_inputs, validate
from zkml.quantize.bounds import error_bounds, max_abs, max_abs_elementwise, value_intervals

MIN_BITS, MAX_BITS = 4, 32
HEADROOM = 2.0
ASSUMED_INPUT_BOX = (-1.0, 1.0)
_BIAS_LIMIT = 2**63


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


def _round_half_up(values: np.ndarray, f: int) -> np.ndarray:
    return np.floor(np.ldexp(values, f) + 0.5)


def _calibration_samples(graph: Graph, calibration) -> list[np.ndarray]:
    if len(calibration) != len(graph.inputs):
        raise InputShapeError(f"calibration has {len(calibration)} input(s); the model takes "
                              f"{len(graph.inputs)}")
    samples = []
    for name, value in zip(graph.inputs, calibration):
        array = np.asarray(value, dtype=np.float64)
        shape = graph.shape(name)
        if array.shape == shape:
            array = array[None]
        if array.shape[1:] != shape or array.shape[0] == 0:
            raise InputShapeError(f"calibration for input '{name}': expected shape "
                                  f"[samples, {', '.join(map(str, shape))}], "
                                  f"got {list(array.shape)}")
        if not np.isfinite(array).all():
            raise QuantizationError(f"calibration for input '{name}' has non-finite values")
        samples.append(array)
    if len({a.shape[0] for a in samples}) > 1:
        raise InputShapeError("calibration inputs have different numbers of samples")
    return samples


def _round_bias(bias: np.ndarray, f: int) -> list[int]:
    """``floor(b·2^f + 1/2)`` exactly, as Python ints (biases are short)."""
    step = Fraction(2) ** f
    return [math.floor(Fraction(b) * step + Fraction(1, 2)) for b in bias.tolist()]


def _linear_instruction(node: Linear, f_in: int, y_magnitude: float, bits: int):
    """Integer weights, bias, shift and the output scale of one linear layer."""
    f_w = frac_bits(float(np.abs(node.weight).max()), bits)
    f_out_wanted = frac_bits(HEADROOM * y_magnitude, bits)
    while True:
        f_out = min(f_out_wanted, f_in + f_w)
        shift = f_in + f_w - f_out
        rounding = (1 << (shift - 1)) if shift > 0 else 0
        bias = [b + rounding for b in _round_bias(node.bias, f_in + f_w)]
        if all(-_BIAS_LIMIT <= b < _BIAS_LIMIT for b in bias):
            break
        f_w -= 1  # coarser weights shrink the bias scale f_in + f_w
    weight = _round_half_up(node.weight, f_w).astype(np.int64)
    return {"weight": weight.tolist(), "bias": bias, "shift": shift}, f_out


def quantize(graph: Graph, calibration: list | None = None, bits: int = 16) -> tuple[dict, dict]:
    """Quantize ``graph`` to a program of ``bits``-wide tensors.

    ``calibration``: one array per model input, ``[samples, *shape]`` (or the
    input's shape for one sample). Returns ``(program, report)``.
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or not MIN_BITS <= bits <= MAX_BITS:
        raise QuantizationError(f"bits must be an integer in {MIN_BITS}..{MAX_BITS}, got {bits!r}")
    samples = None if calibration is None else _calibration_samples(graph, calibration)
    values = graph.run(samples) if samples is not None else None

    if samples is not None:
        box = {n: (float(a.min()), float(a.max())) for n, a in zip(graph.inputs, samples)}
    else:
        box = {n: ASSUMED_INPUT_BOX for n in graph.inputs}
    intervals = value_intervals(graph, box)

    def observed(name: str) -> float:
        if values is not None:
            return float(np.abs(values[name]).max())
        return max_abs(intervals[name])

    scales = {n: frac_bits(max(abs(lo), abs(hi)), bits) for n, (lo, hi) in box.items()}
    instructions = []
    index = {name: i for i, name in enumerate(graph.tensors)}
    for node in graph.nodes:
        step = {"input": index[node.input], "output": index[node.output]}
        if isinstance(node, Linear):
            fields, scales[node.output] = _linear_instruction(
                node, scales[node.input], observed(node.output), bits)
            instructions.append({"op": "linear", **step, **fields})
        elif isinstance(node, (Relu, Reshape)):
            scales[node.output] = scales[node.input]
            instructions.append({"op": "relu" if isinstance(node, Relu) else "reshape", **step})

    program = {
        "format": FORMAT,
        "version": VERSION,
        "name": graph.name,
        "tensors": [{"name": name, "shape": list(shape), "scale": scales[name], "bits": bits}
                    for name, shape in graph.tensors.items()],
        "inputs": [{"name": n, "tensor": index[n]} for n in graph.inputs],
        "outputs": [{"name": n, "tensor": index[n]} for n in graph.outputs],
        "instructions": instructions,
    }
    validate(program)
    report = _report(graph, program, box, samples, values, intervals)
    return program, report


def _report(graph, program, box, samples, values, intervals) -> dict:
    errors = error_bounds(graph, program, intervals)
    tensors = []
    for tensor in program["tensors"]:
        name = tensor["name"]
        certified = float((max_abs_elementwise(intervals[name]) + errors[name]).max())
        largest = (2 ** (tensor["bits"] - 1) - 1) * 2.0 ** -tensor["scale"]
        tensors.append({
            "name": name,
            "scale": tensor["scale"],
            "bits": tensor["bits"],
            "calibration_max_abs": None if values is None else float(np.abs(values[name]).max()),
            "certified_max_abs": certified,
            "range_certified": certified <= largest,
        })
    measured = _measured_errors(graph, program, samples, values) if samples is not None else {}
    outputs = {name: {"error_bound": float(errors[name].max()),
                      "measured_max_abs_error": measured.get(name)}
               for name in graph.outputs}
    notes = []
    if samples is None:
        notes.append("no calibration data: inputs are assumed to lie in [-1, 1]; scales come "
                     "from certified bounds over that box")
    notes.append("error_bound is certified for inputs inside the calibration box "
                 "(every element of an input within that input's calibration [min, max])")
    if not all(t["range_certified"] for t in tensors):
        notes.append("some tensors (range_certified false) may leave their range for inputs in "
                     "the box; such an inference fails with a quantization error, never wraps")
    return {
        "bits": program["tensors"][0]["bits"],
        "headroom": HEADROOM,
        "calibration": {
            "samples": 0 if samples is None else int(samples[0].shape[0]),
            "assumed": samples is None,
            "inputs": {name: {"min": lo, "max": hi} for name, (lo, hi) in box.items()},
        },
        "tensors": tensors,
        "outputs": outputs,
        "notes": notes,
    }


def _measured_errors(graph, program, samples, values) -> dict[str, float]:
    from zkml.reference import evaluate  # the reference imports program, not us

    outputs = evaluate(program, quantize_inputs(program, samples))
    measured = {}
    for entry, ints in zip(program["outputs"], outputs):
        approx = dequantize(program, entry["tensor"], ints)
        measured[entry["name"]] = float(np.abs(approx - values[entry["name"]]).max())
    return measured
