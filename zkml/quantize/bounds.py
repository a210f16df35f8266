"""Interval arithmetic: value ranges of the float graph, and a certified bound
on how far the quantized program's (dequantized) tensors can be from them.

Setting. Inputs range over a box: input tensor ``i`` has every element in
``[lo_i, hi_i]`` (the calibration range). For a tensor ``x`` of the float graph
write ``x̂ = q · 2^-f`` for the value the program computes. We carry, element
by element, an interval ``[lo, hi]`` containing ``x`` and a bound ``e`` with
``|x̂ - x| ≤ e``, for every input in the box.

* Input, scale ``f``: ``q = floor(x·2^f + 1/2)``, so ``e = 2^-(f+1)``.
* Linear ``y = W x + b`` with program weights ``Wq = W̃·2^fw`` (``W̃`` the
  rounded weights), bias ``Bq = b̃·2^(f+fw) + c`` (``c = 2^(s-1)`` if the shift
  ``s > 0``, else 0), output ``yq = floor((Wq·xq + Bq) / 2^s)``. Writing
  ``A = Wq·xq + Bq - c``, ``yq = floor(A/2^s + 1/2)`` differs from ``A/2^s``
  by at most 1/2 (and not at all when ``s = 0``), so in real units
  ``ŷ = W̃ x̂ + b̃ + ρ`` with ``|ρ| ≤ 2^-(fy+1)`` (0 if ``s = 0``). Then

      ŷ - y = W (x̂ - x) + (W̃ - W) x̂ + (b̃ - b) + ρ
      |ŷ - y| ≤ |W| e + |W̃ - W| (max(|lo|, |hi|) + e) + |b̃ - b| + |ρ|

  using ``|x̂| ≤ |x| + e``. ``|W̃ - W|`` and ``|b̃ - b|`` are the actual rounding
  errors, not their 2^-(f+1) worst case. The interval of ``y`` is
  ``W c + b ± |W| r`` with ``c, r`` the centre and radius of ``[lo, hi]``.
* Relu is 1-Lipschitz, so ``e`` carries over; where ``hi + e ≤ 0`` both ``x``
  and ``x̂`` are ≤ 0, both outputs are 0 and the bound is 0.
* Reshape moves elements and keeps ``e``.

The bound holds for every inference the circuit accepts: a value that leaves
its tensor's range fails the range check, it is never wrapped. The bound is
evaluated in float64 (the bias rounding error exactly, in rationals); it and
the intervals are padded by a relative ``2^-30`` to cover the float rounding of
the matrix products.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from zkml.frontend.graph import Graph, Linear, Relu, Reshape

_FLOAT_SLACK = 1.0 + 2.0**-30


def value_intervals(graph: Graph, box: dict[str, tuple[float, float]]) -> dict[str, tuple]:
    """Element-wise ``(lo, hi)`` of every float-graph tensor over the input box."""
    intervals = {}
    for name in graph.inputs:
        shape = graph.shape(name)
        low, high = box[name]
        intervals[name] = (np.full(shape, float(low)), np.full(shape, float(high)))
    for node in graph.nodes:
        lo, hi = intervals[node.input]
        if isinstance(node, Linear):
            centre = (lo + hi) / 2 @ node.weight.T + node.bias
            radius = (hi - lo) / 2 @ np.abs(node.weight).T
            radius = radius * _FLOAT_SLACK + np.abs(centre) * 2.0**-30
            intervals[node.output] = (centre - radius, centre + radius)
        elif isinstance(node, Relu):
            intervals[node.output] = (np.maximum(lo, 0.0), np.maximum(hi, 0.0))
        elif isinstance(node, Reshape):
            shape = graph.shape(node.output)
            intervals[node.output] = (lo.reshape(shape), hi.reshape(shape))
    return intervals


def max_abs(interval: tuple) -> float:
    lo, hi = interval
    return float(max(np.abs(lo).max(), np.abs(hi).max()))


def error_bounds(graph: Graph, program: dict, intervals: dict[str, tuple]) -> dict[str, np.ndarray]:
    """Element-wise certified ``|x̂ - x|`` for every tensor (derivation above).

    ``program`` must be the quantizer's output for ``graph``: one instruction
    per node, in the same order, tensors named as in the graph.
    """
    index = {t["name"]: i for i, t in enumerate(program["tensors"])}
    scale = {t["name"]: t["scale"] for t in program["tensors"]}
    errors: dict[str, np.ndarray] = {}
    for name in graph.inputs:
        errors[name] = np.full(graph.shape(name), 2.0 ** -(scale[name] + 1))
    for node, instr in zip(graph.nodes, program["instructions"]):
        assert index[node.output] == instr["output"], "program does not follow the graph"
        err = errors[node.input]
        if isinstance(node, Linear):
            f_in, f_out, shift = scale[node.input], scale[node.output], instr["shift"]
            f_weight = shift + f_out - f_in  # shift = f_in + f_w - f_out
            # |Wq| < 2^31 and W·2^fw rounds to it, so both are exact floats.
            w_error = np.abs(np.ldexp(np.array(instr["weight"], dtype=np.float64), -f_weight)
                             - node.weight)
            magnitude = max_abs_elementwise(intervals[node.input]) + err
            bound = (err @ np.abs(node.weight).T
                     + magnitude @ w_error.T
                     + bias_rounding_error(instr["bias"], shift, f_in + f_weight, node.bias)
                     + (2.0 ** -(f_out + 1) if shift > 0 else 0.0))
            errors[node.output] = bound * _FLOAT_SLACK
        elif isinstance(node, Relu):
            _, hi = intervals[node.input]
            errors[node.output] = np.where(hi + err <= 0.0, 0.0, err)
        elif isinstance(node, Reshape):
            errors[node.output] = err.reshape(graph.shape(node.output))
    return errors


def max_abs_elementwise(interval: tuple) -> np.ndarray:
    lo, hi = interval
    return np.maximum(np.abs(lo), np.abs(hi))


def bias_rounding_error(bias_int: list, shift: int, scale: int, bias: np.ndarray) -> np.ndarray:
    """``|b̃ - b|`` per output, exactly: ``b̃ = (Bq - c)·2^-scale``, ``c`` the
    rounding constant the quantizer added. Biases are short, so a loop over
    them in exact rationals costs little."""
    rounding = (1 << (shift - 1)) if shift > 0 else 0
    denominator = Fraction(2) ** scale
    return np.array([float(abs(Fraction(q - rounding) / denominator - Fraction(float(b))))
                     for q, b in zip(bias_int, bias)])
