"""Smooth nonlinear functions: the ``function`` instruction (a piecewise
quadratic of the input's integer value) and the ONNX ops built on it —
Sigmoid, Tanh, Exp, Log, Erf, Gelu, Softplus, Elu, Selu, Celu, HardSwish,
Mish, Softsign, Sqrt, Reciprocal, Sin, Cos and Pow with a constant exponent —
and the composites Softmax, LogSoftmax and LayerNormalization.

``function`` (docs/program.md): the input ``x`` (``b`` bits) is offset to
``u = x + 2^(b-1)``; its top ``k`` bits pick a segment ``h``, the rest are the
offset ``l``; ``y = floor((c0[h] + c1[h]·l + c2[h]·l²) / 2^shift)``. In the
circuit, ``u``'s bits are proven, the table is read as a multilinear
polynomial of the segment bits, and ``l²``, ``c1(h)·l`` and ``c2(h)·l²`` cost
one constraint each: ``b + 1 + 2^k - k - 1 + 3 + bits + shift + 2`` per
element. Nothing is a hint: every value follows from the input's bits.

Quantization. The output scale ``f_out`` is the largest whose range holds twice
the calibration ``max|y|``; ``shift = 2(b-k) + 2`` keeps the rounding of the
integer coefficients below a quarter of an output step. Each segment's
quadratic is a least-squares fit to ``f`` at all ``2^(b-k)`` of its integer
points (targets clamped to twice the output range: beyond it the output
cannot be represented anyway and the proof fails, as for any overflow),
``c2`` then ``c1`` then ``c0`` rounded in turn with the later ones refitted,
and ``2^(shift-1)`` added to ``c0`` so the floor rounds to nearest. ``k`` is
the smallest in 4..10 whose worst error over the calibration range (the
final rounding included) is at most one output step (else 10).

Error bound, certified by enumeration: for an input in ``[lo, hi]`` quantized
with error ``e``, the program's integer input ``q`` lies in
``[⌈(lo-e)·2^f⌉, ⌊(hi+e)·2^f⌋]``; over every such ``q`` (at most ``2^b``, all
evaluated exactly) ``|ŷ(q) - f(q·2^-f)|`` is computed, and
``|f(x̂) - f(x)| ≤ L·e`` with ``L`` the largest ``|f'|`` on ``[lo-e, hi+e]``
(taken on a 4097-point grid, plus 1% — the one step that is sampled, not
proven). Functions with a restricted domain (log, sqrt, reciprocal, rsqrt)
are evaluated at ``max(x, 2^-24)`` below it; the report's range
certification flags a tensor whose range such inputs can leave.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from zkml.errors import ModelError, QuantizationError
from zkml.ops.base import (
    FLOAT_SLACK,
    HEADROOM,
    INT64_SAFE,
    Kind,
    NodeBase,
    frac_bits,
    kind,
    lowering,
)

MAX_INPUT_BITS = 20
MAX_K = 10
DOMAIN_FLOOR = 2.0**-24  # where log, sqrt, reciprocal and rsqrt meet the edge of their domain


def _invalid(message: str) -> ModelError:
    return ModelError(f"invalid program: {message}")


_ERF = np.vectorize(math.erf, otypes=[np.float64])


def _erf(x):
    return _ERF(np.asarray(x, np.float64))


def _phi(x):
    return 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _lookup(x, table):
    """``table[x]`` for integer ``x`` in range, else 0 (ArrayFeatureExtractor)."""
    values = np.asarray(table, np.float64)
    i = np.rint(np.asarray(x, np.float64))
    inside = (i >= 0) & (i < len(values))
    return np.where(inside, values[np.clip(i, 0, len(values) - 1).astype(np.int64)], 0.0)


def _positive(x, floor):
    return np.maximum(x, floor)


# name -> (f(x, params, floor), critical points(params) where f' = 0 or the domain edge)
FUNCTIONS = {
    "sigmoid": (lambda x, p, e: _sigmoid(x), lambda p: []),
    "tanh": (lambda x, p, e: np.tanh(x), lambda p: []),
    "exp": (lambda x, p, e: np.exp(np.minimum(x, 700.0)), lambda p: []),
    "log": (lambda x, p, e: np.log(_positive(x, e)), lambda p: []),
    "erf": (lambda x, p, e: _erf(x), lambda p: []),
    "gelu": (lambda x, p, e: x * _phi(x), lambda p: [-0.7517916]),
    "gelu_tanh": (lambda x, p, e: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                        * (x + 0.044715 * x**3))),
                  lambda p: [-0.7522]),
    "softplus": (lambda x, p, e: _softplus(x), lambda p: []),
    "elu": (lambda x, p, e: np.where(x > 0, x, p[0] * np.expm1(np.minimum(x, 0))), lambda p: [0.0]),
    "selu": (lambda x, p, e: p[1] * np.where(x > 0, x, p[0] * np.expm1(np.minimum(x, 0))),
             lambda p: [0.0]),
    "celu": (lambda x, p, e: np.maximum(x, 0) + np.minimum(0, p[0] * np.expm1(np.minimum(x, 0)
                                                                          / p[0])),
             lambda p: [0.0]),
    "hardswish": (lambda x, p, e: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0, lambda p: [-1.5, -3.0, 3.0]),
    "mish": (lambda x, p, e: x * np.tanh(_softplus(x)), lambda p: [-1.1924]),
    "softsign": (lambda x, p, e: x / (1.0 + np.abs(x)), lambda p: []),
    "sqrt": (lambda x, p, e: np.sqrt(_positive(x, 0.0)), lambda p: [0.0]),
    "reciprocal": (lambda x, p, e: 1.0 / np.where(np.abs(x) < e, np.where(x < 0, -e, e), x),
                   lambda p: [0.0]),
    "rsqrt": (lambda x, p, e: 1.0 / np.sqrt(_positive(x + p[0], e)), lambda p: [-p[0]]),
    "sin": (lambda x, p, e: np.sin(x), None),
    "cos": (lambda x, p, e: np.cos(x), None),
    "lookup": (lambda x, p, e: _lookup(x, p), lambda p: list(range(len(p)))),
    "pow": (lambda x, p, e: np.power(_positive(x, 0.0) if p[0] != int(p[0]) else x, p[0]),
            lambda p: [0.0]),
}


@dataclass(frozen=True, eq=False)
class FunctionNode(NodeBase):
    name: str
    params: tuple
    floor: float  # the domain floor used for log/reciprocal/sqrt (one input step)

    def f(self, x):
        return FUNCTIONS[self.name][0](np.asarray(x, np.float64), self.params, self.floor)


@dataclass(frozen=True, eq=False)
class FunctionInstruction:
    inputs: tuple[int, ...]
    output: int
    table: np.ndarray  # [2^k, 3] int64
    k: int
    shift: int
    op = "function"


def _table_values(table, u, b: int, k: int):
    """``c0[h] + c1[h]·l + c2[h]·l²`` for offset inputs ``u``, as Python ints."""
    seg = b - k
    h = u >> seg
    l_ = (u & ((1 << seg) - 1)).astype(object)
    t = np.asarray(table).astype(object)
    return t[h, 0] + t[h, 1] * l_ + t[h, 2] * l_ * l_


def function_bound(table, b: int, k: int) -> int:
    t = np.abs(np.asarray(table).astype(object))
    seg = b - k
    return int(max(t[:, 0] + t[:, 1] * (1 << seg) + t[:, 2] * (1 << (2 * seg))))


def _fit(node: FunctionNode, b: int, f_in: int, k: int, shift: int, f_out: int, bits: int):
    """Integer coefficients ``[2^k, 3]`` for ``node``'s function."""
    seg = b - k
    L = 1 << seg
    S = f_out + shift
    l_ = np.arange(L, dtype=np.float64)
    u = (np.arange(1 << k, dtype=np.float64)[:, None] * L + l_[None, :])
    x = np.ldexp(u - 2.0 ** (b - 1), -f_in)
    limit = 2.0 ** (bits) * 2.0 ** -f_out  # twice the output range
    target = np.ldexp(np.clip(node.f(x), -limit, limit), S)
    z = l_ / L  # fit in [0, 1) for conditioning, then scale back
    V = np.stack([np.ones(L), z, z * z], axis=1)
    coef, *_ = np.linalg.lstsq(V, target.T, rcond=None)  # [3, segments]
    c2 = np.round(coef[2] / (L * L))
    rest = target - c2[:, None] * l_[None, :] ** 2
    if L > 1:
        V1 = np.stack([np.ones(L), z], axis=1)
        c10, *_ = np.linalg.lstsq(V1, rest.T, rcond=None)
        c1 = np.round(c10[1] / L)
    else:
        c1 = np.zeros(1 << k)
    c0 = np.round((rest - c1[:, None] * l_[None, :]).mean(axis=1))
    rounding = (1 << (shift - 1)) if shift > 0 else 0
    table = np.empty((1 << k, 3), dtype=object)
    table[:, 0] = [int(v) + rounding for v in c0]
    table[:, 1] = [int(v) for v in c1]
    table[:, 2] = [int(v) for v in c2]
    return table


