"""Interval arithmetic: value ranges of the float graph, and a certified bound
on how far the quantized program's (dequantized) tensors can be from them.

Setting. Inputs range over a box: input tensor ``i`` has every element in
``[lo_i, hi_i]`` (the calibration range). For a tensor ``x`` of the float graph
write ``x̂ = q · 2^-f`` for the value the program computes. We carry, element
by element, an interval ``[lo, hi]`` containing ``x`` and a bound ``e`` with
``|x̂ - x| ≤ e``, for every input in the box.

* Input, scale ``f``: ``q = floor(x·2^f + 1/2)``, so ``e = 2^-(f+1)``.
* Every other tensor: its instruction kind's rule (``intervals`` and
  ``errors`` in :mod:`zkml.ops`; each kind's module gives the derivation).
  The linear case, for example:
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
* Gather moves elements and their ``e``; max takes the largest ``e`` of its
  entries (it is 1-Lipschitz in the sup norm); affine is linear's rule per term.

The bound holds for every inference the circuit accepts: a value that leaves
its tensor's range fails the range check, it is never wrapped. The bound is
evaluated in float64 (the bias rounding error exactly, in rationals); it and
the intervals are padded by a relative ``2^-30`` to cover the float rounding of
the matrix products.
"""

from __future__ import annotations

import numpy as np

from zkml.frontend.graph import Graph
from zkml.ops import kind_of
from zkml.ops.base import max_abs, max_abs_elementwise  # noqa: F401 (re-exported)


def value_intervals(graph: Graph, box: dict[str, tuple[float, float]]) -> dict[str, tuple]:
    """Element-wise ``(lo, hi)`` of every float-graph tensor over the input box."""
    intervals = {}
    for name in graph.inputs:
        shape = graph.shape(name)
        low, high = box[name]
        intervals[name] = (np.full(shape, float(low)), np.full(shape, float(high)))
    for node in graph.nodes:
        ins = [intervals[x] for x in node.inputs]
        with np.errstate(all="ignore"):
            lo, hi = kind_of(node).intervals(node, ins, graph.shape(node.output))
        lo = np.nan_to_num(np.asarray(lo, np.float64), nan=-np.inf, posinf=np.inf, neginf=-np.inf)
        hi = np.nan_to_num(np.asarray(hi, np.float64), nan=np.inf, posinf=np.inf, neginf=-np.inf)
        if node.output in graph.known:  # a fact of the op the decomposition hides
            low, high = graph.known[node.output]
            lo, hi = np.clip(lo, low, high), np.clip(hi, low, high)
        shape = graph.shape(node.output)
        intervals[node.output] = (np.asarray(lo, np.float64).reshape(shape),
                                  np.asarray(hi, np.float64).reshape(shape))
    return intervals


class _Bounds:
    """The bound pass's side of :class:`zkml.ops.base.BoundContext`."""

    def __init__(self, program, intervals, errors):
        self._tensors = {t.name: t for t in program.tensors}
        self._intervals = intervals
        self._errors = errors

    def interval(self, name):
        return self._intervals[name]

    def error(self, name):
        return self._errors[name]

    def scale(self, name):
        return self._tensors[name].scale

    def bits(self, name):
        return self._tensors[name].bits


def error_bounds(graph: Graph, program, intervals: dict[str, tuple]) -> dict[str, np.ndarray]:
    """Element-wise certified ``|x̂ - x|`` for every tensor.

    ``program`` must be the quantizer's output for ``graph``: one instruction
    per node, in the same order, tensors named as in the graph.
    """
    index = {t.name: i for i, t in enumerate(program.tensors)}
    errors: dict[str, np.ndarray] = {}
    for name in graph.inputs:
        errors[name] = np.full(graph.shape(name), 2.0 ** -(program.tensors[index[name]].scale + 1))
    ctx = _Bounds(program, intervals, errors)
    with np.errstate(all="ignore"):  # unbounded intervals give inf, never a crash
        _propagate(graph, program, index, ctx, errors)
    return errors


def _propagate(graph, program, index, ctx, errors) -> None:
    for node, instr in zip(graph.nodes, program.instructions):
        assert index[node.output] == instr.output, "program does not follow the graph"
        value = np.asarray(kind_of(node).errors(node, instr, ctx), np.float64)
        errors[node.output] = np.nan_to_num(value, nan=np.inf, posinf=np.inf).reshape(graph.shape(node.output))
