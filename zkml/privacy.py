"""What a verifier sees of each model input and output (docs/privacy.md).

Each input and output of a compiled model is ``public`` (its values are packed
into public signals, the default), ``hashed`` (one public signal holds a salted
Poseidon commitment to its quantized values; the values and the salt stay with
the prover) or ``private`` (nothing about it is public). ``zkml compile
--visibility input=hashed`` chooses; the program records it per input and
output, so it is part of the circuit (and of its hash).

A proof of a build with hashed tensors needs one salt per hashed tensor. By
default ``prove`` draws each from the OS's CSPRNG (uniform below r: 253 bits
of entropy, so even a low-entropy tensor, a digit image or a yes/no answer,
cannot be found by trying values against its commitment) and writes them,
with the values of the outputs that are not public, to ``private.json``
beside the proof, readable by its owner only. A verifier never needs that
file: hand over ``proof.json`` and ``public.json`` (and ``output.json``,
which holds only what the public signals already show). Whoever should open a
commitment gets the salt from it; a settlement requester who chose the salt of
a hashed input gives it to the prover the same way (``prove --salts FILE``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from zkml import program as prog
from zkml.errors import ArgumentError, InputFileError, ModelError
from zkml.poseidon import check_salt, random_salt

PRIVATE_FILE = "private.json"


def apply_visibility(program: prog.Program, spec: Mapping[str, str] | None) -> prog.Program:
    """``program`` with each input's and output's visibility set from ``spec``:
    ``{"input": MODE}`` for every input, ``{"output": MODE}`` for every output,
    ``{NAME: MODE}`` for the input or output called NAME (it wins over the
    first two); MODE is public, hashed or private."""
    if spec is None:
        return program
    if not isinstance(spec, Mapping):
        raise ArgumentError(f"visibility must be a dict of 'input'/'output'/NAME -> mode, got {type(spec).__name__}")
    names = [e.name for e in program.inputs] + [e.name for e in program.outputs]
    for key, mode in spec.items():
        if not isinstance(key, str) or (key not in ("input", "output") and key not in names):
            raise ArgumentError(f"visibility: {key!r} is not 'input', 'output' or a model input or output "
                                f"(the model has {', '.join(repr(n) for n in names)})")
        if mode not in prog.VISIBILITIES:
            raise ArgumentError(f"visibility of {key!r}: {mode!r} is not one of {', '.join(prog.VISIBILITIES)}")
        if key not in ("input", "output") and names.count(key) > 1:
            raise ArgumentError(f"visibility: {key!r} names both an input and an output; use input=/output=")

    def mode(kind: str, entry: prog.Io) -> str:
        return spec.get(entry.name, spec.get(kind, entry.visibility))

    inputs = tuple(dataclasses.replace(e, visibility=mode("input", e)) for e in program.inputs)
    outputs = tuple(dataclasses.replace(e, visibility=mode("output", e)) for e in program.outputs)
    if all(e.visibility == "private" for e in inputs + outputs):
        raise ArgumentError("with every input and output private a proof would state nothing a verifier can "
                            "check: make at least one of them public or hashed")
    return dataclasses.replace(program, inputs=inputs, outputs=outputs)


def parse_cli(pairs: tuple[str, ...] | list[str]) -> dict[str, str] | None:
    """``--visibility KEY=MODE`` options as :func:`apply_visibility`'s dict."""
    if not pairs:
        return None
    spec: dict[str, str] = {}
    for pair in pairs:
        key, sep, mode = pair.partition("=")
        if not sep or not key or not mode:
            raise ArgumentError(f"--visibility {pair!r}: expected KEY=MODE, e.g. input=hashed or output=public")
        spec[key] = mode
    return spec


