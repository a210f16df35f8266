"""Dense layers: the ``linear`` instruction, and the Gemm and MatMul lowerings.

``linear``: ``y[..., n] = floor((Σ_k weight[n,k]·x[..., k] + bias[n]) / 2^shift)``
on the last axis, for a constant weight (activation × constant). A MatMul
whose constant is on the left, or whose operands are both activations, is not
a ``linear``: the first lowers to an ``affine`` (:mod:`zkml.ops.affine`), the
second to a ``bilinear`` (:mod:`zkml.ops.products`).

Quantization: weights get the largest ``f_w`` for which ``max|w|`` rounds into
``bits`` signed bits; the output the largest ``f_out`` whose range holds twice
the calibration ``max|y|`` (without calibration, twice the certified bound),
capped at ``f_in + f_w`` so that ``shift = f_in + f_w - f_out ≥ 0``. The bias
is rounded at scale ``f_in + f_w`` and gets ``2^(shift-1)`` added so that the
program's floor rounds to nearest. If the bias would not fit in signed 64
bits, ``f_w`` is lowered until it does.

Error bound. With ``W̃`` the rounded weights and ``b̃`` the rounded bias,
``ŷ = W̃ x̂ + b̃ + ρ`` with ``|ρ| ≤ 2^-(f_out+1)`` (0 if ``shift = 0``), so
``|ŷ - y| ≤ |W| e + |W̃ - W| (max(|lo|, |hi|) + e) + |b̃ - b| + |ρ|``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from zkml.errors import ModelError
from zkml.ops.base import (
    BIAS_LIMIT,
    FLOAT_SLACK,
    HEADROOM,
    INT64_SAFE,
    Kind,
    NodeBase,
    frac_bits,
    kind,
    lowering,
    max_abs_elementwise,
    round_half_up,
)


def _invalid(message: str) -> ModelError:
    return ModelError(f"invalid program: {message}")


@dataclass(frozen=True, eq=False)
class LinearNode(NodeBase):
    """``y = x @ weight.T + bias`` on the last axis (``weight`` ``[N, K]``)."""

    weight: np.ndarray
    bias: np.ndarray


@dataclass(frozen=True, eq=False)
class LinearInstruction:
    inputs: tuple[int, ...]
    output: int
    weight: np.ndarray
    bias: np.ndarray
    shift: int
    op = "linear"


def round_bias(bias: np.ndarray, f: int) -> list[int]:
    """``floor(b·2^f + 1/2)`` exactly, as Python ints."""
    step = Fraction(2) ** f
    return [math.floor(Fraction(b) * step + Fraction(1, 2)) for b in np.asarray(bias).tolist()]


def bias_rounding_error(bias_int, shift: int, scale: int, bias: np.ndarray) -> np.ndarray:
    """``|b̃ - b|`` per output, exactly: ``b̃ = (Bq - c)·2^-scale``, ``c`` the
    rounding constant the quantizer added."""
    rounding = (1 << (shift - 1)) if shift > 0 else 0
    denominator = Fraction(2) ** scale
    return np.array([float(abs(Fraction(int(q) - rounding) / denominator - Fraction(float(b))))
                     for q, b in zip(np.asarray(bias_int).tolist(), np.asarray(bias).tolist())],
                    dtype=np.float64)


@kind
class Linear(Kind):
    op = "linear"
    Node = LinearNode
    Instruction = LinearInstruction
    CONSTANTS = ("weight", "bias")
    SCALARS = ("shift",)

    def run_float(self, node, xs, lead, out_shape):
        return xs[0] @ node.weight.T + node.bias

    def intervals(self, node, ins, out_shape):
        lo, hi = ins[0]
        centre = (lo + hi) / 2 @ node.weight.T + node.bias
        radius = (hi - lo) / 2 @ np.abs(node.weight).T
        radius = radius * FLOAT_SLACK + np.abs(centre) * 2.0**-30
        return centre - radius, centre + radius

    def quantize(self, node, q):
        f_in, bits = q.scale(node.inputs[0]), q.bits
        f_w = q.weight_frac(node.output, frac_bits(float(np.abs(node.weight).max(initial=0)), bits))
        f_out_wanted = frac_bits(HEADROOM * q.observed(node.output), bits)
        while True:
            f_out = min(f_out_wanted, f_in + f_w)
            shift = f_in + f_w - f_out
            rounding = (1 << (shift - 1)) if shift > 0 else 0
            bias = [b + rounding for b in round_bias(node.bias, f_in + f_w)]
            if all(-BIAS_LIMIT <= b < BIAS_LIMIT for b in bias):
                break
            f_w -= 1  # coarser weights shrink the bias scale f_in + f_w
        weight = round_half_up(node.weight, f_w).astype(np.int64)
        return {"weight": weight, "bias": np.array(bias, dtype=np.int64), "shift": shift}, f_out

    def errors(self, node, instr, b):
        x = node.inputs[0]
        err = b.error(x)
        f_in, f_out, shift = b.scale(x), b.scale(node.output), instr.shift
        f_weight = shift + f_out - f_in
        w_error = np.abs(np.ldexp(instr.weight.astype(np.float64), -f_weight) - node.weight)
        magnitude = max_abs_elementwise(b.interval(x)) + err
        bound = (err @ np.abs(node.weight).T
                 + magnitude @ w_error.T
                 + bias_rounding_error(instr.bias, shift, f_in + f_weight, node.bias)
                 + (2.0 ** -(f_out + 1) if shift > 0 else 0.0))
        return bound * FLOAT_SLACK

    def validate(self, instr, program, where):
        from zkml.program import ACCUMULATOR_LIMIT, MAX_SHIFT, accumulator_bound

        if len(instr.inputs) != 1:
            raise _invalid(f"{where}: takes one input")
        x, y = program.tensors[instr.inputs[0]], program.tensors[instr.output]
        if not 0 <= instr.shift <= MAX_SHIFT:
            raise _invalid(f"{where}: shift must be an int in [0, {MAX_SHIFT}], got {instr.shift!r}")
        weight, bias = np.asarray(instr.weight), np.asarray(instr.bias)
        if weight.ndim != 2 or bias.ndim != 1:
            raise _invalid(f"{where}: weight must be [N, K] and bias [N]")
        n, k = weight.shape
        if x.shape[-1] != k or bias.shape != (n,):
            raise _invalid(f"{where}: weight is [{n}, {k}] and bias has {bias.shape[0]} entries, "
                           f"but the input shape is {list(x.shape)}")
        if y.shape != x.shape[:-1] + (n,):
            raise _invalid(f"{where}: output shape must be {list(x.shape[:-1] + (n,))}, "
                           f"got {list(y.shape)}")
        bound = accumulator_bound(weight, bias, x.bits)
        if bound >= ACCUMULATOR_LIMIT:
            raise _invalid(f"{where}: accumulator bound {bound} is not below 2^120")

    def evaluate(self, instr, xs, program, lead):
        from zkml.program import accumulator_bound

        x = xs[0]
        bits_in = program.tensors[instr.inputs[0]].bits
        if accumulator_bound(instr.weight, instr.bias, bits_in) < INT64_SAFE:
            acc = x @ instr.weight.T + instr.bias
            # An arithmetic right shift is floor division by 2^shift; |acc| < 2^62,
            # so shifting by 63 already gives the floor of any larger shift.
            return acc >> min(instr.shift, 63)
        acc = x.astype(object) @ instr.weight.T.astype(object) + instr.bias.astype(object)
        return acc // (1 << instr.shift)


# --- ONNX ----------------------------------------------------------------------

LINEAR_COST = "bits + shift + 2 per output (the weighted sum is free)"


def row_bias(ctx, node, value: np.ndarray, out_shape: tuple) -> np.ndarray | None:
    """A constant added to an activation of ``out_shape`` as a bias on the last
    axis, or None if it is not one (it varies along another axis or would
    change the shape)."""
    value = np.asarray(value, dtype=np.float64)
    try:
        broadcast = np.broadcast_shapes(value.shape, out_shape)
    except ValueError:
        return None
    if broadcast != tuple(out_shape):
        return None
    full = np.broadcast_to(value, out_shape)
    row = full[(0,) * (len(out_shape) - 1)]
    if not np.array_equal(full, np.broadcast_to(row, out_shape)):
        return None
    return np.array(row, dtype=np.float64)


@lowering("Gemm", 7, 13, kinds=("linear", "affine"), cost=LINEAR_COST)
def _gemm(ctx, node, attrs):
    a, b = node.input[0], node.input[1]
    c = node.input[2] if len(node.input) > 2 and node.input[2] else None
    if not ctx.is_const(b):
        ctx.fail(node, "B is an activation; a product of two activations is not supported")
    if ctx.is_const(a):
        ctx.fail(node, "A is a constant and B an activation; only activation x constant is "
                       "supported")
    if attrs.get("transA", 0):
        ctx.fail(node, "transA=1 on an activation is not supported")
    weight = np.asarray(ctx.const(b), dtype=np.float64)
    if weight.ndim != 2:
        raise ModelError(f"node '{ctx.label(node)}' (Gemm): B must be 2-D, got {list(weight.shape)}")
    if not attrs.get("transB", 0):
        weight = weight.T
    weight = float(attrs.get("alpha", 1.0)) * weight
    shape_a = ctx.shape(a)
    if len(shape_a) != 2 or shape_a[1] != weight.shape[1]:
        raise ModelError(f"node '{ctx.label(node)}' (Gemm): A of shape {list(shape_a)} does not "
                         f"match B with K={weight.shape[1]}")
    out_shape = (shape_a[0], weight.shape[0])
    bias: np.ndarray = np.zeros(weight.shape[0])
    extra = None
    if c is not None:
        if not ctx.is_const(c):
            extra = c  # an activation: added after the product
        else:
            value = float(attrs.get("beta", 1.0)) * np.asarray(ctx.const(c), np.float64)
            row = row_bias(ctx, node, value, out_shape)
            if row is None:
                extra = value
            else:
                bias = row
    if extra is None:
        ctx.emit(LinearNode((ctx.act(a),), node.output[0], weight, bias), out_shape)
        return
    from zkml.ops.affine import emit_elementwise

    product = ctx.fresh(node.output[0] + "/product")
    ctx.emit(LinearNode((ctx.act(a),), product, weight, bias), out_shape)
    if isinstance(extra, str):
        emit_elementwise(ctx, node, [product, extra], [1.0, float(attrs.get("beta", 1.0))], 0.0,
                         node.output[0])
    else:
        emit_elementwise(ctx, node, [product], [1.0], extra, node.output[0])


@lowering("MatMul", 1, 13, kinds=("linear", "affine", "bilinear"),
          cost=LINEAR_COST + "; activation x activation: K products + bits + shift + 2")
def _matmul(ctx, node, attrs):
    a, b = node.input
    if not ctx.is_const(a) and not ctx.is_const(b):
        from zkml.ops.products import emit_matmul

        emit_matmul(ctx, node, a, b, node.output[0])
        return
    if ctx.is_const(a):
        from zkml.ops.affine import emit_const_matmul

        emit_const_matmul(ctx, node, np.asarray(ctx.const(a), np.float64), b, node.output[0])
        return
    weight = np.asarray(ctx.const(b), dtype=np.float64)
    shape_a = ctx.shape(a)
    out = node.output[0]
    if weight.ndim > 2:
        if any(d != 1 for d in weight.shape[:-2]) or weight.ndim > len(shape_a):
            ctx.fail(node, f"a batched constant operand of shape {list(weight.shape)} is not "
                           "supported")
        weight = weight.reshape(weight.shape[-2:])
    if weight.shape[0] != shape_a[-1]:
        raise ModelError(f"node '{ctx.label(node)}' (MatMul): shapes {list(shape_a)} and "
                         f"{list(weight.shape)} do not match")
    if weight.ndim == 2:
        ctx.emit(LinearNode((ctx.act(a),), out, weight.T.copy(), np.zeros(weight.shape[1])),
                 shape_a[:-1] + (weight.shape[1],))
        return
    if len(shape_a) < 2:
        ctx.fail(node, "a vector times a vector gives a scalar; scalar tensors are not supported")
    column = ctx.fresh(f"{out}/matvec")
    ctx.emit(LinearNode((ctx.act(a),), column, weight[None, :].copy(), np.zeros(1)),
             shape_a[:-1] + (1,))
    ctx.reshape(column, out, shape_a[:-1])
