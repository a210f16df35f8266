"""Fuzzing every parser of user files with hypothesis: whatever the bytes, the
answer is a result or a ZkmlError, never another exception, a crash or a hang.

CI runs a bounded sample (ZKML_FUZZ_EXAMPLES, default 40 per target); run
`ZKML_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py` for a long session.
Cases that once broke a parser are pinned with @example."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import zkml
from conftest import DIGITS
from program_fixtures import all_ops_program, files, tiny_program
from zkml import _native, reference
from zkml import program as P
from zkml.inputs import parse_inputs

EXAMPLES = int(os.environ.get("ZKML_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

json_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=20,
)
# Small numbers keep mutated circuits small enough to synthesise quickly.
small_values = st.recursive(
    st.none() | st.booleans() | st.integers(-8, 300) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _paths(doc, prefix=()):
    """Every (path) inside a JSON document, for mutations."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


def _replace(doc, path, value):
    if not path:
        return value
    doc = json.loads(json.dumps(doc))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


def _mutated(data, draw_index, value):
    paths = list(_paths(data))
    return _replace(data, paths[draw_index % len(paths)], value)


def only_zkml_errors(fn, *args):
    try:
        return fn(*args)
    except zkml.ZkmlError:
        return None


@FUZZ
@given(doc=json_values)
@example(doc={"input_data": [[1e308] * 64]})
@example(doc={"input_data": [["nan"] * 64]})
def test_input_json(digits_build, doc):
    program = P.from_files((digits_build / "circuit.json").read_bytes(),
                           (digits_build / "constants.bin").read_bytes())
    only_zkml_errors(parse_inputs, doc, program)


# The two files of each hand-written program: circuit.json as a document (with
# its constants list and constant indices) and constants.bin.
PROGRAMS = {name: files(make()) for name, make in (("tiny", tiny_program),
                                                  ("all_ops", all_ops_program))}
DOCS = {name: json.loads(data) for name, (data, _) in PROGRAMS.items()}


def _at(doc, *path) -> int:
    """The ``where`` that :func:`_mutated` maps to ``path``."""
    return list(_paths(doc)).index(path)


@FUZZ
@given(which=st.sampled_from(sorted(PROGRAMS)), where=st.integers(0, 10_000), value=small_values)
@example(which="tiny", where=1, value="x" * 5)
# A JSON false where an int belongs: Python took it for 0 once.
@example(which="tiny", where=_at(DOCS["tiny"], "instructions", 0, "weight"), value=False)
@example(which="tiny", where=_at(DOCS["tiny"], "constants", 0, "shape", 1), value=True)
@example(which="all_ops", where=_at(DOCS["all_ops"], "instructions", 0, "inputs", 1), value=False)
# A list as 'op' is unhashable: `op in KINDS` raised TypeError once.
@example(which="all_ops", where=_at(DOCS["all_ops"], "instructions", 0, "op"), value=[])
def test_circuit_json_python_and_native_agree(which, where, value):
    doc = _mutated(DOCS[which], where, value)
    data, blob = json.dumps(doc).encode(), PROGRAMS[which][1]
    python_ok = only_zkml_errors(P.from_files, data, blob) is not None
    native_ok = only_zkml_errors(_native.circuit_info, data, blob) is not None
    if python_ok:
        assert native_ok, doc


def _evaluations_agree(program, data, blob):
    """The numpy reference and the native witness on a few inputs: the same
    outputs, or both refuse (a value out of its range)."""
    x = program.tensors[program.inputs[0].tensor]
    lo, hi = x.range
    for fill in (0, lo, hi, 3):
        inputs = [np.full(program.tensors[e.tensor].shape, fill, dtype=np.int64)
                  for e in program.inputs]
        try:
            expected = reference.evaluate(program, inputs)
        except zkml.ZkmlError:
            expected = None
        got = only_zkml_errors(_native.evaluate, data, blob, [q.reshape(-1).tolist() for q in inputs])
        if expected is None:
            assert got is None, fill
        else:
            assert got is not None, fill
            assert [list(o) for o in got[0]] == [e.reshape(-1).tolist() for e in expected], fill


@FUZZ
@given(which=st.sampled_from(sorted(PROGRAMS)), offset=st.integers(0, 10_000),
       new=st.binary(min_size=1, max_size=9), fix_checksum=st.booleans(),
       resize=st.sampled_from([0, 0, 0, -8, 8, -1, 1]))
