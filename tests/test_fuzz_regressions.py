"""The atheris harnesses of fuzz/ without atheris: every input once saved
under fuzz/regressions/<harness>/ (what a fuzzing session found, after the
fix) is replayed through its harness, and each harness's first seeds still go
through it cleanly, so the harnesses cannot rot between long sessions.

A harness's ``one_input`` raises when a parser answers with anything but a
result or a ZkmlError (an InternalError, i.e. a native panic, counts as a
finding). Long sessions: ``fuzz/run.sh SECONDS`` (needs atheris)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
sys.path.insert(0, str(FUZZ))

HARNESSES = sorted(p.stem.removeprefix("fuzz_") for p in FUZZ.glob("fuzz_*.py"))


@pytest.fixture(scope="module", autouse=True)
def _private_work_dir(tmp_path_factory):
    """The harnesses' shared build in this session's temporary folder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ZKML_FUZZ_WORK", str(tmp_path_factory.mktemp("fuzz-work")))
    yield
    mp.undo()


def _harness(name):
    return importlib.import_module(f"fuzz_{name}")


def test_every_parser_has_a_harness():
    assert set(HARNESSES) >= {"input_json", "circuit_json", "constants", "proof", "public",
                              "verifying_key", "proving_key", "zkey", "onnx"}


@pytest.mark.parametrize("name", HARNESSES)
def test_saved_regressions_and_first_seeds_pass_their_harness(name):
    module = _harness(name)
    saved = sorted((FUZZ / "regressions" / name).glob("*"))
    for path in saved:
        module.one_input(path.read_bytes())
    for seed in module.seeds()[:3]:
        module.one_input(seed)


# What the circuit_json harness found (a duplicate key: Python's json kept the
# last value, serde_json refuses the file) and its relatives, found while
# fixing it: every JSON the native reader refuses, the Python one must too.
# (Python may refuse more: a duplicate key inside 'meta', which serde_json
# reads as a free-form map keeping the last value, is refused by Python only.)
def _with_meta(base: str, meta: str) -> str:
    return base[:-1] + ', "meta": ' + meta + "}"


JSON_REFUSED_BY_BOTH = {
    "duplicate key": lambda b: b.replace('"name": "flat"', '"name": "flat", "name": "x"', 1),
    "duplicate key inside meta (Python only)": lambda b: _with_meta(b, '{"a": 1, "a": 2}'),
    "NaN": lambda b: _with_meta(b, "NaN"),
    "Infinity": lambda b: _with_meta(b, "-Infinity"),
    "a float beyond a double": lambda b: _with_meta(b, "1e400"),
    "an integer beyond a double": lambda b: _with_meta(b, "1" * 400),
    "a byte-order mark": lambda b: "\ufeff" + b,
    "an unpaired surrogate": lambda b: _with_meta(b, '"\\ud800"'),
    "an unpaired surrogate as a key": lambda b: _with_meta(b, '{"\\udc00": 1}'),
    "128 levels of nesting": lambda b: _with_meta(b, "[" * 127 + "]" * 127),
    "5000 levels of nesting": lambda b: _with_meta(b, "[" * 5000 + "]" * 5000),
}
JSON_ACCEPTED_BY_BOTH = {
    "127 levels of nesting": lambda b: _with_meta(b, "[" * 126 + "]" * 126),
    "a surrogate pair": lambda b: _with_meta(b, '"\\ud83d\\ude00"'),
    "the largest doubles": lambda b: _with_meta(b, "[1.7e308, -1.7e308, " + "9" * 300 + "]"),
    "a float that underflows to 0": lambda b: _with_meta(b, "1e-400"),
}


@pytest.mark.parametrize("case", sorted(JSON_REFUSED_BY_BOTH) + sorted(JSON_ACCEPTED_BY_BOTH))
def test_python_and_native_circuit_json_readers_take_the_same_json(case):
    import json

    import common

    import zkml
    from zkml import _native
    from zkml import program as P

    build = common.prepare() / "build"
    base = json.dumps(json.loads((build / "circuit.json").read_bytes()))
    blob = (build / "constants.bin").read_bytes()
    accepted = case in JSON_ACCEPTED_BY_BOTH
    text = (JSON_ACCEPTED_BY_BOTH if accepted else JSON_REFUSED_BY_BOTH)[case](base)
    assert text != base
    data = text.encode("utf-8", "surrogatepass")
    readers = [P.from_files, _native.circuit_info]
    if case == "duplicate key inside meta (Python only)":
        readers = readers[:1]
    for read in readers:
        if accepted:
            read(data, blob)
        else:
            with pytest.raises(zkml.ModelError):
                read(data, blob)
