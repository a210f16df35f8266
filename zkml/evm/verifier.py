"""The Solidity verifier: rendered from ``zkml/data/Groth16Verifier.sol.tmpl``
(package data; ``contracts/`` links to it), compiled with solc, written atomically.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from zkml.artifacts import write_atomic
from zkml.errors import EvmError
from zkml.evm.bn254 import G2_GENERATOR, g2_neg
from zkml.evm.encoding import VerifyingKey, parse_verifying_key
from zkml.resources import verifier_template
from zkml.solc import compile_solidity

CONTRACT_NAME = "Groth16Verifier"

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_TEMPLATE_COMMENT = "//%"
_FOR = "//#for "
_END = "//#end"


def _refuse_unsafe_key(key: VerifyingKey) -> None:
    """Keys that parse but must never guard anything on chain."""
    for name in ("alpha", "beta", "gamma", "delta"):
        if getattr(key, name) is None:
            raise EvmError(
                f"refusing to export a verifier: vk_{name} is the point at infinity, "
                "so the key is degenerate and would accept forged proofs"
            )
    if key.delta == G2_GENERATOR:
        raise EvmError(
            "refusing to export a verifier: vk_delta_2 is the G2 generator, so the key has had "
            "no phase-2 contribution and anyone can forge proofs for it; run a phase-2 setup "
            "(or a dev setup with fresh randomness) first"
        )
    if key.gamma == key.delta:
        raise EvmError(
            "refusing to export a verifier: vk_gamma_2 equals vk_delta_2, so proofs can be "
            "forged for any public input"
        )
    if key.n_public == 0:
        raise EvmError("refusing to export a verifier: the circuit has no public inputs")


def _substitute(text: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise EvmError(f"verifier template: unknown placeholder {{{{{name}}}}}")
        return values[name]

    return _PLACEHOLDER.sub(replace, text)


def _expand_template(template: str, values: dict[str, str], loops: dict[str, list[dict[str, str]]]) -> str:
    out: list[str] = []
    lines = iter(template.splitlines())
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(_TEMPLATE_COMMENT):
            continue
        if stripped.startswith(_FOR):
            loop = stripped[len(_FOR):].strip()
            if loop not in loops:
                raise EvmError(f"verifier template: unknown loop {loop!r}")
            body = []
            for inner in lines:
                if inner.strip() == _END:
                    break
                body.append(inner)
            else:
                raise EvmError(f"verifier template: loop {loop!r} has no {_END}")
            for item in loops[loop]:
                out.extend(_substitute(inner, {**values, **item}) for inner in body)
            continue
        if stripped.startswith("//#"):
            raise EvmError(f"verifier template: unexpected directive {stripped!r}")
        out.append(_substitute(line, values))
    return "\n".join(out) + "\n"


EIP170_LIMIT = 24_576
# Runtime code besides 64 bytes per public input, measured with the pinned
# solc (1,477 bytes with 7 public inputs, VK_DATA's fixed 640 bytes included)
# and rounded up.
_CODE_BYTES = 1_600
MAX_PUBLIC_INPUTS = (EIP170_LIMIT - _CODE_BYTES) // 64


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def check_contract_name(name: str) -> str:
    """A Solidity contract name: letters, digits and underscores, not starting with a digit."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise EvmError(f"contract name {name!r} is not a Solidity identifier (letters, digits, _; not starting with a digit)")
    return name


# Where the template's _verify finds the inputs in calldata and IC[1] in memory.
_INPUTS_AT = 0x104
_IC_AT = 0x300


def _g1(point) -> bytes:
    x, y = point or (0, 0)  # infinity is (0, 0) for the precompiles
    return x.to_bytes(32, "big") + y.to_bytes(32, "big")


def _neg_g2(point) -> bytes:
    negated = g2_neg(point)
    assert negated is not None, "a verifying key's G2 points are never the point at infinity"
    (x_re, x_im), (y_re, y_im) = negated
    return b"".join(v.to_bytes(32, "big") for v in (x_im, x_re, y_im, y_re))


def vk_data(key: VerifyingKey) -> bytes:
    """The template's VK_DATA: -delta, alpha, -beta, 64 bytes for vk_x, -gamma,
    IC[1..N], 64 bytes of scratch, IC[0] (the layout its comment explains)."""
    gap = bytes(64)
    return (_neg_g2(key.delta) + _g1(key.alpha) + _neg_g2(key.beta) + gap + _neg_g2(key.gamma)
            + b"".join(_g1(p) for p in key.ic[1:]) + gap + _g1(key.ic[0]))


# Up to this many public inputs the verifier's IC steps are unrolled (each
# about 50 bytes of code, 60 gas less than a loop iteration); beyond it, a loop
# keeps the code within EIP-170 up to MAX_PUBLIC_INPUTS.
UNROLL_MAX = 64


def _ic_steps(n: int) -> dict[str, list[dict[str, str]]]:
    """The template's unrolled vk_x steps, input N down to input 1 (see its comment)."""
    steps = []
    for i in range(n, 0, -1):
        point = _IC_AT + 64 * (i - 1)  # P(i), where IC[i] is
        steps.append({"INPUT": str(i), "AT": hex(_INPUTS_AT + 32 * (i - 1)), "POINT": hex(point),
                      "NEXT": hex(point + 64)})
    return {"STEP": steps, "LOOP": []}


