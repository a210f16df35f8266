"""Piecewise-linear activations: the ``relu`` instruction, and Relu,
LeakyRelu, PRelu, Abs, Clip and HardSigmoid built from it.

``relu``: ``y = max(x, 0)``, one constraint per element (``y = x·sign``, the
sign being the top bit of the range check every tensor's values already get).
The others are exact compositions with ``affine``:

* ``LeakyRelu(x) = α·x + (1-α)·relu(x)``; ``PRelu`` the same with a constant slope;
* ``Abs(x) = 2·relu(x) - x``;
* ``Clip(x, lo, hi) = lo + relu(x - lo) - relu(x - lo - (hi - lo))``;
* ``HardSigmoid(x) = Clip(α·x + β, 0, 1)``.

Bounds: relu is 1-Lipschitz, so the error carries over; where ``hi + e ≤ 0``
both the float and the quantized value are ≤ 0 and the error is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkml.errors import ModelError
from zkml.ops.affine import emit_elementwise
from zkml.ops.base import Kind, NodeBase, kind, lowering


def _invalid(message: str) -> ModelError:
    return ModelError(f"invalid program: {message}")


@dataclass(frozen=True, eq=False)
class ReluNode(NodeBase):
    pass


@dataclass(frozen=True, eq=False)
class ReluInstruction:
    inputs: tuple[int, ...]
    output: int
    op = "relu"


@kind
class Relu(Kind):
    op = "relu"
    Node = ReluNode
    Instruction = ReluInstruction

    def run_float(self, node, xs, lead, out_shape):
        return np.maximum(xs[0], 0.0)

    def intervals(self, node, ins, out_shape):
        lo, hi = ins[0]
        return np.maximum(lo, 0.0), np.maximum(hi, 0.0)

    def quantize(self, node, q):
        return {}, q.scale(node.inputs[0]), q.bits_of(node.inputs[0])

    def errors(self, node, instr, b):
        x = node.inputs[0]
        _, hi = b.interval(x)
        err = b.error(x)
        return np.where(hi + err <= 0.0, 0.0, err)

    def validate(self, instr, program, where):
        if len(instr.inputs) != 1:
            raise _invalid(f"{where}: takes one input")
        x, y = program.tensors[instr.inputs[0]], program.tensors[instr.output]
        if (x.scale, x.bits) != (y.scale, y.bits):
            raise _invalid(f"{where}: input and output must have the same scale and bits")
        if x.shape != y.shape:
            raise _invalid(f"{where}: shapes differ ({list(x.shape)} vs {list(y.shape)})")

    def evaluate(self, instr, xs, program, lead):
        return np.maximum(xs[0], 0)


# --- ONNX ------------------------------------------------------------------------

RELU_COST = "1 per output"
COMPOSITE_COST = "1 per relu + bits + shift + 2 per affine step"


def emit_relu(ctx, x: str, out: str) -> None:
    ctx.emit(ReluNode((ctx.act(x),), out), ctx.shape(x))


@lowering("Relu", 6, 14, kinds=("relu",), cost=RELU_COST)
def _relu(ctx, node, attrs):
    emit_relu(ctx, node.input[0], node.output[0])


def _leaky(ctx, node, slope) -> None:
    x = ctx.act(node.input[0])
    r = ctx.fresh(node.output[0] + "/relu")
    emit_relu(ctx, x, r)
    slope = np.asarray(slope, np.float64)
    emit_elementwise(ctx, node, [x, r], [slope, 1.0 - slope], 0.0, node.output[0])


@lowering("LeakyRelu", 6, 16, kinds=("relu", "affine"), cost=COMPOSITE_COST)
def _leaky_relu(ctx, node, attrs):
    _leaky(ctx, node, float(attrs.get("alpha", 0.01)))


@lowering("PRelu", 7, 16, kinds=("relu", "affine"), cost=COMPOSITE_COST)
def _prelu(ctx, node, attrs):
    if not ctx.is_const(node.input[1]):
        ctx.fail(node, "the slope is an activation; it must be a constant")
    _leaky(ctx, node, ctx.const(node.input[1]))


@lowering("Abs", 6, 13, kinds=("relu", "affine"), cost=COMPOSITE_COST)
def _abs(ctx, node, attrs):
    x = ctx.act(node.input[0])
    r = ctx.fresh(node.output[0] + "/relu")
    emit_relu(ctx, x, r)
    emit_elementwise(ctx, node, [r, x], [2.0, -1.0], 0.0, node.output[0], known=(0.0, np.inf))


def emit_clip(ctx, node, x: str, lo: float | None, hi: float | None, out: str) -> None:
    """``out = min(max(x, lo), hi)`` from relus (either bound may be None)."""
    if lo is not None and hi is not None and hi < lo:
        raise ModelError(f"node '{ctx.label(node)}' ({node.op_type}): min {lo} exceeds max {hi}")
    if lo is None and hi is None:
        ctx.alias(out, x)
        return
    if lo is not None:
        shifted = ctx.fresh(out + "/minus_lo")
        emit_elementwise(ctx, node, [x], [1.0], -lo, shifted)
        low = ctx.fresh(out + "/relu_lo")
        emit_relu(ctx, shifted, low)  # max(x, lo) - lo
        if hi is None:
            emit_elementwise(ctx, node, [low], [1.0], lo, out, known=(lo, np.inf))
            return
        over = ctx.fresh(out + "/minus_hi")
        emit_elementwise(ctx, node, [low], [1.0], -(hi - lo), over)
        high = ctx.fresh(out + "/relu_hi")
        emit_relu(ctx, over, high)
        emit_elementwise(ctx, node, [low, high], [1.0, -1.0], lo, out, known=(lo, hi))
        return
    assert hi is not None  # lo is None here, and both None returned above
    over = ctx.fresh(out + "/minus_hi")
    emit_elementwise(ctx, node, [x], [1.0], -hi, over)
    high = ctx.fresh(out + "/relu_hi")
    emit_relu(ctx, over, high)
    emit_elementwise(ctx, node, [x, high], [1.0, -1.0], 0.0, out, known=(-np.inf, hi))


def _scalar(ctx, node, name: str | None, what: str) -> float | None:
    if not name:
        return None
    if not ctx.is_const(name):
        ctx.fail(node, f"{what} is an activation; it must be a constant")
    value = np.asarray(ctx.const(name), np.float64)
    if value.size != 1:
        ctx.fail(node, f"{what} must be a scalar")
    return float(value.reshape(-1)[0])


@lowering("Clip", 6, 13, kinds=("relu", "affine"), cost=COMPOSITE_COST)
def _clip(ctx, node, attrs):
    if "min" in attrs or "max" in attrs:  # opset 6..10: attributes
        lo_attr = float(attrs.get("min", -3.4028234663852886e38))
        hi_attr = float(attrs.get("max", 3.4028234663852886e38))
        lo = None if lo_attr <= -3.4e38 else lo_attr
        hi = None if hi_attr >= 3.4e38 else hi_attr
    else:
        lo = _scalar(ctx, node, node.input[1] if len(node.input) > 1 else None, "min")
        hi = _scalar(ctx, node, node.input[2] if len(node.input) > 2 else None, "max")
    emit_clip(ctx, node, ctx.act(node.input[0]), lo, hi, node.output[0])


@lowering("HardSigmoid", 6, 22, kinds=("relu", "affine"), cost=COMPOSITE_COST)
def _hard_sigmoid(ctx, node, attrs):
    alpha, beta = float(attrs.get("alpha", 0.2)), float(attrs.get("beta", 0.5))
    pre = ctx.fresh(node.output[0] + "/linear")
    emit_elementwise(ctx, node, [node.input[0]], [alpha], beta, pre)
    emit_clip(ctx, node, pre, 0.0, 1.0, node.output[0])
