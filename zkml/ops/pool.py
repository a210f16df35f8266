"""Windows and maxima: the ``max`` instruction; MaxPool, GlobalMaxPool, Max,
AveragePool and GlobalAveragePool; and the sliding-window geometry that
convolutions share (:func:`windows`).

``max``: ``y[o] = max_t X[index[o, t]]`` over the entries that are not -1.
Proven, never trusted: ``y`` is range-checked, every ``y - x_t`` is shown to be
in ``[0, 2^bits)`` by its bits (so ``y ≥ x_t``), and ``Π_t (y - x_t) = 0``
(so ``y`` equals one of them): ``bits + 1 + T'·(bits + 1) + T' - 1``
constraints per output over ``T'`` entries. Bounds: max is 1-Lipschitz in the
sup norm, so the error of ``y`` is the largest error among its entries, and
its interval is ``[max lo, max hi]``.

Average pools are ``affine`` (weights ``1/count``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from zkml.errors import ModelError
from zkml.ops.base import Kind, NodeBase, chunked, concat_flat, input_offsets, kind, lowering, take
from zkml.ops.shape import check_same_scale


def _invalid(message: str) -> ModelError:
    return ModelError(f"invalid program: {message}")


@dataclass(frozen=True, eq=False)
class MaxNode(NodeBase):
    index: np.ndarray  # [O, T] int64, -1 = no entry


@dataclass(frozen=True, eq=False)
class MaxInstruction:
    inputs: tuple[int, ...]
    output: int
    index: np.ndarray
    op = "max"


def _masked_max(X, index, lead):
    floor_value = np.array(-np.inf) if X.dtype.kind == "f" else np.array(np.iinfo(np.int64).min)
    if not lead:
        return take(X, index, fill=floor_value).max(axis=-1)
    return np.concatenate([take(X[part], index, fill=floor_value).max(axis=-1)
                           for part in chunked(lead[0], index.size)], axis=0)


@kind
class Max(Kind):
    op = "max"
    Node = MaxNode
    Instruction = MaxInstruction
    CONSTANTS = ("index",)
    SAME_SCALE = True

    def run_float(self, node, xs, lead, out_shape):
        return _masked_max(concat_flat(xs, lead), node.index, lead).reshape(lead + tuple(out_shape))

    def intervals(self, node, ins, out_shape):
        lo = _masked_max(concat_flat([i[0] for i in ins], ()), node.index, ())
        hi = _masked_max(concat_flat([i[1] for i in ins], ()), node.index, ())
        return lo.reshape(out_shape), hi.reshape(out_shape)

    def quantize(self, node, q):
        return {"index": node.index.astype(np.int64)}, q.scale(node.inputs[0]), q.bits_of(node.inputs[0])

    def errors(self, node, instr, b):
        E = concat_flat([b.error(x) for x in node.inputs], ())
        return take(E, node.index, fill=0.0).max(axis=-1).reshape(b.interval(node.output)[0].shape)

    def validate(self, instr, program, where):
        check_same_scale(instr, program, where)
        index = np.asarray(instr.index)
        y = program.tensors[instr.output]
        if index.ndim != 2 or index.shape[0] != y.size:
            raise _invalid(f"{where}: index must be [O, T] with O = {y.size} output elements")
        size = input_offsets([program.tensors[i].shape for i in instr.inputs])[-1]
        if index.size and (index.min() < -1 or index.max() >= size):
            raise _invalid(f"{where}: index entries must lie in [-1, {size})")
        if index.shape[1] == 0 or np.any(index.max(axis=1) < 0):
            raise _invalid(f"{where}: every row of index needs at least one entry")

    def evaluate(self, instr, xs, program, lead):
        y = _masked_max(concat_flat(xs, lead), instr.index, lead)
        return y.reshape(lead + program.tensors[instr.output].shape)


# --- sliding windows -----------------------------------------------------------------


def resolve_pads(node_label: str, spatial: tuple, kernel: tuple, strides: tuple, dilations: tuple,
                 attrs: dict) -> tuple[list[int], list[int]]:
    """``(begin, end)`` pads per spatial axis, from ``pads`` or ``auto_pad``."""
    n = len(spatial)
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("NOTSET", ""):
        pads = list(attrs.get("pads", [0] * (2 * n)))
        if len(pads) != 2 * n:
            raise ModelError(f"node '{node_label}': pads has {len(pads)} entries, expected {2 * n}")
        return pads[:n], pads[n:]
    if auto == "VALID":
        return [0] * n, [0] * n
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for size, k, s, d in zip(spatial, kernel, strides, dilations):
            out = -(-size // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
            small, large = total // 2, total - total // 2
            begin.append(small if auto == "SAME_UPPER" else large)
            end.append(large if auto == "SAME_UPPER" else small)
        return begin, end
    raise ModelError(f"node '{node_label}': unknown auto_pad {auto!r}")


def windows(spatial: tuple, kernel: tuple, strides: tuple, dilations: tuple, begin: list,
            end: list, ceil_mode: bool = False):
    """Output spatial shape, and for every output position (row-major) the
    flat spatial index of each kernel tap (row-major), -1 where the tap falls
    outside the input; plus, per output position, how many taps lie inside
    the padded input (for average pools that count pads)."""
    out_dims = []
    for size, k, s, d, b, e in zip(spatial, kernel, strides, dilations, begin, end):
        span = (k - 1) * d + 1
        room = size + b + e - span
        if room < 0:
            raise ModelError(f"the window ({span}) is larger than the padded input ({size + b + e})")
        n = (-(-room // s) if ceil_mode else room // s) + 1
        if ceil_mode and (n - 1) * s >= size + b:
            n -= 1  # the last window must start inside the input or its begin pad
        out_dims.append(n)
    taps = list(itertools.product(*[range(k) for k in kernel]))
    positions = list(itertools.product(*[range(n) for n in out_dims]))
    grid = np.array(positions, dtype=np.int64).reshape(len(positions), 1, len(spatial))
    tap = np.array(taps, dtype=np.int64).reshape(1, len(taps), len(spatial))
    coord = grid * np.array(strides) - np.array(begin) + tap * np.array(dilations)
    inside = np.all((coord >= 0) & (coord < np.array(spatial)), axis=-1)
    flat = np.ravel_multi_index(tuple(np.clip(coord, 0, np.array(spatial) - 1).transpose(2, 0, 1)),
                                spatial)
    index = np.where(inside, flat, -1)
    padded = np.all((coord >= -np.array(begin)) & (coord < np.array(spatial) + np.array(end)),
                    axis=-1).sum(axis=1)
    return tuple(out_dims), index, padded


def _pool_geometry(ctx, node, attrs):
    shape = ctx.shape(node.input[0])
    if len(shape) < 3:
        ctx.fail(node, f"the input has rank {len(shape)}; pools need [N, C, spatial...]")
    spatial = shape[2:]
    kernel = tuple(attrs["kernel_shape"])
    n = len(spatial)
    if len(kernel) != n:
        raise ModelError(f"node '{ctx.label(node)}': kernel_shape {list(kernel)} does not match "
                         f"{n} spatial axes")
    strides = tuple(attrs.get("strides", [1] * n))
    dilations = tuple(attrs.get("dilations", [1] * n))
    begin, end = resolve_pads(ctx.label(node), spatial, kernel, strides, dilations, attrs)
    out_dims, taps, padded = windows(spatial, kernel, strides, dilations, begin, end,
                                     bool(attrs.get("ceil_mode", 0)))
    return shape, out_dims, taps, padded


def _per_channel(shape: tuple, out_dims: tuple, taps: np.ndarray) -> np.ndarray:
    """Index table [N·C·positions, T] into the flattened [N, C, spatial] input."""
    plane = int(np.prod(shape[2:]))
    channels = shape[0] * shape[1]
    base = (np.arange(channels, dtype=np.int64) * plane)[:, None, None]
    full = np.where(taps[None] >= 0, taps[None] + base, -1)
    return full.reshape(channels * taps.shape[0], taps.shape[1])


MAX_COST = "(T+1)·(bits+1) + T - 1 per output over T entries"


@lowering("MaxPool", 1, 22, kinds=("max",), cost=MAX_COST)
def _max_pool(ctx, node, attrs):
    if len(node.output) > 1 and node.output[1]:
        ctx.mark_unusable(node.output[1], node, "MaxPool's Indices output is not supported")
    if attrs.get("storage_order", 0):
        ctx.fail(node, "storage_order=1 is not supported")
    shape, out_dims, taps, _ = _pool_geometry(ctx, node, attrs)
    index = _per_channel(shape, out_dims, taps)
    if np.any(index.max(axis=1) < 0):
        ctx.fail(node, "a window lies entirely in the padding")
    ctx.emit(MaxNode((ctx.act(node.input[0]),), node.output[0], index),
             tuple(shape[:2]) + out_dims)


@lowering("AveragePool", 1, 22, kinds=("affine",), cost="bits + shift + 2 per output")
def _average_pool(ctx, node, attrs):
    from zkml.ops.affine import emit_affine

    shape, out_dims, taps, padded = _pool_geometry(ctx, node, attrs)
    index = _per_channel(shape, out_dims, taps)
    if attrs.get("count_include_pad", 0):
        counts = np.tile(padded, shape[0] * shape[1])
    else:
        counts = (index >= 0).sum(axis=1)
    w_full = np.where(index >= 0, 1.0 / np.maximum(counts, 1)[:, None], 0.0)
    emit_affine(ctx, [ctx.act(node.input[0])], index, w_full, np.zeros(index.shape[0]),
                node.output[0], tuple(shape[:2]) + out_dims)


def _global_index(shape: tuple) -> np.ndarray:
    plane = int(np.prod(shape[2:]))
    return np.arange(shape[0] * shape[1] * plane, dtype=np.int64).reshape(-1, plane)


@lowering("GlobalMaxPool", 1, 22, kinds=("max",), cost=MAX_COST)
def _global_max_pool(ctx, node, attrs):
    shape = ctx.shape(node.input[0])
    if len(shape) < 3:
        ctx.fail(node, f"the input has rank {len(shape)}; pools need [N, C, spatial...]")
    ctx.emit(MaxNode((ctx.act(node.input[0]),), node.output[0], _global_index(shape)),
             tuple(shape[:2]) + (1,) * (len(shape) - 2))


@lowering("GlobalAveragePool", 1, 22, kinds=("affine",), cost="bits + shift + 2 per output")
def _global_average_pool(ctx, node, attrs):
    from zkml.ops.affine import emit_affine

    shape = ctx.shape(node.input[0])
    if len(shape) < 3:
        ctx.fail(node, f"the input has rank {len(shape)}; pools need [N, C, spatial...]")
    index = _global_index(shape)
    emit_affine(ctx, [ctx.act(node.input[0])], index,
                np.full(index.shape, 1.0 / index.shape[1]), np.zeros(index.shape[0]),
                node.output[0], tuple(shape[:2]) + (1,) * (len(shape) - 2))


@lowering("Max", 6, 13, kinds=("max",), cost=MAX_COST)
def _max(ctx, node, attrs):
    from zkml.ops.base import broadcast_index

    names = [x for x in node.input if x]
    if any(ctx.is_const(x) for x in names):
        ctx.fail(node, "Max with a constant operand is not supported (use Clip)")
    acts = [ctx.act(x) for x in names]
    shapes = [ctx.shape(x) for x in acts]
    out_shape = np.broadcast_shapes(*shapes)
    offsets = input_offsets(shapes)
    index = np.stack([broadcast_index(s, out_shape, int(offsets[i])) for i, s in enumerate(shapes)],
                     axis=1)
    ctx.emit(MaxNode(tuple(acts), node.output[0], index), tuple(out_shape))
