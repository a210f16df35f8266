"""Comparisons that pick an index: the ``argmax`` instruction, ArgMax, and
``ai.onnx.ml``'s ArrayFeatureExtractor with constant data (how skl2onnx maps
a classifier's ArgMax to its class labels).

``argmax`` (docs/program.md): ``y[o]`` is the smallest column ``t`` whose
entry ``X[index[o,t]]`` equals the row's maximum (ONNX's tie rule,
``select_last_index = 0``). Proven, never trusted (``native/src/gadgets/argmax.rs``):
the maximum ``m`` is range-checked; boolean ``first_t`` with ``Σ_t first_t = 1``
mark the winner; with ``before_t = 1 - Σ_{s≤t} first_s`` (1 before the winner,
0 from it on), every ``m - x_t - before_t`` is shown to lie in ``[0, 2^bits)``
by its bits — so ``m`` is at least every entry and strictly above those before
the winner — and ``first_t·(m - x_t) = 0`` makes the winner attain ``m``;
``y = Σ_t t·first_t``. No witness value is left free.

The output is an integer label: scale 0, just wide enough for ``T - 1``.
Error bound: 0 for a row whose winner is certain over the whole input box
(its lower end, less its error, is above every other entry's upper end plus
error), else the worst case ``T - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkml.errors import ModelError
from zkml.ops.base import Kind, NodeBase, chunked, concat_flat, input_offsets, kind, lowering, take


def _invalid(message: str) -> ModelError:
    return ModelError(f"invalid program: {message}")


@dataclass(frozen=True, eq=False)
class ArgmaxNode(NodeBase):
    index: np.ndarray  # [O, T] int64, -1 = no entry


@dataclass(frozen=True, eq=False)
class ArgmaxInstruction:
    inputs: tuple[int, ...]
    output: int
    index: np.ndarray
    op = "argmax"


def label_bits(columns: int) -> int:
    return max(2, (columns - 1).bit_length() + 1)


def _first_argmax(X, index, lead):
    floor_value = -np.inf if X.dtype.kind == "f" else np.iinfo(np.int64).min

    def one(Xp):
        return take(Xp, index, fill=floor_value).argmax(axis=-1)  # numpy keeps the first

    if not lead:
        return one(X)
    return np.concatenate([one(X[part]) for part in chunked(lead[0], index.size)], axis=0)


@kind
class Argmax(Kind):
    op = "argmax"
    Node = ArgmaxNode
    Instruction = ArgmaxInstruction
    CONSTANTS = ("index",)
    SAME_SCALE = True

    def run_float(self, node, xs, lead, out_shape):
        X = concat_flat(xs, lead)
        return _first_argmax(X, node.index, lead).astype(np.float64).reshape(lead + tuple(out_shape))

    def intervals(self, node, ins, out_shape):
        top = float(node.index.shape[1] - 1)
        return np.zeros(out_shape), np.full(out_shape, top)

    def quantize(self, node, q):
        return {"index": node.index.astype(np.int64)}, 0, label_bits(node.index.shape[1])

    def errors(self, node, instr, b):
        lo = concat_flat([b.interval(x)[0] for x in node.inputs], ())
        hi = concat_flat([b.interval(x)[1] for x in node.inputs], ())
        E = concat_flat([b.error(x) for x in node.inputs], ())
        low = take(lo - E, node.index, fill=-np.inf)
        high = take(hi + E, node.index, fill=-np.inf)
        winner = low.argmax(axis=-1)
        others = high.copy()
        np.put_along_axis(others, winner[:, None], -np.inf, axis=-1)
        certain = low.max(axis=-1) > others.max(axis=-1)
        worst = float(node.index.shape[1] - 1)
        return np.where(certain, 0.0, worst).reshape(b.interval(node.output)[0].shape)

    def validate(self, instr, program, where):
        index = np.asarray(instr.index)
        y = program.tensors[instr.output]
        first = program.tensors[instr.inputs[0]]
        for i in instr.inputs:
            x = program.tensors[i]
            if (x.scale, x.bits) != (first.scale, first.bits):
                raise _invalid(f"{where}: every input must share scale and bits")
        if index.ndim != 2 or index.shape[0] != y.size or index.shape[1] == 0:
            raise _invalid(f"{where}: index must be [O, T] with O = {y.size} output elements")
        size = input_offsets([program.tensors[i].shape for i in instr.inputs])[-1]
        if index.min() < -1 or index.max() >= size:
            raise _invalid(f"{where}: index entries must lie in [-1, {size})")
        if np.any(index.max(axis=1) < 0):
            raise _invalid(f"{where}: every row of index needs at least one entry")
        if y.scale != 0 or y.bits < label_bits(index.shape[1]):
            raise _invalid(f"{where}: the output is an index: scale 0 and at least "
                           f"{label_bits(index.shape[1])} bits")

    def evaluate(self, instr, xs, program, lead):
        X = concat_flat(xs, lead)
        y = _first_argmax(X, instr.index, lead)
        return y.astype(np.int64).reshape(lead + program.tensors[instr.output].shape)


# --- ONNX ------------------------------------------------------------------------

ARGMAX_COST = "(T+1)·(bits+1) + 2T + bits_out + 3 per output over T entries"


@lowering("ArgMax", 1, 13, kinds=("argmax",), cost=ARGMAX_COST)
def _argmax(ctx, node, attrs):
    from zkml.ops.reduce import groups_for

    if attrs.get("select_last_index", 0):
        ctx.fail(node, "select_last_index=1 is not supported")
    x = ctx.act(node.input[0])
    shape = ctx.shape(x)
    axis = int(attrs.get("axis", 0))
    axis = axis + len(shape) if axis < 0 else axis
    if not 0 <= axis < len(shape):
        raise ModelError(f"node '{ctx.label(node)}' (ArgMax): axis out of range")
    index, out_shape = groups_for(shape, [axis], bool(attrs.get("keepdims", 1)))
    if not out_shape:
        ctx.fail(node, "the result is a scalar; scalar tensors are not supported")
    ctx.emit(ArgmaxNode((x,), node.output[0], index), out_shape)
    ctx.mark_integer(node.output[0])


@lowering("ArrayFeatureExtractor", 1, 1, kinds=("function",), domain="ai.onnx.ml",
          cost="a lookup: b + 2^k - k + 3 + bits + shift + 2 per output")
def _array_feature_extractor(ctx, node, attrs):
    from zkml.ops.functions import FunctionNode

    data, indices = node.input
    if not ctx.is_const(data) or ctx.is_const(indices):
        ctx.fail(node, "only constant data indexed by an activation is supported")
    table = np.asarray(ctx.const(data))
    if table.ndim != 1:
        ctx.fail(node, f"the data must be 1-D (class labels), got shape {list(table.shape)}")
    if table.dtype.kind not in "iuf":
        ctx.fail(node, f"the data holds {table.dtype} values; only numbers are supported "
                       "(string labels have no place in a circuit)")
    if not ctx.is_integer(indices):
        ctx.fail(node, "the indices must be integers from an ArgMax")
    x = ctx.act(indices)
    ctx.emit(FunctionNode((x,), node.output[0], "lookup",
                          tuple(float(v) for v in table.reshape(-1)), 0.0), ctx.shape(x))
    if table.dtype.kind in "iu" or np.all(table == np.round(table)):
        ctx.mark_integer(node.output[0])