@example(which="all_ops", offset=0, new=b"\x08", fix_checksum=True, resize=0)  # index out of range
@example(which="all_ops", offset=9 * 8, new=b"\xff" * 8, fix_checksum=True, resize=0)
def test_constants_bin_python_and_native_agree(which, offset, new, fix_checksum, resize):
    data, blob = PROGRAMS[which]
    blob = bytearray(blob)
    at = offset % len(blob)
    blob[at:at + len(new)] = new
    del blob[len(PROGRAMS[which][1]):]  # a replacement never grows the file by itself
    blob = bytes(blob) + bytes(max(resize, 0)) if resize >= 0 else bytes(blob[:resize])
    doc = json.loads(data)
    if fix_checksum:
        doc["constants_sha256"] = hashlib.sha256(blob).hexdigest()
    data = json.dumps(doc).encode()
    program = only_zkml_errors(P.from_files, data, blob)
    native = only_zkml_errors(_native.circuit_info, data, blob)
    # Values in constants.bin are exactly what both validators judge alike.
    assert (program is None) == (native is None), (doc, blob)
    if program is not None:
        _evaluations_agree(program, data, blob)


@FUZZ
@given(data=st.binary(max_size=300), blob=st.binary(max_size=64))
def test_circuit_json_random_bytes(data, blob):
    only_zkml_errors(P.from_files, data, blob)
    only_zkml_errors(_native.circuit_info, data, blob)


@FUZZ
@given(which=st.sampled_from(sorted(PROGRAMS)), blob=st.binary(max_size=600))
def test_constants_bin_random_bytes(which, blob):
    data, _ = PROGRAMS[which]
    doc = json.loads(data)
    doc["constants_sha256"] = hashlib.sha256(blob).hexdigest()
    data = json.dumps(doc).encode()
    only_zkml_errors(P.from_files, data, blob)
    only_zkml_errors(_native.circuit_info, data, blob)


@pytest.fixture(scope="module")
def valid_files(digits_build, digits_proof):
    vk = json.loads((digits_build / "verification_key.json").read_text())
    proof = json.loads((digits_proof / "proof.json").read_text())
    public = json.loads((digits_proof / "public.json").read_text())
    return vk, proof, public


@FUZZ
@given(which=st.sampled_from(["vk", "proof", "public"]), where=st.integers(0, 10_000), value=json_values)
@example(which="proof", where=1, value="9" * 5000)
@example(which="vk", where=2, value=["5", "7", "0"])
def test_proof_public_and_verifying_key(valid_files, which, where, value):
    docs = dict(zip(("vk", "proof", "public"), valid_files))
    docs[which] = _mutated(docs[which], where, value)
    result = only_zkml_errors(_native.verify, *(json.dumps(docs[k]) for k in ("vk", "proof", "public")))
    assert result in (None, True, False)


@FUZZ
@given(data=st.binary(max_size=400))
def test_proof_json_random_bytes(valid_files, data):
    vk, _, public = valid_files
    only_zkml_errors(_native.verify, json.dumps(vk), data.decode("latin-1"), json.dumps(public))


def _key_checksum(body: bytes) -> bytes:
    """The proving key's body checksum (format 3): SHA-256 over the SHA-256
    of each 4 MiB piece."""
    piece = 1 << 22
    return hashlib.sha256(b"".join(hashlib.sha256(body[i:i + piece]).digest()
                                   for i in range(0, len(body), piece))).digest()


@FUZZ
@given(offset=st.integers(0, 2000), new=st.binary(min_size=1, max_size=8), fix_checksum=st.booleans())
def test_proving_key_header_and_lengths(digits_build, tmp_path_factory, offset, new, fix_checksum):
    data = bytearray((digits_build / "proving_key.bin").read_bytes())
    data[offset:offset + len(new)] = new
    if fix_checksum:
        data[72:104] = _key_checksum(bytes(data[104:]))
    pk = tmp_path_factory.mktemp("pk") / "proving_key.bin"
    pk.write_bytes(bytes(data))
    program = (digits_build / "circuit.json").read_bytes()
    constants = (digits_build / "constants.bin").read_bytes()
    only_zkml_errors(_native.prove, program, constants, str(pk), [[0] * 64], None, "cpu")


@FUZZ
@given(data=st.binary(max_size=600), splice=st.booleans())
def test_onnx_model_bytes(tmp_path_factory, data, splice):
    model = (DIGITS / "model.onnx").read_bytes()
    blob = model[: len(model) // 2] + data if splice else data
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    path.write_bytes(blob)
    out = path.parent / "build"
    only_zkml_errors(zkml.compile, path, out)
