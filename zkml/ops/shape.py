"""Data movement: the ``gather`` instruction, and every ONNX op that only
moves, copies or zero-pads elements (Reshape, Flatten, Squeeze, Unsqueeze,
Transpose, Slice, Concat, Split, Gather with constant indices, Pad, Expand,
Tile, DepthToSpace, SpaceToDepth), plus the no-ops (Identity, Dropout, a
float→float Cast) and Shape.

``gather``: ``y[o] = X[index[o]]``, or 0 where ``index[o] = -1``: no
constraints at all (one per instruction that pads, pinning a zero).

The index table of a movement op is computed by running the op itself (the
``onnx.reference`` implementation, so every attribute and opset rule is
ONNX's own) on tensors that hold their own element numbers (+1, so that a
padded 0 reads as -1). Bounds: values and errors move with their elements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkml.errors import ModelError
from zkml.ops.base import Kind, NodeBase, concat_flat, input_offsets, kind, lowering, take


def _invalid(message: str) -> ModelError:
    return ModelError(f"invalid program: {message}")


@dataclass(frozen=True, eq=False)
class GatherNode(NodeBase):
    index: np.ndarray  # [O] int64, -1 = the value 0


@dataclass(frozen=True, eq=False)
class GatherInstruction:
    inputs: tuple[int, ...]
    output: int
    index: np.ndarray
    op = "gather"


@kind
class Gather(Kind):
    op = "gather"
    Node = GatherNode
    Instruction = GatherInstruction
    CONSTANTS = ("index",)
    SAME_SCALE = True

    def run_float(self, node, xs, lead, out_shape):
        return take(concat_flat(xs, lead), node.index).reshape(lead + tuple(out_shape))

    def intervals(self, node, ins, out_shape):
        lo = take(concat_flat([i[0] for i in ins], ()), node.index).reshape(out_shape)
        hi = take(concat_flat([i[1] for i in ins], ()), node.index).reshape(out_shape)
        return lo, hi

    def quantize(self, node, q):
        return {"index": node.index.astype(np.int64)}, q.scale(node.inputs[0]), q.bits_of(node.inputs[0])

    def errors(self, node, instr, b):
        E = concat_flat([b.error(x) for x in node.inputs], ())
        return take(E, node.index).reshape(b.interval(node.output)[0].shape)

    def validate(self, instr, program, where):
        check_same_scale(instr, program, where)
        index = np.asarray(instr.index)
        y = program.tensors[instr.output]
        if index.ndim != 1 or index.shape[0] != y.size:
            raise _invalid(f"{where}: index must be [O] with O = {y.size} output elements")
        size = input_offsets([program.tensors[i].shape for i in instr.inputs])[-1]
        if index.size and (index.min() < -1 or index.max() >= size):
            raise _invalid(f"{where}: index entries must lie in [-1, {size})")

    def evaluate(self, instr, xs, program, lead):
        y = take(concat_flat(xs, lead), instr.index)
        return y.reshape(lead + program.tensors[instr.output].shape)


def check_same_scale(instr, program, where: str) -> None:
    y = program.tensors[instr.output]
    for i in instr.inputs:
        x = program.tensors[i]
        if (x.scale, x.bits) != (y.scale, y.bits):
            raise _invalid(f"{where}: every input and the output must share scale and bits "
                           f"(tensor '{x.name}' has scale {x.scale}, bits {x.bits}; the output "
                           f"{y.scale}, {y.bits})")


# --- ONNX ------------------------------------------------------------------------

FREE = "0 (moves elements)"


def emit_gather(ctx, inputs: list[str], index: np.ndarray, out: str, shape: tuple) -> None:
    names = [ctx.act(x) for x in inputs]
    index = np.asarray(index, dtype=np.int64).reshape(-1)
    if (len(names) == 1 and tuple(shape) == ctx.shape(names[0])
            and np.array_equal(index, np.arange(index.size))):
        ctx.alias(out, names[0])
        return
    ctx.emit(GatherNode(tuple(names), out, index), tuple(int(d) for d in shape))
    if all(ctx.is_integer(x) for x in names):
        ctx.mark_integer(out)


def _data_inputs(op_type: str, node) -> list[int]:
    """Which inputs of a movement op carry data (the rest must be constants)."""
    if op_type == "Concat":
        return list(range(len(node.input)))
    return [0]


def _movement(ctx, node, attrs):
    data = _data_inputs(node.op_type, node)
    feeds = {}
    acts: list[str] = []
    shapes = []
    for position, name in enumerate(node.input):
        if not name:
            continue
        if position in data and not ctx.is_const(name):
            acts.append(ctx.act(name))
            shapes.append(ctx.shape(name))
        elif position in data:
            ctx.fail(node, "mixing constant and activation data is not supported")
        elif not ctx.is_const(name):
            ctx.fail(node, f"input {position} ('{name}') is an activation; it must be a constant")
        else:
            feeds[name] = ctx.const(name)
    offsets = input_offsets(shapes)
    for name, shape in zip([n for k, n in enumerate(node.input) if k in data and n], shapes):
        i = acts.index(ctx.act(name))
        feeds[name] = (np.arange(int(np.prod(shape)), dtype=np.int64) + offsets[i] + 1).reshape(shape)
    if node.op_type == "Pad":
        value = node.input[2] if len(node.input) > 2 and node.input[2] else None
        pad_value = attrs.get("value", 0.0) if value is None else float(
            np.asarray(ctx.const(value)).reshape(-1)[0])
        if pad_value != 0:
            ctx.fail(node, f"padding with the constant {pad_value} is not supported (only 0)")
        if value is not None:
            feeds[value] = np.zeros((), dtype=np.int64)
    import onnx  # here, not at import: loading a build needs no ONNX
    from onnx.reference import ReferenceEvaluator

    try:
        model_node = onnx.helper.make_node(node.op_type, list(node.input), list(node.output),
                                           domain=node.domain)
        model_node.attribute.extend(node.attribute)
        results = ReferenceEvaluator(model_node, opsets={"": ctx.opset}).run(None, feeds)
    except Exception as exc:  # the reference implementation names the problem
        raise ModelError(f"node '{ctx.label(node)}' ({node.op_type}): {str(exc).splitlines()[0]}"
                         ) from exc
    for out, result in zip(node.output, results):
        if not out:
            continue
        result = np.asarray(result)
        if result.dtype.kind not in "iu":
            raise ModelError(f"node '{ctx.label(node)}' ({node.op_type}): internal error: the "
                             "index table is not integral")
        if result.ndim == 0 or result.size == 0:
            ctx.fail(node, f"the result shape {list(result.shape)} is a scalar or empty")
        emit_gather(ctx, acts, result.astype(np.int64) - 1, out, result.shape)


_MOVEMENT_OPS = {
    "Reshape": (5, 25), "Flatten": (1, 25), "Squeeze": (1, 25), "Unsqueeze": (1, 25),
    "Transpose": (1, 25), "Slice": (1, 25), "Concat": (1, 25), "Split": (1, 25),
    "Gather": (1, 25), "Pad": (2, 25), "Expand": (8, 25), "Tile": (6, 25),
    "DepthToSpace": (1, 25), "SpaceToDepth": (1, 25),
}
for _op, (_first, _last) in _MOVEMENT_OPS.items():
    lowering(_op, _first, _last, kinds=("gather",), cost=FREE)(_movement)


@lowering("Identity", 1, 25, kinds=(), cost="0 (removed)")
def _identity(ctx, node, attrs):
    ctx.alias(node.output[0], node.input[0])


@lowering("Dropout", 1, 22, kinds=(), cost="0 (removed: inference)")
def _dropout(ctx, node, attrs):
    training = node.input[2] if len(node.input) > 2 and node.input[2] else None
    if training is not None:
        if not ctx.is_const(training):
            ctx.fail(node, "training_mode is an activation; it must be a constant false")
        if bool(np.asarray(ctx.const(training)).reshape(-1)[0]):
            ctx.fail(node, "training_mode is true: a random mask cannot be proven")
    if attrs.get("is_test", 1) == 0 and ctx.version(node) < 7:
        ctx.fail(node, "is_test=0 (training) is not supported")
    if len(node.output) > 1 and node.output[1]:
        ctx.mark_unusable(node.output[1], node, "the dropout mask is not supported")
    ctx.alias(node.output[0], node.input[0])


@lowering("Cast", 6, 28, kinds=(), cost="0 (float→float is removed)")
def _cast(ctx, node, attrs):
    import onnx  # here, not at import: loading a build needs no ONNX

    floats = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16}
    integers = {onnx.TensorProto.INT64, onnx.TensorProto.INT32, onnx.TensorProto.INT16, onnx.TensorProto.INT8}
    to = int(attrs.get("to", 0))
    if to not in floats and not (to in integers and ctx.is_integer(node.input[0])):
        ctx.fail(node, f"a cast of an activation to {onnx.TensorProto.DataType.Name(to)} is not "
                       "supported (only float→float, a no-op in fixed point, and integer "
                       "labels from an ArgMax)")
    ctx.alias(node.output[0], node.input[0])


_NUMPY_INTEGER_KINDS = "iub"


@lowering("CastLike", 15, 25, kinds=(), cost="0 (float→float is removed)")
def _cast_like(ctx, node, attrs):
    like = node.input[1]
    if ctx.is_const(like):
        dtype = np.asarray(ctx.const(like)).dtype
    else:  # an activation is a float, or an integer label
        dtype = np.dtype(np.int64) if ctx.is_integer(like) else np.dtype(np.float64)
    if dtype.kind != "f" and not (dtype.kind in "iu" and ctx.is_integer(node.input[0])):
        ctx.fail(node, f"a cast of an activation to {dtype} is not supported (only "
                       "float→float, a no-op in fixed point, and integer labels)")
    ctx.alias(node.output[0], node.input[0])


@lowering("Shape", 1, 25, kinds=(), cost="0 (a constant: shapes are static)")
def _shape(ctx, node, attrs):
    shape = ctx.shape(node.input[0])
    rank = len(shape)
    start = int(attrs.get("start", 0))
    end = int(attrs.get("end", rank))
    start = min(max(start + rank if start < 0 else start, 0), rank)
    end = min(max(end + rank if end < 0 else end, 0), rank)
    ctx.set_const(node.output[0], np.array(shape[start:end], dtype=np.int64))


@lowering("Size", 1, 25, kinds=(), cost="0 (a constant: shapes are static)")
def _size(ctx, node, attrs):
    ctx.set_const(node.output[0], np.array(int(np.prod(ctx.shape(node.input[0]))), dtype=np.int64))