def _outputs(table, b: int, k: int, shift: int, q: np.ndarray) -> np.ndarray:
    """The program's output integers for input integers ``q``."""
    u = np.asarray(q, dtype=np.int64) + (1 << (b - 1))
    return _table_values(table, u, b, k) // (1 << shift)


def _q_range(lo: float, hi: float, e: float, f_in: int, b: int) -> tuple[int, int]:
    """The integer inputs a value in ``[lo, hi]`` quantized with error ``e`` can
    have (within the tensor's range: beyond it the proof fails)."""
    half = 1 << (b - 1)
    with np.errstate(over="ignore", invalid="ignore"):
        q_lo = np.clip(np.ceil(np.ldexp(lo - e, f_in)), -half, half - 1)
        q_hi = np.clip(np.floor(np.ldexp(hi + e, f_in)), -half, half - 1)
    if np.isnan(q_lo) or np.isnan(q_hi):
        return -half, half - 1
    return int(q_lo), int(q_hi)


def _table_error(node, table, b, k, shift, f_in, f_out, q_lo, q_hi) -> float:
    if q_hi < q_lo:
        return 0.0
    q = np.arange(q_lo, q_hi + 1, dtype=np.int64)
    y = np.array(_outputs(table, b, k, shift, q), dtype=np.float64)
    return float(np.abs(np.ldexp(y, -f_out) - node.f(np.ldexp(q.astype(np.float64), -f_in))).max())


