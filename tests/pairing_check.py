"""An independent Groth16 verifier in pure Python (py_ecc), a slow but simple oracle.

It shares no code with zkml: it parses snarkjs's JSON itself and checks

    e(-A, B) * e(alpha, beta) * e(vk_x, gamma) * e(C, delta) == 1

with one final exponentiation over the product of four Miller loops (about
half a second). Use it on real proofs from the prover, beside snarkjs.
"""

from __future__ import annotations

from py_ecc.optimized_bn128 import (
    FQ,
    FQ2,
    FQ12,
    Z1,
    Z2,
    add,
    b,
    b2,
    curve_order,
    field_modulus,
    final_exponentiate,
    is_inf,
    is_on_curve,
    multiply,
    neg,
    pairing,
)


class _Reject(Exception):
    pass


def _element(value, modulus: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Reject(f"{what} is not a decimal string")
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise _Reject(f"{what} is not a decimal string")
    number = int(value)
    if not 0 <= number < modulus:
        raise _Reject(f"{what} is out of range")
    return number


def _g1(value, what: str):
    if not isinstance(value, list) or len(value) != 3:
        raise _Reject(f"{what} is not [x, y, z]")
    x, y, z = (_element(c, field_modulus, what) for c in value)
    if z == 0:
        return Z1
    if z != 1:
        raise _Reject(f"{what} is not affine")
    point = (FQ(x), FQ(y), FQ(1))
    if not is_on_curve(point, b):
        raise _Reject(f"{what} is not on the curve")
    return point


def _g2(value, what: str):
    if not isinstance(value, list) or len(value) != 3 or any(not isinstance(c, list) or len(c) != 2 for c in value):
        raise _Reject(f"{what} is not [[x0, x1], [y0, y1], [z0, z1]]")
    (x0, x1), (y0, y1), (z0, z1) = ((_element(c, field_modulus, what) for c in pair) for pair in value)
    if (z0, z1) == (0, 0):
        return Z2
    if (z0, z1) != (1, 0):
        raise _Reject(f"{what} is not affine")
    point = (FQ2([x0, x1]), FQ2([y0, y1]), FQ2.one())
    if not is_on_curve(point, b2):
        raise _Reject(f"{what} is not on the twist")
    if not is_inf(multiply(point, curve_order)):
        raise _Reject(f"{what} is not in the subgroup G2")
    return point


def check_with_py_ecc(vk: dict, proof: dict, public: list) -> str | None:
    """None when the proof verifies, else the reason it does not."""
    try:
        ic = [_g1(p, f"IC[{i}]") for i, p in enumerate(vk["IC"])]
        if not isinstance(public, list) or len(public) != len(ic) - 1:
            raise _Reject(f"expected {len(ic) - 1} public inputs")
        inputs = [_element(x, curve_order, f"public[{i}]") for i, x in enumerate(public)]
        alpha = _g1(vk["vk_alpha_1"], "vk_alpha_1")
        beta = _g2(vk["vk_beta_2"], "vk_beta_2")
        gamma = _g2(vk["vk_gamma_2"], "vk_gamma_2")
        delta = _g2(vk["vk_delta_2"], "vk_delta_2")
        a = _g1(proof["pi_a"], "pi_a")
        b_point = _g2(proof["pi_b"], "pi_b")
        c = _g1(proof["pi_c"], "pi_c")
    except _Reject as reason:
        return str(reason)
    except (KeyError, TypeError) as err:
        return f"malformed document: {err!r}"

    vk_x = ic[0]
    for x, point in zip(inputs, ic[1:]):
        vk_x = add(vk_x, multiply(point, x))

    product = FQ12.one()
    for g2_point, g1_point in ((b_point, neg(a)), (beta, alpha), (gamma, vk_x), (delta, c)):
        product = product * pairing(g2_point, g1_point, final_exponentiate=False)
    if final_exponentiate(product) != FQ12.one():
        return "the pairing equation does not hold"
    return None


def verify_with_py_ecc(vk: dict, proof: dict, public: list) -> bool:
    """True when ``proof`` is a valid Groth16 proof of ``public`` under ``vk``."""
    return check_with_py_ecc(vk, proof, public) is None
