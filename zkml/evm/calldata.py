"""Proofs as the verifier contract takes them: words, ABI calldata, snarkjs's text.

The contract's word order is
``[A.x, A.y, B.x_c1, B.x_c0, B.y_c1, B.y_c0, C.x, C.y]``: the pairing
precompile (EIP-197) reads an Fq2 element imaginary part (c1) first, while
snarkjs's JSON writes it real part (c0) first. This module is the one place
that swaps them.
"""

from __future__ import annotations

from collections.abc import Sequence

from zkml.errors import EvmError
from zkml.evm.encoding import parse_proof, parse_public
from zkml.evm.eth import abi_encode, selector


def proof_calldata(proof: dict, public: list, *, check_points: bool = True) -> tuple[list[int], list[int]]:
    """``(proof8, inputs)`` for ``verifyProof(uint256[8], uint256[N])``.

    Raises :class:`ProofFormatError` for a malformed proof or public input (a
    coordinate >= q, an input >= r, and, with ``check_points``, a point off its
    curve or outside G2). The point at infinity becomes (0, 0).
    """
    parsed = parse_proof(proof, check_points=check_points)
    inputs = parse_public(public)
    a = parsed.a or (0, 0)
    c = parsed.c or (0, 0)
    b = parsed.b or ((0, 0), (0, 0))
    (bx0, bx1), (by0, by1) = b
    return [a[0], a[1], bx1, bx0, by1, by0, c[0], c[1]], inputs


def snarkjs_calldata(proof: dict, public: list) -> str:
    """The same text as ``snarkjs zkey export soliditycalldata public.json proof.json``:
    the four arguments of the snarkjs-style overload, ready to paste.
    """
    words, inputs = proof_calldata(proof, public)

    def hex32(value: int) -> str:
        return f'"0x{value:064x}"'

    a = f"[{hex32(words[0])}, {hex32(words[1])}]"
    b = f"[[{hex32(words[2])}, {hex32(words[3])}],[{hex32(words[4])}, {hex32(words[5])}]]"
    c = f"[{hex32(words[6])}, {hex32(words[7])}]"
    public_text = ",".join(hex32(v) for v in inputs)
    return f"{a},{b},{c},[{public_text}]"


def verify_signature(n_public: int) -> str:
    return f"verifyProof(uint256[8],uint256[{n_public}])"


def snarkjs_verify_signature(n_public: int) -> str:
    return f"verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[{n_public}])"


def encode_verify_call(proof8: Sequence[int], inputs: Sequence[int]) -> bytes:
    """ABI calldata of ``verifyProof(uint256[8] proof, uint256[N] input)``, N = len(inputs).

    Values are only checked to fit in 256 bits (by eth-abi), so tests can send
    what an attacker would (an input + r, a coordinate >= q).
    """
    if len(proof8) != 8:
        raise EvmError(f"calldata: a proof is 8 words, got {len(proof8)}")
    n = len(inputs)
    return selector(verify_signature(n)) + abi_encode(["uint256[8]", f"uint256[{n}]"], [list(proof8), list(inputs)])


def encode_snarkjs_verify_call(
    a: Sequence[int], b: Sequence[Sequence[int]], c: Sequence[int], inputs: Sequence[int]
) -> bytes:
    """ABI calldata of the snarkjs-style overload; ``b`` is ``[[x_c1, x_c0], [y_c1, y_c0]]``."""
    if len(a) != 2 or len(c) != 2 or len(b) != 2 or any(len(row) != 2 for row in b):
        raise EvmError("calldata: expected a = [x, y], b = [[x_c1, x_c0], [y_c1, y_c0]], c = [x, y]")
    n = len(inputs)
    types = ["uint256[2]", "uint256[2][2]", "uint256[2]", f"uint256[{n}]"]
    values = [list(a), [list(row) for row in b], list(c), list(inputs)]
    return selector(snarkjs_verify_signature(n)) + abi_encode(types, values)


def split_proof8(proof8: Sequence[int]):
    """``(a, b, c)`` in the snarkjs-style overload's shape, from the 8-word proof."""
    return [proof8[0], proof8[1]], [[proof8[2], proof8[3]], [proof8[4], proof8[5]]], [proof8[6], proof8[7]]
