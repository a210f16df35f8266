"""Float graph → quantized program (docs/program.md), plus a report.

Scales are powers of two, one per tensor, written as ``f`` fractional bits
(``q`` stands for ``q·2^-f``); every tensor is ``bits`` wide.

* A model input: ``f`` is the largest whose range holds the calibration
  ``max|x|`` (without calibration data: ``|x| ≤ 1`` is assumed, and the report
  says so).
* Every other tensor: its instruction kind's rule (``quantize`` in
  :mod:`zkml.ops`; each kind's module documents it). Outputs of weighted sums
  get the largest scale whose range holds twice the calibration ``max|y|``
  (2× headroom; without calibration, twice the certified bound over the
  assumed input box).
* Kinds whose inputs must share one scale (``gather``, ``max``) get it: an
  input finer than the coarsest is first rescaled by an ``affine`` with weight
  1 (a rounding shift), inserted here.

The report (for ``settings.json``) gives every tensor's scale and width, the
calibration range, the certified worst-case error of each output for inputs in
the calibration box (:mod:`zkml.quantize.bounds`), and, when calibration data
is given, the measured error of the program against the float graph on it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from zkml.errors import InputShapeError, QuantizationError
from zkml.frontend.graph import Graph
from zkml.ops import kind_of
from zkml.ops.affine import AffineInstruction, AffineNode
from zkml.ops.base import HEADROOM, frac_bits, max_abs
from zkml.program import Io, Program, Tensor, dequantize, quantize_inputs, validate
from zkml.quantize.bounds import error_bounds, max_abs_elementwise, value_intervals

MIN_BITS, MAX_BITS = 4, 32
ASSUMED_INPUT_BOX = (-1.0, 1.0)

__all__ = ["quantize", "frac_bits", "HEADROOM", "MIN_BITS", "MAX_BITS"]


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


class _State:
    """The quantizer's side of :class:`zkml.ops.base.QuantContext`."""

    def __init__(self, graph: Graph, bits: int, magnitude, intervals):
        self.graph = graph
        self.intervals = dict(intervals)
        self.bits = bits
        self._magnitude = magnitude
        self.scales: dict[str, int] = {}
        self.shapes: dict[str, tuple] = dict(graph.tensors)
        self.observed_override: dict[str, float] = {}
        # A template program's scales (recompiling a retrained model into a
        # build with committed weights): tensor name -> scale, and a linear
        # output's name -> its weights' fractional bits.
        self.pinned_scales: dict[str, int] = {}
        self.pinned_weight_frac: dict[str, int] = {}
        # Bits of headroom left above the largest weight (committed weights:
        # a retrained model's weights may then grow 2^k-fold and keep the scale).
        self.weight_headroom = 0
        self.tensors: list[Tensor] = []
        self.index: dict[str, int] = {}
        self.nodes: list = []
        self.instructions: list = []

    def scale(self, name: str) -> int:
        return self.scales[name]

    def shape(self, name: str) -> tuple:
        return self.shapes[name]

    def input_range(self, name: str) -> tuple[float, float]:
        """The certified range of a tensor's values over the input box."""
        lo, hi = self.intervals[name]
        return float(np.min(lo)), float(np.max(hi))

    def observed(self, name: str) -> float:
        if name in self.pinned_scales:
            # The magnitude whose headroomed scale is the pinned one: the
            # largest f with HEADROOM * m * 2^f below 2^(bits-1) - 1/2.
            limit = 2.0 ** (self.bits - 1) - 0.5
            return 0.75 * limit / 2.0 ** self.pinned_scales[name] / HEADROOM
        if name in self.observed_override:
            return self.observed_override[name]
        return self._magnitude(name)

    def weight_frac(self, name: str, natural: int) -> int:
        """The fractional bits of the weights producing ``name``: the template's
        where they hold the new weights (not finer than ``natural``), else ``natural``."""
        pinned = self.pinned_weight_frac.get(name)
        return pinned if pinned is not None and pinned <= natural else natural - self.weight_headroom

    def pin(self, template: Program) -> None:
        """Reuse ``template``'s scales wherever the new model allows."""
        self.pinned_scales = {t.name: t.scale for t in template.tensors}
        for instr in template.instructions:
            if instr.op == "linear":
                f_in = template.tensors[instr.inputs[0]].scale
                f_out = template.tensors[instr.output].scale
                self.pinned_weight_frac[template.tensors[instr.output].name] = instr.shift + f_out - f_in

    def bits_of(self, name: str) -> int:
        return self.tensors[self.index[name]].bits

    def add_tensor(self, name: str, scale: int, bits: int | None = None) -> int:
        self.scales[name] = scale
        self.index[name] = len(self.tensors)
        self.tensors.append(Tensor(name, tuple(self.shapes[name]), scale, bits or self.bits))
        return self.index[name]

    def add(self, node, instruction_cls, fields: dict, f_out: int, bits: int | None = None) -> None:
        out = self.add_tensor(node.output, f_out, bits)
        self.nodes.append(node)
        self.instructions.append(instruction_cls(
            inputs=tuple(self.index[x] for x in node.inputs), output=out, **fields))

    def rescaled(self, name: str, target: int, bits: int | None = None) -> str:
        """``name`` at the coarser scale ``target`` (and ``bits`` wide): an
        affine with weight 1 and shift ``f - target`` (rounding to nearest)."""
        f = self.scales[name]
        bits = bits or self.bits_of(name)
        if f == target and bits == self.bits_of(name):
            return name
        new = f"{name}/at_scale_{target}_bits_{bits}"
        if new in self.index:
            return new
        size = int(np.prod(self.shapes[name]))
        self.shapes[new] = self.shapes[name]
        self.observed_override[new] = self.observed(name)
        self.intervals[new] = self.intervals[name]
        node = AffineNode((name,), new, np.arange(size, dtype=np.int64)[:, None],
                          np.ones((1, 1)), np.zeros(size, dtype=np.int64), np.zeros(size))
        shift = f - target
        fields = {"index": node.index, "weight": np.ones((1, 1), dtype=np.int64),
                  "row": node.row,
                  "bias": np.full(size, (1 << (shift - 1)) if shift else 0, dtype=np.int64),
                  "shift": shift}
        self.add(node, AffineInstruction, fields, target, bits)
        return new


