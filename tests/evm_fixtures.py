"""Valid Groth16 (BN254) instances without a prover or a circuit, for the verifier tests.

Whoever knows the trapdoor can satisfy the Groth16 equation

    e(A, B) = e(alpha, beta) * e(vk_x, gamma) * e(C, delta),
    vk_x = IC[0] + sum_i x_i * IC[i + 1]

for any public inputs x: pick scalars alpha, beta, gamma, delta, s_i (IC[i] =
s_i * G1), a and b (A = a * G1, B = b * G2), and solve the exponents for C:

    c = (a*b - alpha*beta - (s_0 + sum_i x_i * s_i) * gamma) / delta   (mod r)

A verifier cannot tell such a proof from a real one, which is exactly what the
tests need. Everything is emitted in snarkjs's JSON shape: decimal strings,
projective z = 1, Fq2 elements as [c0, c1] (py_ecc's FQ2.coeffs order).

Run ``python tests/evm_fixtures.py OUT_DIR [N_PUBLIC] [SEED]`` to write
verification_key.json, proof.json and public.json for the snarkjs CLI.
"""

from __future__ import annotations

import copy
import functools
import json
import random
import sys
from pathlib import Path

from py_ecc.optimized_bn128 import (
    FQ,
    FQ2,
    G1,
    G2,
    b2,
    curve_order,
    field_modulus,
    is_on_curve,
    multiply,
    normalize,
)

R = curve_order
Q = field_modulus


def g1_json(point) -> list:
    x, y = normalize(point)
    return [str(x.n), str(y.n), "1"]


def g2_json(point) -> list:
    x, y = normalize(point)
    # FQ2.coeffs is (c0, c1): the real part first, as snarkjs writes it.
    return [[str(x.coeffs[0]), str(x.coeffs[1])], [str(y.coeffs[0]), str(y.coeffs[1])], ["1", "0"]]


def _scalar(rng: random.Random) -> int:
    return rng.randrange(1, R)


@functools.cache
def _instance_json(n_public: int, seed: int) -> str:
    rng = random.Random(f"zkml-evm-fixture/{n_public}/{seed}")
    alpha, beta, gamma, delta = (_scalar(rng) for _ in range(4))
    ic_scalars = [_scalar(rng) for _ in range(n_public + 1)]
    public = [rng.randrange(R) for _ in range(n_public)]
    a, b = _scalar(rng), _scalar(rng)

    vk_x_scalar = (ic_scalars[0] + sum(x * s for x, s in zip(public, ic_scalars[1:]))) % R
    c = (a * b - alpha * beta - vk_x_scalar * gamma) * pow(delta, -1, R) % R

    vk = {
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": n_public,
        "vk_alpha_1": g1_json(multiply(G1, alpha)),
        "vk_beta_2": g2_json(multiply(G2, beta)),
        "vk_gamma_2": g2_json(multiply(G2, gamma)),
        "vk_delta_2": g2_json(multiply(G2, delta)),
        "IC": [g1_json(multiply(G1, s)) for s in ic_scalars],
        # snarkjs adds keys like this one; consumers must ignore what they do not know.
        "circuit_hash": f"fixture-{n_public}-{seed}",
    }
    proof = {
        "pi_a": g1_json(multiply(G1, a)),
        "pi_b": g2_json(multiply(G2, b)),
        "pi_c": g1_json(multiply(G1, c)),
        "protocol": "groth16",
        "curve": "bn128",
    }
    return json.dumps({"vk": vk, "proof": proof, "public": [str(x) for x in public]})


def groth16_instance(n_public: int, seed: int = 0) -> dict:
    """``{"vk", "proof", "public"}``: a valid instance, fresh dicts on every call
    (the points are computed once per (n_public, seed) and cached)."""
    return json.loads(_instance_json(n_public, seed))


def generator_delta_vk(n_public: int = 2) -> dict:
    """A key with vk_delta_2 = the G2 generator: what a setup with no phase 2 leaves."""
    vk = groth16_instance(n_public)["vk"]
    vk["vk_delta_2"] = g2_json(G2)
    return vk


def _fq_sqrt(value: int):
    root = pow(value, (Q + 1) // 4, Q)  # Q = 3 (mod 4)
    return root if root * root % Q == value % Q else None


def _fq2_sqrt(value: FQ2):
    """A square root in Fq2 = Fq[u]/(u^2 + 1), or None."""
    a0, a1 = value.coeffs
    norm_root = _fq_sqrt((a0 * a0 + a1 * a1) % Q)
    if norm_root is None:
        return None
    for sign in (1, -1):
        c0 = _fq_sqrt((a0 + sign * norm_root) * pow(2, -1, Q) % Q)
        if c0:
            c1 = a1 * pow(2 * c0, -1, Q) % Q
            root = FQ2([c0, c1])
            if root * root == value:
                return root
    return None


def g2_point_outside_subgroup() -> list:
    """A point on the G2 twist that is not in the order-r subgroup, in snarkjs JSON."""
    for x0 in range(1, 1000):
        x = FQ2([x0, 1])
        y = _fq2_sqrt(x * x * x + b2)
        if y is None:
            continue
        point = (x, y, FQ2.one())
        assert is_on_curve(point, b2)
        if multiply(point, R)[2] != FQ2.zero():  # r * P != infinity
            return g2_json(point)
    raise AssertionError("no twist point found")


def g1_point_off_curve() -> list:
    """(1, 3): 3^2 != 1^3 + 3."""
    assert not is_on_curve((FQ(1), FQ(3), FQ(1)), FQ(3))
    return ["1", "3", "1"]


def tampered(document: dict, path: tuple, value) -> dict:
    """A deep copy of ``document`` with the item at ``path`` replaced."""
    out = copy.deepcopy(document)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


def write_instance(out_dir: Path, n_public: int = 3, seed: int = 0) -> dict:
    instance = groth16_instance(n_public, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, key in (("verification_key.json", "vk"), ("proof.json", "proof"), ("public.json", "public")):
        (out_dir / name).write_text(json.dumps(instance[key], indent=1))
    return instance


if __name__ == "__main__":
    if not 2 <= len(sys.argv) <= 4:
        sys.exit("usage: python tests/evm_fixtures.py OUT_DIR [N_PUBLIC] [SEED]")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    s = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    write_instance(Path(sys.argv[1]), n, s)