def _lipschitz(node, lo: float, hi: float) -> float:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return math.inf
    if hi <= lo:
        return 0.0
    x = np.linspace(lo, hi, 4097)
    fx = node.f(x)
    slopes = np.abs(np.diff(fx)) / (x[1] - x[0])
    if not np.all(np.isfinite(slopes)):
        return math.inf
    return float(slopes.max()) * 1.01 + 1e-12


@kind
class Function(Kind):
    op = "function"
    Node = FunctionNode
    Instruction = FunctionInstruction
    CONSTANTS = ("table",)
    SCALARS = ("k", "shift")

    def run_float(self, node, xs, lead, out_shape):
        return node.f(xs[0])

    def intervals(self, node, ins, out_shape):
        lo, hi = ins[0]
        values = [node.f(lo), node.f(hi)]
        crit = FUNCTIONS[node.name][1]
        if crit is None:  # periodic: the hull of its range when the interval is wide
            wide = (hi - lo) >= 2 * math.pi
            values.append(np.where(wide, -1.0, np.minimum(values[0], values[1])))
            values.append(np.where(wide, 1.0, np.maximum(values[0], values[1])))
            # and the extrema inside a narrower interval
            for c in np.arange(-40, 41) * (math.pi / 2):
                inside = (lo <= c) & (c <= hi)
                values.append(np.where(inside, node.f(np.full_like(lo, c)), values[0]))
        else:
            for c in crit(node.params):
                inside = (lo <= c) & (c <= hi)
                values.append(np.where(inside, node.f(np.full_like(lo, c)), values[0]))
        low = np.minimum.reduce(values)
        high = np.maximum.reduce(values)
        slack = (np.abs(low) + np.abs(high)) * 2.0**-30 + 1e-12
        return low - slack, high + slack

    def quantize(self, node, q):
        x = node.inputs[0]
        b, f_in = q.bits_of(x), q.scale(x)
        if b > MAX_INPUT_BITS:
            raise QuantizationError(
                f"'{node.output}' ({node.name}): nonlinear functions take inputs of at most "
                f"{MAX_INPUT_BITS} bits; compile with --bits {MAX_INPUT_BITS} or less")
        f_out = frac_bits(HEADROOM * q.observed(node.output), q.bits)
        lo, hi = q.input_range(x)
        e = 2.0 ** -(f_in + 1)
        q_lo, q_hi = _q_range(lo, hi, e, f_in, b)
        best = None
        for k in range(min(4, b), min(MAX_K, b) + 1):
            shift = min(2 * (b - k) + 2, 100)
            table = _fit(node, b, f_in, k, shift, f_out, q.bits)
            if function_bound(table, b, k) >= 2**120:
                continue
            err = _table_error(node, table, b, k, shift, f_in, f_out, q_lo, q_hi)
            best = (table, k, shift)
            if err <= 2.0 ** -f_out:
                break
        if best is None:
            raise QuantizationError(f"'{node.output}' ({node.name}): the function's values do "
                                    "not fit the circuit's arithmetic")
        table, k, shift = best
        return {"table": np.array(table.tolist(), dtype=np.int64), "k": k, "shift": shift}, f_out

    def errors(self, node, instr, b):
        x = node.inputs[0]
        lo, hi = b.interval(x)
        e = b.error(x)
        bits, f_in, f_out = b.bits(x), b.scale(x), b.scale(node.output)
        g_lo, g_hi, g_e = float(lo.min()), float(hi.max()), float(e.max())
        q_lo, q_hi = _q_range(g_lo, g_hi, g_e, f_in, bits)
        table_err = _table_error(node, instr.table, bits, instr.k, instr.shift, f_in, f_out,
                                 q_lo, q_hi)
        if node.name == "lookup":  # a wrong index moves the value across the whole table
            spread = float(np.ptp(np.asarray(node.params))) if node.params else 0.0
            return np.where(e == 0, table_err, table_err + spread) * FLOAT_SLACK
        lip = _lipschitz(node, g_lo - g_e, g_hi + g_e)
        with np.errstate(invalid="ignore"):
            bound = np.where(e == 0, table_err, (table_err + lip * e) * FLOAT_SLACK)
        return np.broadcast_to(np.nan_to_num(bound, nan=np.inf, posinf=np.inf), lo.shape).copy()

    def validate(self, instr, program, where):
        from zkml.program import ACCUMULATOR_LIMIT, MAX_SHIFT

        if len(instr.inputs) != 1:
            raise _invalid(f"{where}: takes one input")
        x, y = program.tensors[instr.inputs[0]], program.tensors[instr.output]
        if x.shape != y.shape:
            raise _invalid(f"{where}: shapes differ ({list(x.shape)} vs {list(y.shape)})")
        if not 1 <= instr.k <= min(x.bits, MAX_K):
            raise _invalid(f"{where}: k must be in 1..{min(x.bits, MAX_K)}, got {instr.k}")
        if not 0 <= instr.shift <= MAX_SHIFT:
            raise _invalid(f"{where}: shift must be an int in [0, {MAX_SHIFT}], got {instr.shift!r}")
        table = np.asarray(instr.table)
        if table.shape != (1 << instr.k, 3):
            raise _invalid(f"{where}: table must be [{1 << instr.k}, 3], got {list(table.shape)}")
        bound = function_bound(table, x.bits, instr.k)
        if bound >= ACCUMULATOR_LIMIT:
            raise _invalid(f"{where}: accumulator bound {bound} is not below 2^120")

    def evaluate(self, instr, xs, program, lead):
        x = np.asarray(xs[0])
        b = program.tensors[instr.inputs[0]].bits
        if function_bound(instr.table, b, instr.k) < INT64_SAFE:
            u = x.astype(np.int64) + (1 << (b - 1))
            seg = b - instr.k
            h, l_ = u >> seg, u & ((1 << seg) - 1)
            t = np.asarray(instr.table, dtype=np.int64)
            return (t[h, 0] + t[h, 1] * l_ + t[h, 2] * l_ * l_) >> instr.shift
        y = _outputs(instr.table, b, instr.k, instr.shift, x.reshape(-1))
        # Beyond int64 is beyond every tensor's range: the range check reports it.
        clipped = [min(max(int(v), -(2**63)), 2**63 - 1) for v in y.tolist()]
        return np.array(clipped, dtype=np.int64).reshape(x.shape)


