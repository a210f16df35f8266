"""Fuzzing every parser of user files with hypothesis: whatever the bytes, the
answer is a result or a ZkmlError, never another exception, a crash or a hang.

CI runs a bounded sample (ZKML_FUZZ_EXAMPLES, default 40 per target); run
`ZKML_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py` for a long session.
Cases that once broke a parser are pinned with @example."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import zkml
from conftest import DIGITS
from program_fixtures import tiny_program
from zkml import _native
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
    program = P.loads((digits_build / "circuit.json").read_bytes())
    only_zkml_errors(parse_inputs, doc, program)


@FUZZ
@given(where=st.integers(0, 10_000), value=small_values)
@example(where=1, value="x" * 5)
@example(where=47, value=False)  # a JSON false among the weights: Python took it for 0
def test_circuit_json_python_and_native_agree(where, value):
    doc = _mutated(tiny_program(), where, value)
    data = json.dumps(doc).encode()
    python_ok = only_zkml_errors(P.loads, data) is not None
    native_ok = only_zkml_errors(_native.circuit_info, data) is not None
    if python_ok:
        assert native_ok, doc


@FUZZ
@given(data=st.binary(max_size=300))
def test_circuit_json_random_bytes(data):
    only_zkml_errors(P.loads, data)
    only_zkml_errors(_native.circuit_info, data)


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


@FUZZ
@given(offset=st.integers(0, 2000), new=st.binary(min_size=1, max_size=8), fix_checksum=st.booleans())
def test_proving_key_header_and_lengths(digits_build, tmp_path_factory, offset, new, fix_checksum):
    data = bytearray((digits_build / "proving_key.bin").read_bytes())
    data[offset:offset + len(new)] = new
    if fix_checksum:
        data[72:104] = hashlib.sha256(bytes(data[104:])).digest()
    pk = tmp_path_factory.mktemp("pk") / "proving_key.bin"
    pk.write_bytes(bytes(data))
    program = (digits_build / "circuit.json").read_bytes()
    only_zkml_errors(_native.prove, program, str(pk), [[0] * 64], None, "cpu")


@FUZZ
@given(data=st.binary(max_size=600), splice=st.booleans())
def test_onnx_model_bytes(tmp_path_factory, data, splice):
    model = (DIGITS / "model.onnx").read_bytes()
    blob = model[: len(model) // 2] + data if splice else data
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    path.write_bytes(blob)
    out = path.parent / "build"
    only_zkml_errors(zkml.compile, path, out)
