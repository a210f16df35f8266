"""circomlib's Poseidon hash over BN254, for commitments computed off-chain.

Bit-compatible with circomlib's ``Poseidon(n)`` template and circomlibjs's
``poseidon`` (npm), and equal to what zkml's Poseidon gadget computes in a
circuit. One call hashes 1 to 8 field elements (state width t = n + 1).

    >>> from zkml.poseidon import poseidon
    >>> hex(poseidon([1, 2]))
    '0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a'
"""

from __future__ import annotations

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
