"""Sparse weighted sums: the ``affine`` instruction, and the element-wise
arithmetic lowerings (Add, Sub, Mul, Div, Neg, Sum, Mean).

``affine`` (docs/program.md): with ``X`` the inputs flattened and concatenated,
``y[o] = floor((Σ_t weight[row[o], t]·X[index[o, t]] + bias[o]) / 2^shift)``,
terms with ``index = -1`` left out. Convolutions, average pools, reductions,
batch normalisation, sums of activations and products by constants are all
this one instruction with different index tables (see conv.py, pool.py,
reduce.py, norm.py).

Quantization. Every column ``t`` of the index table reads inputs of one scale
``f_t`` (the lowerings build them so). A term's integer weight is
``round(w·2^(S - f_t))``, so every product lands at the common scale ``S``.
``S`` is at most ``min_t (frac_bits(max|w_{·,t}|) + f_t)`` (every weight fits
``bits`` signed bits), and at least what makes every weight exact when the
weights are short binary fractions (1, -1, 0.5: sums of activations cost no
precision), and otherwise as large as allowed. The output takes the largest
``f_out ≤ S`` whose range holds twice the calibration ``max|y|``;
``shift = S - f_out``; the bias is rounded at ``S`` plus ``2^(shift-1)``
(floor → nearest). A bias that would not fit 64 bits lowers ``S``.

Error bound, element-wise: with ``w̃`` the rounded weights and ``b̃`` the
rounded bias, ``ŷ = Σ w̃ x̂ + b̃ + ρ``, ``|ρ| ≤ 2^-(f_out+1)`` (0 if shift = 0):
``|ŷ - y| ≤ Σ_t |w| e_t + |w̃ - w| (|x|max_t + e_t) + |b̃ - b| + |ρ|``. Values:
``y ∈ Σ w c ± Σ |w| r`` for inputs in ``c ± r``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkml.errors import ModelError
from zkml.ops.base import (
    BIAS_LIMIT,
    FLOAT_SLACK,
    HEADROOM,
    INT64_SAFE,
    Kind,
    NodeBase,
    broadcast_index,
    chunked,
    concat_flat,
    frac_bits,
    input_offsets,
    kind,
    lowering,
    max_abs_elementwise,
    round_half_up,
    source_of,
    take,
)
from zkml.ops.linear import bias_rounding_error, round_bias


def _invalid(message: str) -> ModelError:
    return ModelError(f"invalid program: {message}")


@dataclass(frozen=True, eq=False)
class AffineNode(NodeBase):
    index: np.ndarray   # [O, T] int64, -1 = no term
    weight: np.ndarray  # [R, T] float64
    row: np.ndarray     # [O] int64
    bias: np.ndarray    # [O] float64


@dataclass(frozen=True, eq=False)
class AffineInstruction:
    inputs: tuple[int, ...]
    output: int
    index: np.ndarray
    weight: np.ndarray
    row: np.ndarray
    bias: np.ndarray
    shift: int
    op = "affine"


def _exact_bits(w: np.ndarray, cap: int) -> int:
    """The smallest ``f ≤ cap`` with every ``w·2^f`` an integer, else ``cap``."""
    w = np.asarray(w, dtype=np.float64)
    if not np.any(w):
        return -(10**6)
    for f in range(-62, cap + 1):
        scaled = np.ldexp(w, f)
        if np.array_equal(scaled, np.floor(scaled)):
            return f
    return cap


def column_scales(index: np.ndarray, offsets: np.ndarray, scales: list[int], where: str) -> np.ndarray:
    """The one input scale each column of ``index`` reads (0 for an empty column)."""
    src = source_of(index, offsets)
    scale_of = np.asarray(scales + [0], dtype=np.int64)  # src -1 -> the appended 0
    entry = np.where(src >= 0, scale_of[src], np.iinfo(np.int64).min)
    high = entry.max(axis=0, initial=np.iinfo(np.int64).min)
    low = np.where(src >= 0, entry, np.iinfo(np.int64).max).min(axis=0, initial=np.iinfo(np.int64).max)
    valid = src.max(axis=0, initial=-1) >= 0
    if np.any(valid & (high != low)):
        raise ModelError(f"internal error: {where}: a column of the index table reads inputs of "
                         "different scales")
    return np.where(valid, high, 0)


def _accumulate(X, index, weight, row, bias, lead, exact: bool):
    """``Σ_t weight[row, t]·X[index] + bias`` over chunks of samples."""
    w_full = weight[row]
    if not lead:
        g = take(X, index)
        if exact:
            g = g.astype(object)
            w_full = w_full.astype(object)
        return (g * w_full).sum(axis=-1) + (bias.astype(object) if exact else bias)
    out = []
    for part in chunked(lead[0], index.size):
        g = take(X[part], index)
        if exact:
            out.append((g.astype(object) * w_full.astype(object)).sum(axis=-1) + bias.astype(object))
        else:
            out.append((g * w_full).sum(axis=-1) + bias)
    return np.concatenate(out, axis=0)


@kind
class Affine(Kind):
    op = "affine"
    Node = AffineNode
    Instruction = AffineInstruction
    CONSTANTS = ("index", "weight", "row", "bias")
    SCALARS = ("shift",)

    def run_float(self, node, xs, lead, out_shape):
        X = concat_flat(xs, lead)
        y = _accumulate(X, node.index, node.weight, node.row, node.bias, lead, exact=False)
        return y.reshape(lead + tuple(out_shape))

    def intervals(self, node, ins, out_shape):
        lo = concat_flat([i[0] for i in ins], ())
        hi = concat_flat([i[1] for i in ins], ())
        w_full = node.weight[node.row]
        centre = (take((lo + hi) / 2, node.index) * w_full).sum(axis=-1) + node.bias
        radius = (take((hi - lo) / 2, node.index) * np.abs(w_full)).sum(axis=-1)
        radius = radius * FLOAT_SLACK + np.abs(centre) * 2.0**-30
        shape = tuple(out_shape)
        return (centre - radius).reshape(shape), (centre + radius).reshape(shape)

    def quantize(self, node, q):
        bits = q.bits
        shapes = [q.shape(x) for x in node.inputs]
        offsets = input_offsets(shapes)
        f_col = column_scales(node.index, offsets, [q.scale(x) for x in node.inputs],
                              f"'{node.output}'")
        used = np.abs(node.weight).max(axis=0, initial=0) > 0
        f_wanted = frac_bits(HEADROOM * q.observed(node.output), bits)
        if used.any():
            upper = min(frac_bits(float(np.abs(node.weight[:, t]).max()), bits) + int(f_col[t])
                        for t in np.flatnonzero(used))
            exact = max(_exact_bits(node.weight[:, t], 10**6) + int(f_col[t])
                        for t in np.flatnonzero(used))
            S = min(upper, max(exact, f_wanted))
        else:
            S = f_wanted
        while True:
            f_out = min(f_wanted, S)
            shift = S - f_out
            rounding = (1 << (shift - 1)) if shift > 0 else 0
            bias = [b + rounding for b in round_bias(node.bias, S)]
            if all(-BIAS_LIMIT <= b < BIAS_LIMIT for b in bias):
                break
            S -= 1
        weight = round_half_up(node.weight * np.ldexp(1.0, S - f_col)[None, :], 0)
        return {"index": node.index.astype(np.int64), "weight": weight.astype(np.int64),
                "row": node.row.astype(np.int64), "bias": np.array(bias, dtype=np.int64),
                "shift": shift}, f_out

    def errors(self, node, instr, b):
        names = node.inputs
        shapes = [b.interval(x)[0].shape for x in names]
        offsets = input_offsets(shapes)
        f_col = column_scales(node.index, offsets, [b.scale(x) for x in names], "")
        S = instr.shift + b.scale(node.output)
        E = concat_flat([b.error(x) for x in names], ())
        M = concat_flat([max_abs_elementwise(b.interval(x)) + b.error(x) for x in names], ())
        w_full = node.weight[node.row]
        w_tilde = np.ldexp(instr.weight.astype(np.float64), -(S - f_col)[None, :])[node.row]
        bound = ((take(E, node.index) * np.abs(w_full)).sum(axis=-1)
                 + (take(M, node.index) * np.abs(w_tilde - w_full)).sum(axis=-1)
                 + _bias_error(instr.bias, instr.shift, S, node.bias)
                 + (2.0 ** -(b.scale(node.output) + 1) if instr.shift > 0 else 0.0))
        return (bound * FLOAT_SLACK).reshape(b.interval(node.output)[0].shape)

    def validate(self, instr, program, where):
        from zkml.program import ACCUMULATOR_LIMIT, MAX_SHIFT

        tensors = program.tensors
        y = tensors[instr.output]
        index, weight, row, bias = (np.asarray(a) for a in (instr.index, instr.weight,
                                                            instr.row, instr.bias))
        if not 0 <= instr.shift <= MAX_SHIFT:
            raise _invalid(f"{where}: shift must be an int in [0, {MAX_SHIFT}], got {instr.shift!r}")
        if index.ndim != 2 or weight.ndim != 2 or row.ndim != 1 or bias.ndim != 1:
            raise _invalid(f"{where}: index must be [O, T], weight [R, T], row [O] and bias [O]")
        o, t = index.shape
        if o != y.size or row.shape != (o,) or bias.shape != (o,) or weight.shape[1] != t:
            raise _invalid(f"{where}: index {list(index.shape)}, weight {list(weight.shape)}, row "
                           f"{list(row.shape)} and bias {list(bias.shape)} do not fit an output of "
                           f"{y.size} elements")
        offsets = input_offsets([tensors[i].shape for i in instr.inputs])
        if index.size and (index.min() < -1 or index.max() >= offsets[-1]):
            raise _invalid(f"{where}: index entries must lie in [-1, {offsets[-1]})")
        if row.size and (row.min() < 0 or row.max() >= weight.shape[0]):
            raise _invalid(f"{where}: row entries must lie in [0, {weight.shape[0]})")
        bound = affine_bound(instr, program)
        if bound >= ACCUMULATOR_LIMIT:
            raise _invalid(f"{where}: accumulator bound {bound} is not below 2^120")

    def evaluate(self, instr, xs, program, lead):
        X = concat_flat(xs, lead)
        exact = affine_bound(instr, program) >= INT64_SAFE
        acc = _accumulate(X, instr.index, instr.weight, instr.row, instr.bias, lead, exact)
        y = acc // (1 << instr.shift) if exact else acc >> min(instr.shift, 63)
        return y.reshape(lead + program.tensors[instr.output].shape)


_BOUND_BLOCK = 1 << 20  # index entries bounded at a time


def affine_bound(instr, program) -> int:
    """``max_o Σ_t |weight[row[o],t]|·2^(b(t)-1) + |bias[o]|`` (docs/program.md),
    exact, over blocks of outputs: memory O(block), not O(outputs × taps)
    (a convolution's outputs × taps can be far more than its weights)."""
    tensors = program.tensors
    offsets = input_offsets([tensors[i].shape for i in instr.inputs])
    index, weight, row, bias = (np.asarray(a) for a in (instr.index, instr.weight, instr.row, instr.bias))
    if not weight.any():  # e.g. a program's layout, whose constants are zeros: the bias alone
        return max(abs(int(bias.min())), abs(int(bias.max()))) if bias.size else 0
    bits = np.asarray([tensors[i].bits for i in instr.inputs] + [1], dtype=np.int64)
    step = max(1, _BOUND_BLOCK // max(index.shape[1], 1))
    return max((_block_bound(index[o: o + step], weight, row[o: o + step], bias[o: o + step], offsets, bits)
                for o in range(0, index.shape[0], step)), default=0)


def _block_bound(index, weight, row, bias, offsets, bits) -> int:
    src = source_of(index, offsets)
    half_log = np.where(src >= 0, bits[src] - 1, -1)
    w_full = np.abs(weight[row]).astype(np.float64)
    terms = np.where(half_log >= 0, w_full * np.ldexp(1.0, np.maximum(half_log, 0)), 0.0)
    estimate = float((terms.sum(axis=1) + np.abs(bias.astype(np.float64))).max(initial=0))
    if estimate < 2.0**60:
        exact = np.where(half_log >= 0, np.abs(weight[row]) << np.maximum(half_log, 0), 0)
        return int((exact.sum(axis=1) + np.abs(bias)).max(initial=0))
    best = 0
    for o in range(src.shape[0]):
        total = abs(int(bias[o]))
        for t in range(src.shape[1]):
            if src[o, t] >= 0:
                total += abs(int(weight[row[o], t])) << int(half_log[o, t])
        best = max(best, total)
    return best


def _bias_error(bias_int: np.ndarray, shift: int, scale: int, bias: np.ndarray) -> np.ndarray:
    if np.abs(bias_int).max(initial=0) < 2**52:
        rounding = (1 << (shift - 1)) if shift > 0 else 0
        return np.abs(np.ldexp((bias_int - rounding).astype(np.float64), -scale) - bias)
    return bias_rounding_error(bias_int, shift, scale, bias)


# --- building affine nodes ---------------------------------------------------------


def compress_rows(w_full: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(weight, row)`` with ``weight[row] == w_full`` and no repeated row."""
    weight, row = np.unique(w_full, axis=0, return_inverse=True)
    return weight, row.reshape(-1).astype(np.int64)


def emit_affine(ctx, inputs: list[str], index: np.ndarray, w_full: np.ndarray, bias: np.ndarray,
                out: str, out_shape: tuple, known: tuple[float, float] | None = None) -> None:
    weight, row = compress_rows(np.asarray(w_full, dtype=np.float64))
    ctx.emit(AffineNode(tuple(inputs), out, np.asarray(index, dtype=np.int64), weight, row,
                        np.asarray(bias, dtype=np.float64).reshape(-1)), tuple(out_shape), known)


def emit_affine_rows(ctx, inputs: list[str], index: np.ndarray, weight: np.ndarray,
                     row: np.ndarray, bias: np.ndarray, out: str, out_shape: tuple) -> None:
    """:func:`emit_affine` with the weight rows given (no [O, T] weight table)."""
    ctx.emit(AffineNode(tuple(inputs), out, np.asarray(index, dtype=np.int64),
                        np.asarray(weight, dtype=np.float64), np.asarray(row, dtype=np.int64),
                        np.asarray(bias, dtype=np.float64).reshape(-1)), tuple(out_shape))


def emit_elementwise(ctx, node, inputs: list[str], coefs: list, bias, out: str,
                     known: tuple[float, float] | None = None) -> None:
    """``out = Σ_i coefs[i]·inputs[i] + bias`` with numpy broadcasting; coefs
    and bias are scalars or constant arrays."""
    names = [ctx.act(x) for x in inputs]
    shapes = [ctx.shape(x) for x in names]
    try:
        out_shape = np.broadcast_shapes(*shapes, *(np.shape(c) for c in coefs), np.shape(bias))
    except ValueError:
        raise ModelError(f"node '{ctx.label(node)}' ({node.op_type}): shapes "
                         f"{[list(s) for s in shapes]} do not broadcast") from None
    if len(out_shape) > len(shapes[0]) and not out_shape:
        ctx.fail(node, "scalar results are not supported")
    offsets = input_offsets(shapes)
    index = np.stack([broadcast_index(s, out_shape, int(offsets[i])) for i, s in enumerate(shapes)],
                     axis=1)
    w_full = np.stack([np.broadcast_to(np.asarray(c, np.float64), out_shape).reshape(-1)
                       for c in coefs], axis=1)
    bias_full = np.broadcast_to(np.asarray(bias, np.float64), out_shape).reshape(-1)
    if (len(names) == 1 and out_shape == shapes[0] and np.all(w_full == 1.0)
            and not np.any(bias_full)):
        ctx.alias(out, names[0])
        return
    emit_affine(ctx, names, index, w_full, bias_full, out, out_shape, known)


def emit_const_matmul(ctx, node, a: np.ndarray, b: str, out: str) -> None:
    """``out = A @ b`` for a constant 2-D ``A`` and an activation ``b`` (2-D)."""
    shape_b = ctx.shape(b)
    if a.ndim != 2 or len(shape_b) != 2 or a.shape[1] != shape_b[0]:
        ctx.fail(node, f"constant x activation needs a 2-D constant and a 2-D activation "
                       f"with matching inner size, got {list(a.shape)} and {list(shape_b)}")
    m, k = a.shape
    n = shape_b[1]
    index = (np.arange(k)[None, None, :] * n + np.arange(n)[None, :, None]).repeat(m, axis=0)
    w_full = np.repeat(a[:, None, :], n, axis=1)
    emit_affine(ctx, [ctx.act(b)], index.reshape(m * n, k), w_full.reshape(m * n, k),
                np.zeros(m * n), out, (m, n))


# --- ONNX: element-wise arithmetic ----------------------------------------------------

ELEMENTWISE_COST = "bits + shift + 2 per output"


def _operands(ctx, node):
    acts = [x for x in node.input if x and not ctx.is_const(x)]
    consts = [np.asarray(ctx.const(x), np.float64) for x in node.input if x and ctx.is_const(x)]
    return acts, consts


@lowering("Add", 7, 14, kinds=("affine",), cost=ELEMENTWISE_COST)
def _add(ctx, node, attrs):
    acts, consts = _operands(ctx, node)
    emit_elementwise(ctx, node, acts, [1.0] * len(acts), sum(consts) if consts else 0.0,
                     node.output[0])


@lowering("Sum", 6, 13, kinds=("affine",), cost=ELEMENTWISE_COST)
def _sum(ctx, node, attrs):
    _add(ctx, node, attrs)


@lowering("Mean", 6, 13, kinds=("affine",), cost=ELEMENTWISE_COST)
def _mean(ctx, node, attrs):
    acts, consts = _operands(ctx, node)
    n = len([x for x in node.input if x])
    emit_elementwise(ctx, node, acts, [1.0 / n] * len(acts),
                     (sum(consts) / n) if consts else 0.0, node.output[0])


@lowering("Sub", 7, 14, kinds=("affine",), cost=ELEMENTWISE_COST)
def _sub(ctx, node, attrs):
    a, b = node.input
    if ctx.is_const(a):
        emit_elementwise(ctx, node, [b], [-1.0], np.asarray(ctx.const(a), np.float64),
                         node.output[0])
    elif ctx.is_const(b):
        emit_elementwise(ctx, node, [a], [1.0], -np.asarray(ctx.const(b), np.float64),
                         node.output[0])
    else:
        emit_elementwise(ctx, node, [a, b], [1.0, -1.0], 0.0, node.output[0])


@lowering("Neg", 6, 13, kinds=("affine",), cost=ELEMENTWISE_COST)
def _neg(ctx, node, attrs):
    emit_elementwise(ctx, node, [node.input[0]], [-1.0], 0.0, node.output[0])


@lowering("Mul", 7, 14, kinds=("affine", "bilinear"),
          cost=ELEMENTWISE_COST + "; of two activations: 1 more")
def _mul(ctx, node, attrs):
    acts, consts = _operands(ctx, node)
    if len(acts) > 1:
        from zkml.ops.products import emit_elementwise_product

        emit_elementwise_product(ctx, node, acts[0], acts[1], node.output[0])
        return
    emit_elementwise(ctx, node, acts, [consts[0]], 0.0, node.output[0])


@lowering("Div", 7, 14, kinds=("affine", "function", "bilinear"),
          cost=ELEMENTWISE_COST + "; by an activation: a reciprocal (function) and a product")
def _div(ctx, node, attrs):
    a, b = node.input
    if not ctx.is_const(b):
        from zkml.ops.functions import emit_function
        from zkml.ops.products import emit_elementwise_product

        inverse = ctx.fresh(node.output[0] + "/reciprocal")
        emit_function(ctx, node, "reciprocal", b, inverse, ())
        if ctx.is_const(a):
            emit_elementwise(ctx, node, [inverse], [np.asarray(ctx.const(a), np.float64)], 0.0,
                             node.output[0])
        else:
            emit_elementwise_product(ctx, node, a, inverse, node.output[0])
        return
    divisor = np.asarray(ctx.const(b), np.float64)
    if np.any(divisor == 0):
        raise ModelError(f"node '{ctx.label(node)}' (Div): division by a constant zero")
    emit_elementwise(ctx, node, [a], [1.0 / divisor], 0.0, node.output[0])