# --- ONNX ------------------------------------------------------------------------

FUNCTION_COST = "b + 2^k - k + 3 + bits + shift + 2 per output (k ≤ 10 segments bits)"


def emit_function(ctx, node, name: str, x: str, out: str, params: tuple) -> None:
    x = ctx.act(x)
    ctx.emit(FunctionNode((x,), out, name, tuple(float(p) for p in params), DOMAIN_FLOOR),
             ctx.shape(x))


def _unary(name: str, params=lambda attrs: ()):
    def lower(ctx, node, attrs):
        emit_function(ctx, node, name, node.input[0], node.output[0], params(attrs))

    return lower


for _op, _name, _first, _last, _params in [
    ("Sigmoid", "sigmoid", 6, 13, None), ("Tanh", "tanh", 6, 13, None),
    ("Exp", "exp", 6, 13, None), ("Log", "log", 6, 13, None), ("Erf", "erf", 9, 13, None),
    ("Softplus", "softplus", 1, 22, None), ("Softsign", "softsign", 1, 22, None),
    ("Elu", "elu", 6, 22, lambda a: (float(a.get("alpha", 1.0)),)),
    ("Selu", "selu", 6, 22, lambda a: (float(a.get("alpha", 1.67326319217681884765625)),
                                       float(a.get("gamma", 1.05070102214813232421875)))),
    ("Celu", "celu", 12, 22, lambda a: (float(a.get("alpha", 1.0)),)),
    ("HardSwish", "hardswish", 14, 22, None), ("Mish", "mish", 18, 22, None),
    ("Sqrt", "sqrt", 6, 13, None), ("Reciprocal", "reciprocal", 6, 13, None),
    ("Sin", "sin", 7, 22, None), ("Cos", "cos", 7, 22, None),
]:
    lowering(_op, _first, _last, kinds=("function",), cost=FUNCTION_COST)(
        _unary(_name, _params or (lambda attrs: ())))


