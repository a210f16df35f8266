"""circomlib's Poseidon hash over BN254, for commitments computed off-chain.

Bit-compatible with circomlib's ``Poseidon(n)`` template and circomlibjs's
``poseidon`` (npm), and equal to what zkml's Poseidon gadget computes in a
circuit. One call hashes 1 to 8 field elements (state width t = n + 1).

    >>> from zkml.poseidon import poseidon
    >>> hex(poseidon([1, 2]))
    '0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a'
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

#: r, the order of BN254's scalar field: every hash input and output is below it.
FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617

#: The most field elements one hash absorbs (t = 9, circomlib's largest Poseidon(n) used here; circomlibjs's
#: Solidity generator stops at 6, zkml.evm.poseidon_contract.MAX_INPUTS).
MAX_INPUTS = 8


def poseidon(values: Sequence[int]) -> int:
    """The Poseidon hash of ``values``, 1 to :data:`MAX_INPUTS` ints in (-r, r).

    A negative value x enters as r + x, the field element the circuit and
    circomlibjs use for it, so signed quantized values hash as they are
    encoded in a witness. Values at or beyond r in magnitude are refused
    rather than reduced: x and x + r would otherwise commit to the same hash.
    """
    from zkml import _native  # not at import time: `import zkml` must work before the native build

    field: list[int] = []
    for k, x in enumerate(values):
        if isinstance(x, bool) or not isinstance(x, int):
            raise TypeError(f"poseidon input {k}: expected an int, got {type(x).__name__}")
        if not -FIELD_MODULUS < x < FIELD_MODULUS:
            raise ValueError(f"poseidon input {k}: {x} is outside (-r, r) for BN254's scalar field r")
        field.append(x % FIELD_MODULUS)
    return int(_native.poseidon(field))


#: Packed elements absorbed per chained hash after the chaining value (native/src/gadgets/commit.rs):
#: 6-input hashes, the widest circomlibjs's Solidity generator makes.
CHUNK = 5


def commitment(values, bits: int, salt: int) -> int:
    """The salted commitment to a quantized tensor that a ``hashed`` input or
    output puts in its public signal (docs/privacy.md): ``values`` (ints in
    the signed ``bits``-bit range) packed as public signals are packed, then
    chained through Poseidon from ``salt``, 5 elements per hash."""
    import numpy as np

    from zkml.program import _pack

    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 64:
        raise ValueError(f"bits must be an int in 2..64, got {bits!r}")
    check_salt(salt)
    array = np.asarray(values)
    if array.dtype.kind not in "iu" or array.size == 0:
        raise ValueError("values must be a non-empty array of integers")
    array = array.reshape(-1).astype(np.int64)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if array.min() < lo or array.max() > hi:
        raise ValueError(f"values must lie in [{lo}, {hi}] ({bits} bits)")
    return commit_elements(_pack(array, bits), salt)


def commit_elements(elements: Sequence[int], salt: int) -> int:
    """The chain of a commitment over already packed field elements: from
    ``salt``, ``h = poseidon([h, *next 5 elements])`` until none are left."""
    h = check_salt(salt)
    for at in range(0, len(elements), CHUNK):
        h = poseidon([h, *elements[at: at + CHUNK]])
    return h


def check_salt(salt: object) -> int:
    """``salt`` if it is an int in [0, r), else ValueError."""
    if isinstance(salt, bool) or not isinstance(salt, int) or not 0 <= salt < FIELD_MODULUS:
        raise ValueError("a salt is an int in [0, r) for BN254's scalar field r")
    return salt


def random_salt() -> int:
    """A fresh salt, uniform in [0, r), from the OS's CSPRNG (253 bits of entropy)."""
    return secrets.randbelow(FIELD_MODULUS)
