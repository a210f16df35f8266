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
from zkml.errors import ArgumentError, InputFileError, ModelError, ZkmlError
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
    for key, wanted in spec.items():
        if not isinstance(key, str) or (key not in ("input", "output") and key not in names):
            raise ArgumentError(f"visibility: {key!r} is not 'input', 'output' or a model input or output "
                                f"(the model has {', '.join(repr(n) for n in names)})")
        if wanted not in prog.VISIBILITIES:
            raise ArgumentError(f"visibility of {key!r}: {wanted!r} is not one of {', '.join(prog.VISIBILITIES)}")
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
                      public: list[str], weights: CommittedWeights | None = None) -> None:
    """The commitments in ``public`` are the ones zkml.poseidon computes from
    the values and salts (an internal consistency check of prove); with
    committed weights the last salt is the weights'. ``weights``: the build's
    committed weights, whose recorded commitment (made by
    :func:`make_weights` from these values and salt, and checked against
    settings.json when the build was loaded) stands for recomputing it, which
    costs Poseidon over every weight on each proof."""
    if program.weight_bits is not None:
        *salts, weight_salt = salts
    expected = prog.pack_public(program, quantized_inputs, quantized_outputs, salts)
    if program.weight_bits is not None:
        if weights is not None and weights.salt == weight_salt:
            expected.append(weights.commitment)
        else:
            expected.append(prog.weights_commitment(program, weight_salt))
    if [int(v) for v in public] != expected:
        raise ModelError("internal error: the public signals disagree with the values and salts proved")


# --- committed weights ----------------------------------------------------------
#
# `zkml compile --weights committed` makes every linear and affine weight and
# bias a private witness value bound by one public commitment (the circuit's
# last public signal). circuit.json and constants.bin then hold the weights'
# shapes and widths only, so the circuit hash, the keys and the deployed
# verifier depend on the architecture alone: a model retrained with the same
# architecture and scales compiles into the same build, keeps its keys, and
# only its published commitment changes. The model owner keeps weights.bin
# (the values) and weights.json (the salt and the commitment), owner-only.

WEIGHTS_BIN = "weights.bin"
WEIGHTS_JSON = "weights.json"


@dataclasses.dataclass(frozen=True)
class CommittedWeights:
    blob: bytes
    salt: int
    commitment: int


def commit_weights(program: prog.Program, bits: int) -> prog.Program:
    """``program`` with its linear and affine weights committed at ``bits``
    (the width the quantizer gave them) and their biases at 64 bits."""
    committable = [(k, name, getattr(instr, name)) for k, instr in enumerate(program.instructions)
                   if instr.op in prog.COMMITTABLE for name in prog.COMMITTABLE[instr.op]]
    if not any(name == "weight" for _, name, _ in committable):
        raise ModelError("--weights committed: the model has no linear or affine weights to commit")
    half = 1 << (bits - 1)
    for k, name, values in committable:
        if name == "weight" and values.size and (int(values.min()) < -half or int(values.max()) >= half):
            raise ModelError(f"--weights committed: instruction {k} ({program.instructions[k].op}) has weights "
                             f"outside {bits} signed bits; compile with more --bits")
    return dataclasses.replace(program, weight_bits=bits)


def make_weights(program: prog.Program) -> CommittedWeights:
    """The committed weights of a freshly compiled program, under a fresh salt."""
    salt = random_salt()
    return CommittedWeights(program.weights_blob(), salt, prog.weights_commitment(program, salt))


def weights_document(weights: CommittedWeights) -> dict[str, Any]:
    import hashlib

    return {
        "note": "the model owner's secret: with the salt anyone can test guessed weights against the commitment",
        "salt": str(weights.salt),
        "commitment": str(weights.commitment),
        "weights_sha256": hashlib.sha256(weights.blob).hexdigest(),
    }


def read_weights(build_dir: Path, committed: prog.Program | bool) -> CommittedWeights | None:
    """The committed weights in a build compiled with them, checked against
    each other; None for a build whose weights are constants, or one that
    holds only what a verifier needs (neither file: the model owner keeps them).
    `committed`: the build's program, or whether its circuit commits weights."""
    import hashlib

    from zkml.artifacts import read_bytes, read_json

    if not (committed.weight_bits is not None if isinstance(committed, prog.Program) else committed):
        return None
    if not (build_dir / WEIGHTS_BIN).exists() and not (build_dir / WEIGHTS_JSON).exists():
        return None
    blob = read_bytes(build_dir / WEIGHTS_BIN, "committed weights")
    doc = read_json(build_dir / WEIGHTS_JSON, "committed weights' salt")
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str) for k in ("salt", "commitment",
                                                                                  "weights_sha256")):
        raise InputFileError(f"{build_dir / WEIGHTS_JSON}: expected salt, commitment and weights_sha256 strings",
                             build_dir / WEIGHTS_JSON)
    if hashlib.sha256(blob).hexdigest() != doc["weights_sha256"]:
        raise InputFileError(f"{build_dir / WEIGHTS_BIN} is not the weights {WEIGHTS_JSON} commits to "
                             "(its SHA-256 differs): compile the model again", build_dir / WEIGHTS_BIN)
    salt = _salt_value(doc["salt"], f"{build_dir / WEIGHTS_JSON}: salt")
    commitment = _salt_value(doc["commitment"], f"{build_dir / WEIGHTS_JSON}: commitment")
    return CommittedWeights(blob, salt, commitment)


def committed_template(build_dir: Path) -> prog.Program | None:
    """The program of an existing build with committed weights (its scales
    are reused for a retrained model), or None."""
    from zkml import artifacts

    try:
        data = (build_dir / artifacts.CIRCUIT).read_bytes()
        constants = (build_dir / artifacts.CONSTANTS).read_bytes()
        program = prog.from_files(data, constants)
    except (OSError, ZkmlError):
        return None
    return program if program.weight_bits is not None else None


def first_difference(old: prog.Program, new: prog.Program) -> str:
    """What first tells two programs apart, in words."""
    if len(old.tensors) != len(new.tensors) or len(old.instructions) != len(new.instructions):
        return (f"{len(new.tensors)} tensors and {len(new.instructions)} instructions instead of "
                f"{len(old.tensors)} and {len(old.instructions)}")
    for a, b in zip(old.tensors, new.tensors):
        if a != b:
            return f"tensor '{b.name}': scale 2^-{b.scale}, {b.bits} bits instead of 2^-{a.scale}, {a.bits} bits"
    for k, (a, b) in enumerate(zip(old.instructions, new.instructions)):
        if a.op != b.op or getattr(a, "shift", None) != getattr(b, "shift", None):
            return f"instruction {k} ({b.op}) differs, e.g. its shift, because the new weights need another scale"
    return "its inputs, outputs, visibility or index tables differ"