@lowering("Gelu", 20, 22, kinds=("function",), cost=FUNCTION_COST)
def _gelu(ctx, node, attrs):
    approx = attrs.get("approximate", b"none")
    approx = approx.decode() if isinstance(approx, bytes) else str(approx)
    emit_function(ctx, node, "gelu_tanh" if approx == "tanh" else "gelu", node.input[0],
                  node.output[0], ())


def _softmax_axes(ctx, node, attrs, shape):
    rank = len(shape)
    version = ctx.version(node)
    if version >= 13:
        axis = int(attrs.get("axis", -1))
        axis = axis + rank if axis < 0 else axis
        if not 0 <= axis < rank:
            raise ModelError(f"node '{ctx.label(node)}' ({node.op_type}): axis out of range")
        return [axis]
    axis = int(attrs.get("axis", 1))
    axis = axis + rank if axis < 0 else axis
    return list(range(axis, rank))  # older opsets: everything from axis on, flattened


def _stable_exp(ctx, node, x: str, axes: list[int]):
    """``exp(x - max(x))`` over ``axes`` and its sum; returns (d, e, s) names."""
    from zkml.ops.affine import emit_affine, emit_elementwise
    from zkml.ops.pool import MaxNode
    from zkml.ops.reduce import groups_for

    x = ctx.act(x)
    shape = ctx.shape(x)
    index, kept = groups_for(shape, axes, keepdims=True)
    out = node.output[0]
    m = ctx.fresh(out + "/max")
    ctx.emit(MaxNode((x,), m, index), kept)
    d = ctx.fresh(out + "/shifted")
    emit_elementwise(ctx, node, [x, m], [1.0, -1.0], 0.0, d, known=(-np.inf, 0.0))
    e = ctx.fresh(out + "/exp")
    emit_function(ctx, node, "exp", d, e, ())
    s = ctx.fresh(out + "/sum")
    # One term is exp(0) = 1 and none exceeds it.
    emit_affine(ctx, [e], index, np.ones(index.shape), np.zeros(index.shape[0]), s, kept,
                known=(1.0, float(index.shape[1])))
    return d, e, s