def render_verifier(vk: dict, contract_name: str = CONTRACT_NAME) -> str:
    """Solidity source of ``contract <contract_name>`` (``Groth16Verifier`` by
    default) with ``vk`` embedded as constants.

    ``vk`` is a snarkjs ``verification_key.json`` document. Raises
    :class:`ProofFormatError` for a malformed key (bad shape, a value out of
    range, a point off its curve or outside G2) and :class:`EvmError` for a key
    that is well formed but unsafe to deploy (no phase-2 randomness, gamma =
    delta, a point at infinity).
    """
    key = parse_verifying_key(vk)
    _refuse_unsafe_key(key)
    # Runtime code is ~1.5 KB plus 64 bytes of key data per public input;
    # refuse a contract that EIP-170 would refuse at deployment.
    estimate = _CODE_BYTES + 64 * key.n_public
    if estimate > EIP170_LIMIT:
        raise EvmError(
            f"a verifier for {key.n_public} public inputs would be about {estimate:,} bytes, over EIP-170's "
            f"{EIP170_LIMIT:,}-byte limit (at most {MAX_PUBLIC_INPUTS} public inputs fit); "
            "fewer public values are needed"
        )
    template = verifier_template()

    values: dict[str, str] = {
        "CONTRACT_NAME": check_contract_name(contract_name),
        "N_PUBLIC": str(key.n_public),
    }
    values["VK_DATA"] = vk_data(key).hex()
    n = key.n_public
    values["CALLDATA_SIZE"] = str(4 + 32 * (8 + n))
    values["UNROLL_MAX"] = str(UNROLL_MAX)
    loop = {"LAST_INPUT": hex(_INPUTS_AT + 32 * (n - 1)), "FIRST_NEXT": hex(_IC_AT + 64 * n)}
    source = _expand_template(template, values, _ic_steps(n) if n <= UNROLL_MAX else {"STEP": [], "LOOP": [loop]})
    comment = setup_comment(vk)
    if comment:
        first, _, rest = source.partition("\n")
        source = f"{first}\n{comment}\n{rest}"
    return source


def setup_comment(vk: dict) -> str:
    """Solidity comment lines saying how the key was made (the verification
    key's ``zkml_setup`` record), or "" when it says nothing."""
    record = vk.get("zkml_setup") if isinstance(vk, dict) else None
    if not isinstance(record, dict):
        return ""
    kind = record.get("kind")
    if kind == "ceremony":
        listed = record.get("contributions") or []
        names = "; ".join(f"{i + 1}. {str(c.get('name') or '(unnamed)')[:64]} ({c.get('kind')})"
                          for i, c in enumerate(listed) if isinstance(c, dict))
        ptau = record.get("ptau_sha256")
        lines = ["// Keys: Groth16 phase-2 ceremony"
                 + (f" from the powers-of-tau file with sha256 {ptau}" if isinstance(ptau, str) else "") + ";",
                 f"// {len(listed)} contribution(s): {names or 'none (not safe to use)'}."]
        return "\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines)
    if kind == "local-dev":
        return "// Keys: local development setup (zkml setup --dev), NOT for production."
    if kind == "seeded-test-only":
        return "// Keys: seeded test-only setup, NOT for production: anyone can forge proofs."
    return ""


def write_verifier(vk: dict, path: str | os.PathLike, contract_name: str = CONTRACT_NAME) -> Path:
    """Render the verifier for ``vk`` and write it to ``path`` atomically.

    The key is validated before anything touches the disk, and the file is
    written to a temporary name in the same folder and then renamed over
    ``path``: a reader sees the old file or the whole new one, never a part,
    and a failure leaves no temporary file behind.
    """
    source = render_verifier(vk, contract_name)
    target = Path(path)
    write_atomic(target, source.encode())
    return target


@dataclass(frozen=True)
class CompiledContract:
    """solc's output for one contract. Bytecodes are raw bytes (no 0x)."""

    abi: list
    bytecode: bytes
    deployed_bytecode: bytes = b""
    method_identifiers: dict[str, str] = field(default_factory=dict)
    compiler: dict[str, object] = field(default_factory=dict)


def compile_verifier(source: str, contract_name: str = CONTRACT_NAME) -> CompiledContract:
    """Compile Solidity ``source`` with solc (see :mod:`zkml.solc` for where it is found).

    Raises :class:`ToolMissingError` when no solc (or node for the npm one) is found
    and :class:`EvmError` with solc's messages when the source does not compile.
    """
    output = compile_solidity(source, contract_name)
    try:
        return CompiledContract(
            abi=output["abi"],
            bytecode=bytes.fromhex(output["bytecode"].removeprefix("0x")),
            deployed_bytecode=bytes.fromhex(output["deployedBytecode"].removeprefix("0x")),
            method_identifiers=dict(output.get("methodIdentifiers", {})),
            compiler=dict(output.get("compiler", {})),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise EvmError(f"solc's result is missing a field: {err}") from err
