"""Products of activations: the ``bilinear`` instruction, and MatMul of two
activations, Mul of two activations and squares (Pow with exponent 2).

``bilinear`` (docs/program.md):
``y[o] = floor((Σ_t X[left[o,t]]·X[right[o,t]] + bias[o]) / 2^shift)``; each
product is one constraint, the sum is free inside the rescale.

Quantization: a product of values at scales ``f_a`` and ``f_b`` lands at
``S = f_a + f_b`` (the same for every term: the lowerings pair one operand's
column with the other's); the output takes the largest ``f_out ≤ S`` whose
range holds twice the calibration ``max|y|``, ``shift = S - f_out``, and the
bias is rounded at ``S`` plus ``2^(shift-1)``.

Error bound: ``|âb̂ - ab| ≤ |a| e_b + |b| e_a + e_a e_b`` per term, with
``|a|``, ``|b|`` the largest magnitudes of their intervals; plus the bias
rounding and ``2^-(f_out+1)`` from the final floor. Values: the interval of a
product is the hull of its four corner products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkml.errors import ModelError
from zkml.ops.affine import _bias_error, column_scales
from zkml.ops.base import (
    FLOAT_SLACK,
    HEADROOM,
    INT64_SAFE,
    Kind,
    NodeBase,
    chunked,
    concat_flat,
    frac_bits,
    input_offsets,
    kind,
    lowering,
    max_abs_elementwise,
    source_of,
    take,
)
from zkml.ops.linear import round_bias


def _invalid(message: str) -> ModelError:
    return ModelError(f"invalid program: {message}")


@dataclass(frozen=True, eq=False)
class BilinearNode(NodeBase):
    left: np.ndarray   # [O, T] int64
    right: np.ndarray  # [O, T] int64
    bias: np.ndarray   # [O] float64


@dataclass(frozen=True, eq=False)
class BilinearInstruction:
    inputs: tuple[int, ...]
    output: int
    left: np.ndarray
    right: np.ndarray
    bias: np.ndarray
    shift: int
    op = "bilinear"


def _products(X, left, right, bias, lead, exact: bool):
    def one(Xp):
        a, b = take(Xp, left), take(Xp, right)
        if exact:
            a, b = a.astype(object), b.astype(object)
        return (a * b).sum(axis=-1) + (bias.astype(object) if exact else bias)

    if not lead:
        return one(X)
    return np.concatenate([one(X[part]) for part in chunked(lead[0], 2 * left.size)], axis=0)


@kind
class Bilinear(Kind):
    op = "bilinear"
    Node = BilinearNode
    Instruction = BilinearInstruction
    CONSTANTS = ("left", "right", "bias")
    SCALARS = ("shift",)

    def run_float(self, node, xs, lead, out_shape):
        X = concat_flat(xs, lead)
        return _products(X, node.left, node.right, node.bias, lead, False).reshape(
            lead + tuple(out_shape))

    def intervals(self, node, ins, out_shape):
        lo = concat_flat([i[0] for i in ins], ())
        hi = concat_flat([i[1] for i in ins], ())
        corners = [take(p, node.left) * take(q, node.right)
                   for p in (lo, hi) for q in (lo, hi)]
        low = np.minimum.reduce(corners).sum(axis=-1) + node.bias
        high = np.maximum.reduce(corners).sum(axis=-1) + node.bias
        slack = (np.abs(low) + np.abs(high)) * 2.0**-30
        return (low - slack).reshape(out_shape), (high + slack).reshape(out_shape)

    def quantize(self, node, q):
        shapes = [q.shape(x) for x in node.inputs]
        offsets = input_offsets(shapes)
        scales = [q.scale(x) for x in node.inputs]
        f_left = column_scales(node.left, offsets, scales, f"'{node.output}' (left)")
        f_right = column_scales(node.right, offsets, scales, f"'{node.output}' (right)")
        total = f_left + f_right
        used = node.left.max(axis=0, initial=-1) >= 0
        if used.any() and len(set(total[used].tolist())) != 1:
            raise ModelError(f"internal error: '{node.output}': products at different scales")
        S = int(total[used][0]) if used.any() else frac_bits(HEADROOM * q.observed(node.output),
                                                             q.bits)
        f_out = min(frac_bits(HEADROOM * q.observed(node.output), q.bits), S)
        shift = S - f_out
        rounding = (1 << (shift - 1)) if shift > 0 else 0
        bias = [b + rounding for b in round_bias(node.bias, S)]
        if not all(-(2**63) <= b < 2**63 for b in bias):
            raise ModelError(f"'{node.output}': a bias does not fit 64 bits at scale 2^-{S}")
        return {"left": node.left.astype(np.int64), "right": node.right.astype(np.int64),
                "bias": np.array(bias, dtype=np.int64), "shift": shift}, f_out

    def errors(self, node, instr, b):
        names = node.inputs
        E = concat_flat([b.error(x) for x in names], ())
        M = concat_flat([max_abs_elementwise(b.interval(x)) for x in names], ())
        ea, eb = take(E, node.left), take(E, node.right)
        ma, mb = take(M, node.left), take(M, node.right)
        S = instr.shift + b.scale(node.output)
        bound = ((ma * eb + mb * ea + ea * eb).sum(axis=-1)
                 + _bias_error(instr.bias, instr.shift, S, node.bias)
                 + (2.0 ** -(b.scale(node.output) + 1) if instr.shift > 0 else 0.0))
        return (bound * FLOAT_SLACK).reshape(b.interval(node.output)[0].shape)

    def validate(self, instr, program, where):
        from zkml.program import ACCUMULATOR_LIMIT, MAX_SHIFT

        y = program.tensors[instr.output]
        left, right, bias = (np.asarray(a) for a in (instr.left, instr.right, instr.bias))
        if not 0 <= instr.shift <= MAX_SHIFT:
            raise _invalid(f"{where}: shift must be an int in [0, {MAX_SHIFT}], got {instr.shift!r}")
        if left.ndim != 2 or left.shape != right.shape or left.shape[0] != y.size \
                or bias.shape != (y.size,):
            raise _invalid(f"{where}: left and right must be [O, T] and bias [O] with O = {y.size}")
        size = input_offsets([program.tensors[i].shape for i in instr.inputs])[-1]
        for name, table in (("left", left), ("right", right)):
            if table.size and (table.min() < -1 or table.max() >= size):
                raise _invalid(f"{where}: {name} entries must lie in [-1, {size})")
        if np.any((left < 0) != (right < 0)):
            raise _invalid(f"{where}: left and right must be -1 at the same places")
        bound = bilinear_bound(instr, program)
        if bound >= ACCUMULATOR_LIMIT:
            raise _invalid(f"{where}: accumulator bound {bound} is not below 2^120")

    def evaluate(self, instr, xs, program, lead):
        X = concat_flat(xs, lead)
        exact = bilinear_bound(instr, program) >= INT64_SAFE
        acc = _products(X, instr.left, instr.right, instr.bias, lead, exact)
        y = acc // (1 << instr.shift) if exact else acc >> min(instr.shift, 63)
        return y.reshape(lead + program.tensors[instr.output].shape)


def bilinear_bound(instr, program) -> int:
    """``max_o Σ_t 2^(bl-1)·2^(br-1) + |bias[o]|`` (docs/program.md), exact, per row."""
    tensors = program.tensors
    offsets = input_offsets([tensors[i].shape for i in instr.inputs])
    bits = np.asarray([tensors[i].bits for i in instr.inputs] + [1], dtype=np.int64)
    src_l = source_of(np.asarray(instr.left), offsets)
    src_r = source_of(np.asarray(instr.right), offsets)
    log = np.where(src_l >= 0, bits[src_l] - 1 + bits[src_r] - 1, -1)
    bias = np.abs(np.asarray(instr.bias).astype(object))
    if log.size == 0:
        return int(max(bias, default=0))
    # Rows grouped by their exponents (few distinct ones in practice), each
    # group's products summed once, its largest bias added.
    rows, inverse = np.unique(log, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    best = 0
    for g, row in enumerate(rows):
        total = sum(1 << int(e) for e in row if e >= 0)
        best = max(best, total + int(max(bias[inverse == g], default=0)))
    return best


# --- ONNX ------------------------------------------------------------------------

PRODUCT_COST = "T products + bits + shift + 2 per output (T = terms summed)"


def emit_products(ctx, inputs: list[str], left: np.ndarray, right: np.ndarray, bias, out: str,
                  out_shape: tuple, known=None) -> None:
    ctx.emit(BilinearNode(tuple(inputs), out, np.asarray(left, np.int64),
                          np.asarray(right, np.int64),
                          np.broadcast_to(np.asarray(bias, np.float64),
                                          (int(np.prod(out_shape)),)).copy()),
             tuple(out_shape), known)


def emit_elementwise_product(ctx, node, a: str, b: str, out: str, known=None) -> None:
    """``out = a * b`` with numpy broadcasting, both activations."""
    from zkml.ops.base import broadcast_index

    names = [ctx.act(a), ctx.act(b)]
    shapes = [ctx.shape(x) for x in names]
    try:
        out_shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ModelError(f"node '{ctx.label(node)}' ({node.op_type}): shapes "
                         f"{[list(s) for s in shapes]} do not broadcast") from None
    if names[0] == names[1]:
        inputs, offsets = [names[0]], np.zeros(2, dtype=np.int64)
    else:
        inputs, offsets = names, input_offsets(shapes)
    left = broadcast_index(shapes[0], out_shape, int(offsets[0]))[:, None]
    right = broadcast_index(shapes[1], out_shape, int(offsets[1]))[:, None]
    if names[0] == names[1]:
        known = (0.0, np.inf) if known is None else known  # a square
    emit_products(ctx, inputs, left, right, 0.0, out, out_shape, known)


def emit_matmul(ctx, node, a: str, b: str, out: str) -> None:
    """``out = a @ b`` (numpy ``matmul`` semantics, batch axes broadcast)."""
    names = [ctx.act(a), ctx.act(b)]
    sa, sb = ctx.shape(names[0]), ctx.shape(names[1])
    same = names[0] == names[1]
    ia = np.arange(int(np.prod(sa)), dtype=np.int64).reshape(sa)
    ib = np.arange(int(np.prod(sb)), dtype=np.int64).reshape(sb) + (0 if same else ia.size)
    if ia.ndim == 1:
        ia = ia[None, :]
    if ib.ndim == 1:
        ib = ib[:, None]
    if ia.shape[-1] != ib.shape[-2]:
        raise ModelError(f"node '{ctx.label(node)}' (MatMul): shapes {list(sa)} and {list(sb)} "
                         "do not match")
    try:
        batch = np.broadcast_shapes(ia.shape[:-2], ib.shape[:-2])
    except ValueError:
        raise ModelError(f"node '{ctx.label(node)}' (MatMul): batch axes of {list(sa)} and "
                         f"{list(sb)} do not broadcast") from None
    m, k, n = ia.shape[-2], ia.shape[-1], ib.shape[-1]
    left = np.broadcast_to(ia[..., :, None, :], batch + (m, n, k))
    right = np.broadcast_to(np.swapaxes(ib, -1, -2)[..., None, :, :], batch + (m, n, k))
    full = batch + (m, n)
    out_shape = tuple(d for d, keep in zip(full, [True] * len(batch) + [len(sa) > 1, len(sb) > 1])
                      if keep)
    if not out_shape:
        ctx.fail(node, "the product is a scalar; scalar tensors are not supported")
    emit_products(ctx, [names[0]] if same else names, left.reshape(-1, k), right.reshape(-1, k),
                  0.0, out, out_shape)


@lowering("Pow", 7, 15, kinds=("bilinear", "function"), cost="square: bits + shift + 3; "
          "other exponents: see function")
def _pow(ctx, node, attrs):
    if not ctx.is_const(node.input[1]):
        ctx.fail(node, "the exponent is an activation; it must be a constant")
    exponent = np.asarray(ctx.const(node.input[1]), np.float64)
    if exponent.size != 1:
        ctx.fail(node, "the exponent must be a scalar")
    p = float(exponent.reshape(-1)[0])
    if p == 1.0:
        ctx.alias(node.output[0], node.input[0])
    elif p == 2.0:
        emit_elementwise_product(ctx, node, node.input[0], node.input[0], node.output[0])
    else:
        from zkml.ops.functions import emit_function

        emit_function(ctx, node, "pow", node.input[0], node.output[0], (p,))
