"""snarkjs's Groth16 JSON (keys, proofs, public inputs) parsed into integers.

snarkjs writes every number as a decimal string and every point in projective
form: a G1 point is ``[x, y, z]`` and a G2 point ``[[x_c0, x_c1], [y_c0, y_c1],
[z_c0, z_c1]]``, where an Fq2 element ``[c0, c1]`` is ``c0 + c1*u``. Affine
points have z = 1; the point at infinity is written with z = 0 (snarkjs uses
``["0", "1", "0"]``). Anything else is a :class:`ProofFormatError` that says
which field is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zkml.errors import ProofFormatError
from zkml.evm.bn254 import (
    G1Point,
    G2Point,
    Q,
    R,
    g1_on_curve,
    g2_in_subgroup,
    g2_on_curve,
)


def parse_field(value: object, modulus: int, what: str) -> int:
    """A canonical field element (0 <= v < modulus) from a canonical decimal
    string: digits only, no leading zero, at most 80 characters. The same rule
    as the native parser (native/src/snarkjs.rs), so one value has exactly one
    encoding that both accept."""
    if not isinstance(value, str):
        raise ProofFormatError(f"{what}: expected a decimal string, got {type(value).__name__}")
    if (
        not value
        or len(value) > 80
        or not value.isascii()
        or not value.isdigit()
        or (len(value) > 1 and value[0] == "0")
    ):
        raise ProofFormatError(f"{what}: {value[:80]!r} is not a canonical decimal number")
    number = int(value)
    if not 0 <= number < modulus:
        field = "r (the scalar field)" if modulus == R else "q (the base field)"
        raise ProofFormatError(f"{what}: {number} is not below {field}")
    return number


def _sequence(value: object, length: int, what: str) -> Sequence:
    if not isinstance(value, (list, tuple)) or len(value) != length:
        raise ProofFormatError(f"{what}: expected a list of {length} items")
    return value


def _affine_g1(value: object, what: str) -> G1Point:
    x, y, z = (parse_field(c, Q, f"{what}[{i}]") for i, c in enumerate(_sequence(value, 3, what)))
    if z == 0:
        # Only the canonical encoding: one point, one encoding.
        if (x, y) != (0, 1):
            raise ProofFormatError(f'{what}: the point at infinity must be written ["0", "1", "0"]')
        return None
    if z != 1:
        raise ProofFormatError(f"{what}: z must be 1 (affine) or 0 (infinity), got {z}")
    return (x, y)


def _parse_fq2(value: object, what: str):
    c0, c1 = _sequence(value, 2, what)
    return (parse_field(c0, Q, f"{what}[0]"), parse_field(c1, Q, f"{what}[1]"))


def _affine_g2(value: object, what: str) -> G2Point:
    xs, ys, zs = _sequence(value, 3, what)
    x = _parse_fq2(xs, f"{what}[0]")
    y = _parse_fq2(ys, f"{what}[1]")
    z = _parse_fq2(zs, f"{what}[2]")
    if z == (0, 0):
        if (x, y) != ((0, 0), (1, 0)):
            raise ProofFormatError(f'{what}: the point at infinity must be written [["0", "0"], ["1", "0"], ["0", "0"]]')
        return None
    if z != (1, 0):
        raise ProofFormatError(f'{what}: z must be ["1", "0"] (affine) or ["0", "0"] (infinity)')
    return (x, y)


def parse_g1(value: object, what: str) -> G1Point:
    """A G1 point from ``[x, y, z]``; checks that it lies on the curve (G1 has cofactor 1)."""
    point = _affine_g1(value, what)
    if not g1_on_curve(point):
        raise ProofFormatError(f"{what}: {point} is not on the BN254 curve y^2 = x^3 + 3")
    return point


def parse_g2(value: object, what: str) -> G2Point:
    """A G2 point from ``[[x_c0, x_c1], [y_c0, y_c1], [z_c0, z_c1]]``.

    Checks that it is on the twist and in the order-r subgroup (a scalar
    multiplication by r: a few milliseconds).
    """
    point = _affine_g2(value, what)
    if not g2_on_curve(point):
        raise ProofFormatError(f"{what}: the point is not on the BN254 G2 twist")
    if not g2_in_subgroup(point):
        raise ProofFormatError(f"{what}: the point is on the twist but not in the order-r subgroup G2")
    return point


def _check_header(document: dict, what: str) -> None:
    protocol = document.get("protocol", "groth16")
    if protocol != "groth16":
        raise ProofFormatError(f"{what}: protocol is {protocol!r}, expected 'groth16'")
    curve = document.get("curve", "bn128")
    if not isinstance(curve, str) or curve.lower() not in ("bn128", "bn254"):
        raise ProofFormatError(f"{what}: curve is {curve!r}, expected 'bn128' (BN254)")


@dataclass(frozen=True)
class VerifyingKey:
    """A Groth16 verifying key; ``ic[0]`` is the constant term, ``ic[i]`` weights input i-1."""

    alpha: G1Point
    beta: G2Point
    gamma: G2Point
    delta: G2Point
    ic: list[G1Point]

    @property
    def n_public(self) -> int:
        return len(self.ic) - 1


@dataclass(frozen=True)
class Proof:
    """A Groth16 proof (A in G1, B in G2, C in G1), affine, with Fq2 as (c0, c1)."""

    a: G1Point
    b: G2Point
    c: G1Point


def parse_verifying_key(vk: object) -> VerifyingKey:
    """Validate a snarkjs ``verification_key.json`` document (extra keys are ignored)."""
    what = "verification key"
    if not isinstance(vk, dict):
        raise ProofFormatError(f"{what}: expected a JSON object")
    _check_header(vk, what)
    for key in ("vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"):
        if key not in vk:
            raise ProofFormatError(f"{what}: missing {key!r}")
    ic_raw = vk["IC"]
    if not isinstance(ic_raw, list) or not ic_raw:
        raise ProofFormatError(f"{what}: 'IC' must be a non-empty list of G1 points")
    n_public = vk.get("nPublic", len(ic_raw) - 1)
    if isinstance(n_public, bool) or not isinstance(n_public, int) or n_public != len(ic_raw) - 1:
        raise ProofFormatError(
            f"{what}: nPublic is {n_public!r} but IC has {len(ic_raw)} points (expected nPublic + 1)"
        )
    return VerifyingKey(
        alpha=parse_g1(vk["vk_alpha_1"], "vk_alpha_1"),
        beta=parse_g2(vk["vk_beta_2"], "vk_beta_2"),
        gamma=parse_g2(vk["vk_gamma_2"], "vk_gamma_2"),
        delta=parse_g2(vk["vk_delta_2"], "vk_delta_2"),
        ic=[parse_g1(point, f"IC[{i}]") for i, point in enumerate(ic_raw)],
    )


def parse_proof(proof: object, *, check_points: bool = True) -> Proof:
    """Validate a snarkjs ``proof.json`` document.

    Coordinates must be canonical (< q). With ``check_points`` the points must
    also be on their curves and B in G2, which is what any verifier will demand.
    """
    what = "proof"
    if not isinstance(proof, dict):
        raise ProofFormatError(f"{what}: expected a JSON object")
    _check_header(proof, what)
    for key in ("pi_a", "pi_b", "pi_c"):
        if key not in proof:
            raise ProofFormatError(f"{what}: missing {key!r}")
    if check_points:
        return Proof(
            a=parse_g1(proof["pi_a"], "pi_a"),
            b=parse_g2(proof["pi_b"], "pi_b"),
            c=parse_g1(proof["pi_c"], "pi_c"),
        )
    return Proof(
        a=_affine_g1(proof["pi_a"], "pi_a"),
        b=_affine_g2(proof["pi_b"], "pi_b"),
        c=_affine_g1(proof["pi_c"], "pi_c"),
    )


def parse_public(public: object, n_public: int | None = None) -> list[int]:
    """Validate a snarkjs ``public.json`` document: a list of elements of Fr."""
    if not isinstance(public, list):
        raise ProofFormatError("public inputs: expected a JSON list of decimal strings")
    if n_public is not None and len(public) != n_public:
        raise ProofFormatError(f"public inputs: expected {n_public} values, got {len(public)}")
    return [parse_field(v, R, f"public input {i}") for i, v in enumerate(public)]
