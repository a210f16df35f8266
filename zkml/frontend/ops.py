"""The op registry: one lowering per ONNX op type, with the op versions it knows.

A lowering turns one ONNX node whose inputs include an activation (a value that
depends on a model input) into float-graph nodes. Nodes whose inputs are all
constants never get here: the loader folds them.

Each entry names the range of the op's *versions* (the ``since_version`` of its
schema) that the lowering implements. The model's default-domain opset picks the
version; a version outside the range, like an op without an entry, is an
:class:`~zkml.errors.UnsupportedOpError` naming the node, the op and the opset.
Upper ends are the newest version the installed ``onnx`` knew when the lowering
was written; later versions only widened the accepted element types.

A lowering receives ``ctx`` (the loader's state, see ``onnx_loader._Lowering``),
the ``NodeProto`` and its attributes as a dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Callable

import numpy as np
import onnx

from zkml.errors import ModelError
from zkml.frontend.graph import Linear, Relu, Reshape


@dataclass(frozen=True)
class OpLowering:
    op_type: str
    first_version: int
    last_version: int
    lower: Callable


REGISTRY: dict[str, OpLowering] = {}


def lowering(op_type: str, first_version: int, last_version: int):
    def register(fn: Callable) -> Callable:
        REGISTRY[op_type] = OpLowering(op_type, first_version, last_version, fn)
        return fn

    return register


@dataclass(frozen=True, eq=False)
class BiasAdd:
    """An ``Add`` of a constant, kept until the loader fuses it into the linear
    layer that produces its input (or reports it as unsupported)."""

    input: str
    output: str
    bias: np.ndarray
    node_name: str


def op_version(op_type: str, opset: int, domain: str = "") -> int | None:
    """The ``since_version`` of ``op_type`` in effect at ``opset``, or None."""
    try:
        return onnx.defs.get_schema(op_type, opset, domain).since_version
    except Exception:  # onnx raises SchemaError; no such op at this opset
        return None


def _row_bias(ctx, node, value: np.ndarray, out_shape: tuple[int, ...]) -> np.ndarray:
    """Reduce a constant added to an activation of ``out_shape`` to a bias on
    the last axis, or fail if it is not one (it would change the shape, or vary
    along another axis)."""
    value = np.asarray(value, dtype=np.float64)
    try:
        broadcast = np.broadcast_shapes(value.shape, out_shape)
    except ValueError:
        raise ModelError(
            f"node '{ctx.label(node)}' ({node.op_type}): constant of shape {list(value.shape)} "
            f"does not broadcast to {list(out_shape)}"
        ) from None
    if broadcast != tuple(out_shape):
        ctx.fail(node, f"the constant (shape {list(value.shape)}) would broadcast the activation "
                       f"{list(out_shape)} to {list(broadcast)}")
    full = np.broadcast_to(value, out_shape)
    row = full[(0,) * (len(out_shape) - 1)]
    if not np.array_equal(full, np.broadcast_to(row, out_shape)):
        ctx.fail(node, "the constant varies along an axis other than the last, so it is not a bias")
    return np.array(row, dtype=np.float64)


@lowering("Gemm", 7, 13)
def _gemm(ctx, node, attrs):
    a, b = node.input[0], node.input[1]
    c = node.input[2] if len(node.input) > 2 and node.input[2] else None
    if ctx.is_const(a):
        ctx.fail(node, "A is a constant and B an activation; only activation x constant is linear "
                       "on the activation's last axis")
    if attrs.get("transA", 0):
        ctx.fail(node, "transA=1 on an activation (a transposed activation is not supported); "
                       "transA is accepted only when the whole Gemm is constant")
    if not ctx.is_const(b):
        ctx.fail(node, "B is an activation; a product of two activations is not supported")
    weight = np.asarray(ctx.const(b), dtype=np.float64)
    if weight.ndim != 2:
        raise ModelError(f"node '{ctx.label(node)}' (Gemm): B must be 2-D, "
                         f"got {list(weight.shape)}")
    if not attrs.get("transB", 0):
        weight = weight.T
    weight = float(attrs.get("alpha", 1.0)) * weight
    shape_a = ctx.shape(a)
    if len(shape_a) != 2 or shape_a[1] != weight.shape[1]:
        raise ModelError(f"node '{ctx.label(node)}' (Gemm): A of shape {list(shape_a)} does not "
                         f"match B with K={weight.shape[1]}")
    out_shape = (shape_a[0], weight.shape[0])
    bias = np.zeros(weight.shape[0])
    if c is not None:
        if not ctx.is_const(c):
            ctx.fail(node, "C is an activation; adding two activations is not supported")
        beta = float(attrs.get("beta", 1.0))
        bias = _row_bias(ctx, node, beta * np.asarray(ctx.const(c), np.float64), out_shape)
    ctx.emit(Linear(ctx.act(a), node.output[0], weight, bias), out_shape)


@lowering("MatMul", 1, 13)
def _matmul(ctx, node, attrs):
    a, b = node.input
    if not ctx.is_const(b):
        if ctx.is_const(a):
            ctx.fail(node, "constant x activation acts on the activation's rows; only activation x "
                           "constant is supported")
        ctx.fail(node, "both operands are activations; a product of two activations is not "
                       "supported")
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
        ctx.emit(Linear(ctx.act(a), out, weight.T.copy(), np.zeros(weight.shape[1])),
                 shape_a[:-1] + (weight.shape[1],))
        return
    # A vector operand: a one-output linear layer, then drop that axis.
    if len(shape_a) < 2:
        ctx.fail(node, "a vector times a vector gives a scalar; scalar tensors are not supported")
    column = f"{out}/matvec"
    ctx.emit(Linear(ctx.act(a), column, weight[None, :].copy(), np.zeros(1)), shape_a[:-1] + (1,))
    ctx.emit(Reshape(column, out), shape_a[:-1])


@lowering("Add", 7, 14)
def _add(ctx, node, attrs):
    a, b = node.input
    if not ctx.is_const(a) and not ctx.is_const(b):
        ctx.fail(node, "both operands are activations; adding two activations is not supported")
    act, const = (a, b) if ctx.is_const(b) else (b, a)
    shape = ctx.shape(act)
    bias = _row_bias(ctx, node, ctx.const(const), shape)
    ctx.emit(BiasAdd(ctx.act(act), node.output[0], bias, ctx.label(node)), shape)


@lowering("Relu", 6, 14)
def _relu(ctx, node, attrs):
    ctx.emit(Relu(ctx.act(node.input[0]), node.output[0]), ctx.shape(node.input[0]))


@lowering("Identity", 1, 25)
def _identity(ctx, node, attrs):
    ctx.alias(node.output[0], node.input[0])


@lowering("Flatten", 1, 25)
def _flatten(ctx, node, attrs):
    shape = ctx.shape(node.input[0])
    axis = int(attrs.get("axis", 1))
    if axis < 0:
        axis += len(shape)
    if not 0 <= axis <= len(shape):
        raise ModelError(f"node '{ctx.label(node)}' (Flatten): axis {attrs.get('axis')} is out of "
                         f"range for rank {len(shape)}")
    _reshape_to(ctx, node, (prod(shape[:axis]), prod(shape[axis:])))


@lowering("Reshape", 5, 25)
def _reshape(ctx, node, attrs):
    data, target = node.input[0], node.input[1]
    if not ctx.is_const(target):
        ctx.fail(node, "the target shape is computed from an activation; it must be a constant")
    shape_in = ctx.shape(data)
    spec = [int(d) for d in np.asarray(ctx.const(target)).reshape(-1)]
    allow_zero = bool(attrs.get("allowzero", 0))
    dims = []
    for i, d in enumerate(spec):
        if d == 0 and not allow_zero:
            if i >= len(shape_in):
                raise ModelError(f"node '{ctx.label(node)}' (Reshape): 0 at axis {i} copies a "
                                 f"dimension the input {list(shape_in)} does not have")
            d = shape_in[i]
        dims.append(d)
    if dims.count(-1) > 1 or any(d < -1 for d in dims):
        raise ModelError(f"node '{ctx.label(node)}' (Reshape): invalid target shape {spec}")
    known = prod(d for d in dims if d != -1)
    total = prod(shape_in)
    if -1 in dims:
        if known == 0 or total % known:
            raise ModelError(f"node '{ctx.label(node)}' (Reshape): cannot reshape "
                             f"{list(shape_in)} to {spec}")
        dims[dims.index(-1)] = total // known
    if prod(dims) != total:
        raise ModelError(f"node '{ctx.label(node)}' (Reshape): cannot reshape {list(shape_in)} "
                         f"to {spec}")
    _reshape_to(ctx, node, tuple(dims))


def _reshape_to(ctx, node, shape: tuple[int, ...]) -> None:
    if any(d <= 0 for d in shape) or not shape:
        ctx.fail(node, f"the result shape {list(shape)} has an empty or scalar shape")
    src = node.input[0]
    if tuple(shape) == ctx.shape(src):
        ctx.alias(node.output[0], src)
    else:
        ctx.emit(Reshape(ctx.act(src), node.output[0]), tuple(shape))


@lowering("Shape", 1, 25)
def _shape(ctx, node, attrs):
    # Shapes are static, so the shape of an activation is a constant (this is
    # what lets PyTorch's `x.view(x.size(0), -1)` chains fold away).
    shape = ctx.shape(node.input[0])
    rank = len(shape)
    start = int(attrs.get("start", 0))
    end = int(attrs.get("end", rank))
    start = min(max(start + rank if start < 0 else start, 0), rank)
    end = min(max(end + rank if end < 0 else end, 0), rank)
    ctx.set_const(node.output[0], np.array(shape[start:end], dtype=np.int64))
