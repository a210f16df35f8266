"""Reductions over axes: ReduceSum and ReduceMean (``affine``), ReduceMax
(``max``). The axes come from the attribute (older opsets) or the constant
second input (ReduceSum from opset 13, the others from 18), with
``keepdims`` and ``noop_with_empty_axes`` as ONNX defines them.
"""

from __future__ import annotations

import numpy as np

from zkml.errors import ModelError
from zkml.ops.affine import emit_affine
from zkml.ops.base import lowering
from zkml.ops.pool import MAX_COST, MaxNode


def _groups(ctx, node, attrs):
    """``(index [O, T], out_shape)``, or None for a no-op reduction."""
    shape = ctx.shape(node.input[0])
    axes = None
    if len(node.input) > 1 and node.input[1]:
        if not ctx.is_const(node.input[1]):
            ctx.fail(node, "the axes are an activation; they must be a constant")
        axes = [int(a) for a in np.asarray(ctx.const(node.input[1])).reshape(-1)]
    elif "axes" in attrs:
        axes = [int(a) for a in attrs["axes"]]
    if not axes:
        if attrs.get("noop_with_empty_axes", 0):
            return None
        axes = list(range(len(shape)))
    rank = len(shape)
    if any(not -rank <= a < rank for a in axes):
        raise ModelError(f"node '{ctx.label(node)}' ({node.op_type}): axes {axes} out of range for "
                         f"rank {rank}")
    index, out_shape = groups_for(shape, axes, bool(attrs.get("keepdims", 1)))
    if not out_shape:
        ctx.fail(node, "the result is a scalar; scalar tensors are not supported (keepdims=1 is)")
    return index, out_shape


def groups_for(shape: tuple, axes, keepdims: bool = True):
    """``(index [O, T], out_shape)``: the elements each output of a reduction
    over ``axes`` collects (flat indices into a tensor of ``shape``)."""
    rank = len(shape)
    norm = sorted({a + rank if a < 0 else a for a in axes})
    keep = [a for a in range(rank) if a not in norm]
    numbers = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    moved = np.transpose(numbers, keep + norm)
    kept_shape = tuple(shape[a] for a in keep)
    index = moved.reshape(int(np.prod(kept_shape)) if keep else 1, -1)
    if keepdims:
        return index, tuple(1 if a in norm else shape[a] for a in range(rank))
    return index, kept_shape


def _mean_or_sum(ctx, node, attrs, mean: bool):
    groups = _groups(ctx, node, attrs)
    if groups is None:
        ctx.alias(node.output[0], node.input[0])
        return
    index, out_shape = groups
    weight = 1.0 / index.shape[1] if mean else 1.0
    emit_affine(ctx, [ctx.act(node.input[0])], index, np.full(index.shape, weight),
                np.zeros(index.shape[0]), node.output[0], out_shape)


@lowering("ReduceMean", 1, 18, kinds=("affine",), cost="bits + shift + 2 per output")
def _reduce_mean(ctx, node, attrs):
    _mean_or_sum(ctx, node, attrs, mean=True)


@lowering("ReduceSum", 1, 13, kinds=("affine",), cost="bits + shift + 2 per output")
def _reduce_sum(ctx, node, attrs):
    _mean_or_sum(ctx, node, attrs, mean=False)


@lowering("ReduceMax", 1, 20, kinds=("max",), cost=MAX_COST)
def _reduce_max(ctx, node, attrs):
    groups = _groups(ctx, node, attrs)
    if groups is None:
        ctx.alias(node.output[0], node.input[0])
        return
    index, out_shape = groups
    ctx.emit(MaxNode((ctx.act(node.input[0]),), node.output[0], index), out_shape)
