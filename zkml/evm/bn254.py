"""Just enough BN254 arithmetic to vet a verifying key before it goes on chain.

The EVM precompiles fail on points that are off the curve or (for G2) outside
the order-r subgroup, and a verifier built from such a key would reject every
proof forever. Checking here turns that into a clear error at export time.
This module is deliberately tiny and dependency-free (no py_ecc at run time);
the tests check it against py_ecc.

Notation: Fq2 = Fq[u]/(u^2 + 1); an element is a tuple ``(c0, c1)`` meaning
``c0 + c1*u`` (the order snarkjs's JSON uses; the precompile wants c1 first).
Affine points are tuples; the point at infinity is ``None``.
"""

from __future__ import annotations

#: Base field modulus: point coordinates live in Fq.
Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
#: Scalar field modulus (the group order): public inputs live in Fr.
R = 21888242871839275222246405745257275088548364400416034343698204186575808495617

Fq2 = tuple[int, int]
G1Point = tuple[int, int] | None
G2Point = tuple[Fq2, Fq2] | None

G1_GENERATOR: tuple[int, int] = (1, 2)
#: The G2 generator fixed by EIP-197 (and used by snarkjs, gnark, arkworks).
G2_GENERATOR: tuple[Fq2, Fq2] = (
    (
        10857046999023057135944570762232829481370756359578518086990519993285655852781,
        11559732032986387107991004021392285783925812861821192530917403151452391805634,
    ),
    (
        8495653923123431417604973247489272438418190587263600148770280649306958101930,
        4082367875863433681332203403145435568316851327593401208105741076214120093531,
    ),
)


def fq2_add(a: Fq2, b: Fq2) -> Fq2:
    return ((a[0] + b[0]) % Q, (a[1] + b[1]) % Q)


def fq2_sub(a: Fq2, b: Fq2) -> Fq2:
    return ((a[0] - b[0]) % Q, (a[1] - b[1]) % Q)


def fq2_mul(a: Fq2, b: Fq2) -> Fq2:
    # (a0 + a1 u)(b0 + b1 u) = a0 b0 - a1 b1 + (a0 b1 + a1 b0) u, since u^2 = -1.
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


def fq2_inv(a: Fq2) -> Fq2:
    # 1/(a0 + a1 u) = (a0 - a1 u) / (a0^2 + a1^2)
    norm_inv = pow(a[0] * a[0] + a[1] * a[1], -1, Q)
    return (a[0] * norm_inv % Q, -a[1] * norm_inv % Q)


def fq2_neg(a: Fq2) -> Fq2:
    return (-a[0] % Q, -a[1] % Q)


#: The twist's constant: G2 is the curve y^2 = x^3 + 3/(9 + u) over Fq2.
G2_B: Fq2 = fq2_mul((3, 0), fq2_inv((9, 1)))


def g1_on_curve(point: G1Point) -> bool:
    """True for the point at infinity and for (x, y) in Fq with y^2 = x^3 + 3."""
    if point is None:
        return True
    x, y = point
    if not (0 <= x < Q and 0 <= y < Q):
        return False
    return (y * y - x * x * x - 3) % Q == 0


def g2_on_curve(point: G2Point) -> bool:
    """True for the point at infinity and for (x, y) on the twist y^2 = x^3 + b2."""
    if point is None:
        return True
    x, y = point
    if not all(0 <= c < Q for c in (*x, *y)):
        return False
    lhs = fq2_mul(y, y)
    rhs = fq2_add(fq2_mul(fq2_mul(x, x), x), G2_B)
    return lhs == rhs


def _g2_double(p):
    # Jacobian doubling for a = 0 ("dbl-2009-l"); p = (X, Y, Z), Z = 0 is infinity.
    x, y, z = p
    if z == (0, 0):
        return p
    a = fq2_mul(x, x)
    b = fq2_mul(y, y)
    c = fq2_mul(b, b)
    xb = fq2_add(x, b)
    d = fq2_sub(fq2_sub(fq2_mul(xb, xb), a), c)
    d = fq2_add(d, d)
    e = fq2_add(fq2_add(a, a), a)
    f = fq2_mul(e, e)
    x3 = fq2_sub(f, fq2_add(d, d))
    c8 = fq2_add(c, c)
    c8 = fq2_add(c8, c8)
    c8 = fq2_add(c8, c8)
    y3 = fq2_sub(fq2_mul(e, fq2_sub(d, x3)), c8)
    yz = fq2_mul(y, z)
    z3 = fq2_add(yz, yz)
    return (x3, y3, z3)


def _g2_add(p, q):
    # Jacobian addition ("add-2007-bl" without the Z1 == Z2 shortcut).
    if p[2] == (0, 0):
        return q
    if q[2] == (0, 0):
        return p
    x1, y1, z1 = p
    x2, y2, z2 = q
    z1z1 = fq2_mul(z1, z1)
    z2z2 = fq2_mul(z2, z2)
    u1 = fq2_mul(x1, z2z2)
    u2 = fq2_mul(x2, z1z1)
    s1 = fq2_mul(fq2_mul(y1, z2), z2z2)
    s2 = fq2_mul(fq2_mul(y2, z1), z1z1)
    if u1 == u2:
        if s1 == s2:
            return _g2_double(p)
        return ((1, 0), (1, 0), (0, 0))
    h = fq2_sub(u2, u1)
    h2 = fq2_add(h, h)
    i = fq2_mul(h2, h2)
    j = fq2_mul(h, i)
    rr = fq2_sub(s2, s1)
    rr = fq2_add(rr, rr)
    v = fq2_mul(u1, i)
    x3 = fq2_sub(fq2_sub(fq2_mul(rr, rr), j), fq2_add(v, v))
    s1j = fq2_mul(s1, j)
    y3 = fq2_sub(fq2_mul(rr, fq2_sub(v, x3)), fq2_add(s1j, s1j))
    z1pz2 = fq2_add(z1, z2)
    z3 = fq2_mul(fq2_sub(fq2_sub(fq2_mul(z1pz2, z1pz2), z1z1), z2z2), h)
    return (x3, y3, z3)


def g2_in_subgroup(point: G2Point) -> bool:
    """True when ``point`` is on the twist and r * point is the point at infinity.

    The twist has a large cofactor, so a point can be on the curve and still
    outside G2; the pairing precompile rejects such points.
    """
    if point is None:
        return True
    if not g2_on_curve(point):
        return False
    base = (point[0], point[1], (1, 0))
    acc = ((1, 0), (1, 0), (0, 0))
    for bit in bin(R)[2:]:
        acc = _g2_double(acc)
        if bit == "1":
            acc = _g2_add(acc, base)
    return acc[2] == (0, 0)


def g2_neg(point: G2Point) -> G2Point:
    """-P = (x, -y)."""
    if point is None:
        return None
    return (point[0], fq2_neg(point[1]))


__all__ = [
    "Q",
    "R",
    "G1_GENERATOR",
    "G2_GENERATOR",
    "G2_B",
    "g1_on_curve",
    "g2_on_curve",
    "g2_in_subgroup",
    "g2_neg",
]