def quantize(graph: Graph, calibration: list | None = None, bits: int = 16,
             template: Program | None = None, weight_headroom: int = 0) -> tuple[Program, dict]:
    """Quantize ``graph`` to a program of ``bits``-wide tensors.

    ``calibration``: one array per model input, ``[samples, *shape]`` (or the
    input's shape for one sample). ``template``: a program whose scales to
    keep where the model allows (a retrained model recompiled for the same
    circuit). ``weight_headroom``: bits left free above the largest dense
    weight (committed weights leave 1, so a retrained model's weights may
    double and keep the circuit). Returns ``(program, report)``.
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

    def magnitude(name: str) -> float:
        if values is not None:
            return float(np.abs(values[name]).max())
        return max_abs(intervals[name])

    state = _State(graph, bits, magnitude, intervals)
    state.weight_headroom = weight_headroom
    if template is not None:
        state.pin(template)
    for name, (lo, hi) in box.items():
        state.add_tensor(name, state.pinned_scales.get(name, frac_bits(max(abs(lo), abs(hi)), bits)))
    for node in graph.nodes:
        kind = kind_of(node)
        if getattr(kind, "SAME_SCALE", False):
            target = min(state.scale(x) for x in node.inputs)
            width = max(state.bits_of(x) for x in node.inputs)
            inputs = tuple(state.rescaled(x, target, width) for x in node.inputs)
            if inputs != node.inputs:
                node = dataclasses.replace(node, inputs=inputs)
        fields, f_out, *width = kind.quantize(node, state)
        state.add(node, kind.Instruction, fields, f_out, width[0] if width else None)

    program = Program(
        graph.name, tuple(state.tensors),
        tuple(Io(n, state.index[n]) for n in graph.inputs),
        tuple(Io(n, state.index[n]) for n in graph.outputs),
        tuple(state.instructions),
    )
    validate(program)
    quantized_graph = Graph(graph.name, {t.name: t.shape for t in state.tensors},
                            list(graph.inputs), list(graph.outputs), state.nodes, graph.known)
    if len(state.nodes) != len(graph.nodes):
        intervals = value_intervals(quantized_graph, box)
        values = quantized_graph.run(samples) if samples is not None else None
    report = _report(quantized_graph, program, box, samples, values, intervals)
    return program, report


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


def _report(graph, program, box, samples, values, intervals) -> dict:
    errors = error_bounds(graph, program, intervals)
    tensors = []
    for tensor in program.tensors:
        name = tensor.name
        certified = float((max_abs_elementwise(intervals[name]) + errors[name]).max())
        largest = (2 ** (tensor.bits - 1) - 1) * 2.0 ** -tensor.scale
        tensors.append({
            "name": name,
            "scale": tensor.scale,
            "bits": tensor.bits,
            "calibration_max_abs": None if values is None else float(np.abs(values[name]).max()),
            "certified_max_abs": certified if np.isfinite(certified) else None,
            "range_certified": certified <= largest,
        })
    measured = _measured_errors(graph, program, samples, values) if samples is not None else {}
    outputs = {name: {"error_bound": _finite(float(errors[name].max())),
                      "measured_max_abs_error": measured.get(name)}
               for name in graph.outputs}
    notes = []
    if samples is None:
        notes.append("no calibration data: inputs are assumed to lie in [-1, 1]; scales come "
                     "from certified bounds over that box")
    if any(o["error_bound"] is None for o in outputs.values()):
        notes.append("an error_bound of null means none could be certified over the whole box "
                     "(a function steep near the edge of its domain, such as 1/sqrt(variance) "
                     "near zero variance); the measured error is the guide there")
    notes.append("error_bound is certified for inputs inside the calibration box "
                 "(every element of an input within that input's calibration [min, max])")
    if not all(t["range_certified"] for t in tensors):
        notes.append("some tensors (range_certified false) may leave their range for inputs in "
                     "the box; such an inference fails with a quantization error, never wraps")
    return {
        "bits": program.tensors[0].bits,
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
    for entry, ints in zip(program.outputs, outputs):
        approx = dequantize(program, entry.tensor, ints)
        measured[entry.name] = float(np.abs(approx - values[entry.name]).max())
    return measured