def signal_layout(program: prog.Program) -> list[dict[str, Any]]:
    """Which public signals each input and output takes (settings.json's ``public_signals``)."""
    layout, cursor = [], 0
    for kind, entries in (("input", program.inputs), ("output", program.outputs)):
        for e in entries:
            n = prog.signal_count(e, program.tensors[e.tensor])
            layout.append({"kind": kind, "name": e.name, "visibility": e.visibility, "first": cursor, "count": n})
            cursor += n
    return layout


def _key(kind: str, entry: prog.Io) -> str:
    return f"{kind}:{entry.name}"


def hashed_entries(program: prog.Program) -> list[tuple[str, prog.Io]]:
    """(kind, entry) of each hashed input then output: the order salts come in."""
    return [(kind, e) for kind, entries in (("input", program.inputs), ("output", program.outputs))
            for e in entries if e.visibility == "hashed"]


def read_salts_file(path: str | PathLike) -> dict[str, int]:
    """The ``salts`` of a private.json (or of a file `zkml request` wrote)."""
    from zkml.artifacts import read_json

    doc = read_json(Path(path), "salts file")
    salts = doc.get("salts") if isinstance(doc, dict) else None
    if not isinstance(salts, dict):
        raise InputFileError(f"{path}: expected a JSON object with a 'salts' object ('input:NAME': decimal)", path)
    return {k: _salt_value(v, f"{path}: salt {k!r}") for k, v in salts.items()}


def _salt_value(value: object, what: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    try:
        return check_salt(value)
    except ValueError:
        raise ArgumentError(f"{what} must be an integer in [0, r) (a decimal string in a file)") from None


def salts_for(program: prog.Program, given: Mapping[str, Any] | str | PathLike | None) -> list[int]:
    """One salt per hashed tensor, in :func:`hashed_entries` order: taken from
    ``given`` (a dict keyed ``"input:NAME"`` / ``"output:NAME"`` or by bare
    name, or the path of a file with a ``salts`` object) where it names the
    tensor, drawn fresh otherwise. A salt for a tensor that is not hashed is
    an error (it would not be used, and the caller may believe otherwise)."""
    if given is None:
        given = {}
    elif isinstance(given, (str, PathLike)):
        given = read_salts_file(given)
    elif not isinstance(given, Mapping):
        raise ArgumentError(f"salts must be a dict or a file path, got {type(given).__name__}")
    entries = hashed_entries(program)
    wanted = {_key(kind, e): e.name for kind, e in entries}
    for key in given:
        if key not in wanted and key not in wanted.values():
            raise ArgumentError(f"a salt is given for {key!r}, which is not a hashed input or output of this "
                                f"circuit (hashed: {', '.join(wanted) or 'none'})")
    salts = []
    for kind, e in entries:
        key = _key(kind, e)
        value = given.get(key, given.get(e.name))
        salts.append(random_salt() if value is None else _salt_value(value, f"salt of {key}"))
    return salts


def private_document(program: prog.Program, circuit_hash: str, salts: list[int],
                     outputs: dict[str, Any], quantized: dict[str, Any]) -> dict[str, Any]:
    """private.json: the salts, and the outputs a verifier does not see."""
    hidden = [e.name for e in program.outputs if e.visibility != "public"]
    return {
        "circuit_hash": circuit_hash,
        "note": "private to the prover: never give this file to a verifier; whoever gets a salt can check "
                "its commitment against a guessed value",
        "salts": {_key(kind, e): str(s) for (kind, e), s in zip(hashed_entries(program), salts)},
        "outputs": {n: outputs[n] for n in hidden},
        "quantized": {n: quantized[n] for n in hidden},
    }


def check_commitments(program: prog.Program, quantized_inputs: list, quantized_outputs: list, salts: list[int],
                      public: list[str]) -> None:
    """The commitments in ``public`` are the ones zkml.poseidon computes from
    the values and salts (an internal consistency check of prove)."""
    expected = prog.pack_public(program, quantized_inputs, quantized_outputs, salts)
    if [int(v) for v in public] != expected:
        raise ModelError("internal error: the public signals disagree with the values and salts proved")
