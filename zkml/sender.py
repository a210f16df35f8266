"""Binding a proof to the address that submits it (`zkml compile --bind-sender`).

A settlement contract pays whoever submits a valid proof; without a binding,
anyone could copy a pending `fulfil` transaction from the mempool and
resubmit it as their own. With ``--bind-sender`` the program gets one more
input, ``zkml_sender``: shape [5], 32 bits, scale 0, which no instruction
reads. It is still bound by the proof (our QAP adds one row ``A = x_j`` per
public input, so every public input's polynomial is independent of the
others; native/src/groth16/r1cs_to_qap.rs), and its five limbs pack (value +
2^31 each, little-endian, docs/program.md) into exactly one public signal
equal to the 160-bit address. The contract compares that signal with
``uint160(msg.sender)``; a proof made for one address fails for any other.

It is the last program input, so its signal comes right after the model's
input signals: signal k, where k is the number of input signals (recorded in
settings.json as ``sender.signal``), and the outputs follow it.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from zkml import program as prog
from zkml.errors import ArgumentError, ModelError

SENDER_INPUT = "zkml_sender"
LIMBS = 5
LIMB_BITS = 32
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def bind_sender(program: prog.Program) -> prog.Program:
    """``program`` with the sender input appended (a [5] x 32-bit, scale-0 tensor no instruction reads)."""
    names = {e.name for e in program.inputs} | {t.name for t in program.tensors}
    if SENDER_INPUT in names:
        raise ModelError(f"the model already has a tensor named {SENDER_INPUT!r}; --bind-sender needs that name")
    tensor = prog.Tensor(SENDER_INPUT, (LIMBS,), 0, LIMB_BITS)
    return dataclasses.replace(
        program,
        tensors=program.tensors + (tensor,),
        inputs=program.inputs + (prog.Io(SENDER_INPUT, len(program.tensors)),),
    )


def binds_sender(program: prog.Program) -> bool:
    return bool(program.inputs) and program.inputs[-1].name == SENDER_INPUT


def model_inputs(program: prog.Program) -> prog.Program:
    """``program`` as the model's user sees it: without the sender input (and without outputs)."""
    inputs = program.inputs[:-1] if binds_sender(program) else program.inputs
    return dataclasses.replace(program, inputs=inputs, outputs=())


def sender_signal(program: prog.Program) -> int | None:
    """Index of the public signal that holds the sender, or None when the program binds none.
    It is also the number of public signals that hold the model's inputs."""
    if not binds_sender(program):
        return None
    return prog.public_count(model_inputs(program))


def parse_address(address: object) -> int:
    """``0x`` + 40 hex digits as an integer (a mixed-case address must carry a valid EIP-55 checksum)."""
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise ArgumentError(f"sender {address!r} is not an Ethereum address (0x and 40 hex digits)")
    digits = address[2:]
    if digits != digits.lower() and digits != digits.upper():
        from zkml.evm.eth import require

        if not require("eth_utils").is_checksum_address(address):
            raise ArgumentError(f"sender {address} has a wrong EIP-55 checksum (mixed case must match it exactly)")
    return int(digits, 16)


def sender_limbs(address: object) -> np.ndarray:
    """The sender input's five signed 32-bit values for ``address``: they pack into one signal equal to it."""
    value = parse_address(address)
    return np.array([((value >> (LIMB_BITS * j)) & 0xFFFFFFFF) - 2**31 for j in range(LIMBS)], dtype=np.int64)


def input_salts(program: prog.Program, given=None) -> dict[str, int]:
    """The salts of the model's hashed inputs, keyed ``"input:NAME"``: taken
    from ``given`` (a dict keyed so or by bare name, or a salts file's path)
    where it names the input, drawn fresh otherwise (`zkml.privacy.salts_for`)."""
    from zkml.privacy import hashed_entries, salts_for

    view = model_inputs(program)
    return {f"{kind}:{e.name}": s for (kind, e), s in zip(hashed_entries(view), salts_for(view, given))}


def input_signals(program: prog.Program, inputs, salts=None) -> list[int]:
    """The public signals that hold the model's inputs (a settlement request
    commits to them), from inputs as `zkml.prove` takes them (an input.json
    path, its dict, or arrays), without the sender.

    A hashed input's signal is its salted commitment: ``salts`` gives one salt
    per hashed model input, as a list in `zkml.program.hashed` order or as a
    dict / salts file for `input_salts` (every hashed input must be named:
    a fresh salt here would be a commitment nobody can prove against)."""
    from collections.abc import Mapping

    from zkml.inputs import python_inputs
    from zkml.privacy import read_salts_file, salts_for

    view = model_inputs(program)
    hashed = prog.hashed(view)
    if isinstance(salts, (list, tuple)):
        if len(salts) != len(hashed):
            raise ArgumentError(f"the model's hashed inputs ({', '.join(e.name for e in hashed) or 'none'}) need "
                                f"one salt each, got {len(salts)}")
        from zkml.poseidon import check_salt

        try:
            values = [check_salt(v) for v in salts]
        except ValueError:
            raise ArgumentError("each salt must be an int in [0, r) (BN254's scalar field)") from None
    else:
        named = {} if salts is None else dict(salts) if isinstance(salts, Mapping) else read_salts_file(salts)
        missing = [e.name for e in hashed if f"input:{e.name}" not in named and e.name not in named]
        if missing:
            raise ArgumentError(f"no salt given for the hashed input(s) {', '.join(missing)}: the request's "
                                "commitment must be one the prover can open")
        values = salts_for(view, named)
    quantized = prog.quantize_inputs(view, python_inputs(inputs, view))
    return prog.pack_public(view, quantized, [], values)