@lowering("Softmax", 1, 13, kinds=("max", "affine", "function", "bilinear"),
          cost="max + exp + sum + reciprocal + product per element")
def _softmax(ctx, node, attrs):
    from zkml.ops.products import emit_elementwise_product

    axes = _softmax_axes(ctx, node, attrs, ctx.shape(node.input[0]))
    _, e, s = _stable_exp(ctx, node, node.input[0], axes)
    r = ctx.fresh(node.output[0] + "/reciprocal")
    emit_function(ctx, node, "reciprocal", s, r, ())
    emit_elementwise_product(ctx, node, e, r, node.output[0], known=(0.0, 1.0))


@lowering("LogSoftmax", 1, 13, kinds=("max", "affine", "function"),
          cost="max + exp + sum + log per element")
def _log_softmax(ctx, node, attrs):
    from zkml.ops.affine import emit_elementwise

    axes = _softmax_axes(ctx, node, attrs, ctx.shape(node.input[0]))
    d, _, s = _stable_exp(ctx, node, node.input[0], axes)
    log_s = ctx.fresh(node.output[0] + "/log_sum")
    emit_function(ctx, node, "log", s, log_s, ())
    emit_elementwise(ctx, node, [d, log_s], [1.0, -1.0], 0.0, node.output[0])


@lowering("LayerNormalization", 17, 22, kinds=("affine", "bilinear", "function"),
          cost="mean, centring, square, variance, rsqrt, product and affine per element")
def _layer_norm(ctx, node, attrs):
    from zkml.ops.affine import emit_affine, emit_elementwise
    from zkml.ops.products import emit_elementwise_product
    from zkml.ops.reduce import groups_for

    for extra in node.output[1:]:
        if extra:
            ctx.mark_unusable(extra, node, "LayerNormalization's Mean and InvStdDev outputs are "
                                           "not supported")
    if int(attrs.get("stash_type", 1)) != 1:
        ctx.fail(node, "stash_type other than float is not supported")
    x = ctx.act(node.input[0])
    shape = ctx.shape(x)
    rank = len(shape)
    axis = int(attrs.get("axis", -1))
    axis = axis + rank if axis < 0 else axis
    axes = list(range(axis, rank))
    index, kept = groups_for(shape, axes, keepdims=True)
    out = node.output[0]
    mean = ctx.fresh(out + "/mean")
    emit_affine(ctx, [x], index, np.full(index.shape, 1.0 / index.shape[1]),
                np.zeros(index.shape[0]), mean, kept)
    centred = ctx.fresh(out + "/centred")
    emit_elementwise(ctx, node, [x, mean], [1.0, -1.0], 0.0, centred)
    square = ctx.fresh(out + "/square")
    emit_elementwise_product(ctx, node, centred, centred, square, known=(0.0, np.inf))
    var = ctx.fresh(out + "/variance")
    emit_affine(ctx, [square], index, np.full(index.shape, 1.0 / index.shape[1]),
                np.zeros(index.shape[0]), var, kept, known=(0.0, np.inf))
    inv = ctx.fresh(out + "/rsqrt")
    ctx.emit(FunctionNode((var,), inv, "rsqrt", (float(attrs.get("epsilon", 1e-5)),),
                          DOMAIN_FLOOR), kept)
    normed = ctx.fresh(out + "/normalized")
    emit_elementwise_product(ctx, node, centred, inv, normed)
    names = [n for n in node.input[1:3] if n]
    if any(not ctx.is_const(n) for n in names):
        ctx.fail(node, "Scale and B must be constants")
    scale = np.asarray(ctx.const(node.input[1]), np.float64)
    bias = (np.asarray(ctx.const(node.input[2]), np.float64)
            if len(node.input) > 2 and node.input[2] else 0.0)
    emit_elementwise(ctx, node, [normed], [scale], bias, out)
