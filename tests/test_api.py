"""The Python API on the bundled digits model: the whole path, the checks
between artifacts, and the native witness against the numpy reference."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import zkml
from conftest import DIGITS, read
from zkml import _native, artifacts, reference
from zkml import program as prog
from zkml.errors import (
    CircuitMismatchError,
    InputFileError,
    InternalError,
    ProofFormatError,
    QuantizationError,
    ZkmlError,
)
from zkml.inputs import load_inputs

R = 21888242871839275222246405745257275088548364400416034343698204186575808495617


def _files(build: Path) -> tuple[bytes, bytes]:
    """The program's two files in a build: circuit.json and constants.bin bytes."""
    return (build / artifacts.CIRCUIT).read_bytes(), (build / artifacts.CONSTANTS).read_bytes()


def _program(build: Path) -> prog.Program:
    return prog.from_files(*_files(build))


def test_proof_of_the_bundled_input_verifies_and_reports_the_models_output(digits_build, digits_proof):
    assert zkml.verify(digits_build, digits_proof)
    program = _program(digits_build)
    floats = load_inputs(DIGITS / "input.json", program)
    expected = reference.evaluate(program, prog.quantize_inputs(program, floats))[0]
    out = read(digits_proof / "output.json")
    assert out["quantized"]["logits"] == expected.tolist()
    assert prog.unpack_outputs(program, read(digits_proof / "public.json"))[0].tolist() == expected.tolist()


def test_native_witness_agrees_with_the_numpy_reference_bit_for_bit(digits_build):
    sys.path.insert(0, str(DIGITS))
    from gen import load_split

    _, x_test, _, _ = load_split()
    data, blob = _files(digits_build)
    program = prog.from_files(data, blob)
    q = prog.quantize_inputs(program, [x_test[:40].reshape(-1, 1, 8, 8)])[0]
    expected = reference.evaluate(program, [q])[0]
    for k in range(q.shape[0]):
        outputs, public = _native.evaluate(data, blob, [q[k].reshape(-1).tolist()])
        assert outputs[0] == expected[k].reshape(-1).tolist(), f"sample {k}"
        assert [int(p) for p in public] == prog.pack_public(program, [q[k]], [expected[k]])


def test_settings_describe_the_circuit(digits_build):
    settings = read(digits_build / "settings.json")
    data, blob = _files(digits_build)
    info = _native.circuit_info(data, blob)
    assert settings["circuit_hash"] == info["circuit_hash"] == prog.circuit_hash(data)
    # The circuit hash covers constants.bin through the digest circuit.json records.
    assert json.loads(data)["constants_sha256"] == hashlib.sha256(blob).hexdigest()
    # What compile wrote is canonical: the typed program writes the same two files back.
    assert prog.from_files(data, blob).to_files() == (data, blob)
    assert settings["constraints"] == info["constraints"] > 1000
    assert settings["public_inputs"] == 6  # 64 inputs at 15 per element + 10 outputs
    assert sum(settings["constraints_by_instruction"].values()) == settings["constraints"]
    assert settings["inputs"][0]["name"] == "input" and settings["outputs"][0]["name"] == "logits"
    measured = settings["quantization"]["measured_error_vs_onnxruntime"]
    assert measured["samples"] == 200 and measured["max_abs_error"]["logits"] < 0.05


def test_setup_without_dev_says_ceremony_import_does_not_exist_yet(digits_build):
    with pytest.raises(ZkmlError, match="--dev"):
        zkml.setup(digits_build)


def test_the_verification_key_says_it_is_a_development_setup(digits_build):
    vk = read(digits_build / "verification_key.json")
    assert vk["protocol"] == "groth16" and vk["curve"] == "bn128" and vk["nPublic"] == 6
    assert "not for production" in vk["zkml_setup"]["note"].lower()


def _copy_proof(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_a_changed_public_signal_is_invalid(digits_build, digits_proof, tmp_path):
    out = _copy_proof(digits_proof, tmp_path / "p")
    public = read(out / "public.json")
    public[-1] = str(int(public[-1]) + 1)  # another logit
    (out / "public.json").write_text(json.dumps(public))
    assert zkml.verify(digits_build, out) is False


def test_a_public_signal_plus_r_is_refused_not_reduced(digits_build, digits_proof, tmp_path):
    out = _copy_proof(digits_proof, tmp_path / "p")
    public = read(out / "public.json")
    public[0] = str(int(public[0]) + R)
    (out / "public.json").write_text(json.dumps(public))
    with pytest.raises(ProofFormatError, match="modulus"):
        zkml.verify(digits_build, out)


def test_a_wrong_number_of_public_signals_is_refused(digits_build, digits_proof, tmp_path):
    out = _copy_proof(digits_proof, tmp_path / "p")
    (out / "public.json").write_text(json.dumps(read(out / "public.json")[:-1]))
    with pytest.raises(ProofFormatError, match="expects 6 public inputs"):
        zkml.verify(digits_build, out)


def test_a_proof_point_off_the_curve_is_refused(digits_build, digits_proof, tmp_path):
    out = _copy_proof(digits_proof, tmp_path / "p")
    proof = read(out / "proof.json")
    proof["pi_a"][1] = str(int(proof["pi_a"][1]) + 1)
    (out / "proof.json").write_text(json.dumps(proof))
    with pytest.raises(ProofFormatError, match="not on the BN254 G1 curve"):
        zkml.verify(digits_build, out)


def test_a_proof_labelled_with_another_circuit_is_refused(digits_build, digits_proof, tmp_path):
    out = _copy_proof(digits_proof, tmp_path / "p")
    proof = read(out / "proof.json")
    proof["circuit_hash"] = "0" * 64
    (out / "proof.json").write_text(json.dumps(proof))
    with pytest.raises(CircuitMismatchError):
        zkml.verify(digits_build, out)


@pytest.fixture(scope="module")
def other_model(tmp_path_factory) -> tuple[Path, Path]:
    """The digits model with slightly different weights: same shapes, same
    public-signal layout, a different circuit with its own keys and proof."""
    d = tmp_path_factory.mktemp("other")
    model = onnx.load(DIGITS / "model.onnx")
    for init in model.graph.initializer:
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 1.01, init.name))
    onnx.save(model, d / "model.onnx")
    build, out = d / "build", d / "proof"
    zkml.compile(d / "model.onnx", build, calibration=DIGITS / "calibration.json")
    zkml.api._seeded_setup_for_tests(build, seed=12)
    zkml.prove(build, DIGITS / "input.json", out)
    return build, out


def test_a_proof_for_another_model_does_not_verify(digits_build, other_model, tmp_path):
    other_build, other_proof = other_model
    assert read(other_build / "settings.json")["circuit_hash"] != read(digits_build / "settings.json")["circuit_hash"]
    assert zkml.verify(other_build, other_proof)
    out = _copy_proof(other_proof, tmp_path / "p")
    proof = read(out / "proof.json")
    del proof["circuit_hash"]  # labels are advisory; the pairing check must still fail
    (out / "proof.json").write_text(json.dumps(proof))
    assert zkml.verify(digits_build, out) is False


def test_a_proving_key_of_another_circuit_is_refused(digits_build, other_model, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(digits_build, build)
    shutil.copy(other_model[0] / "proving_key.bin", build / "proving_key.bin")
    with pytest.raises(CircuitMismatchError, match="proving key"):
        zkml.prove(build, DIGITS / "input.json", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_recompiling_another_model_drops_the_stale_keys(other_model, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(other_model[0], build)
    zkml.compile(DIGITS / "model.onnx", build, calibration=DIGITS / "calibration.json")
    assert not (build / "proving_key.bin").exists() and not (build / "verification_key.json").exists()
    with pytest.raises(InputFileError, match="zkml setup"):
        zkml.prove(build, DIGITS / "input.json", tmp_path / "out")


def test_an_input_outside_the_quantized_range_fails_and_writes_nothing(digits_build, tmp_path):
    bad = read(DIGITS / "input.json")
    bad["input_data"][0][5] = 1e6
    with pytest.raises(QuantizationError, match="out of range"):
        zkml.prove(digits_build, bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_activation_outside_its_range_is_reported_by_the_native_witness(digits_build, tmp_path):
    # Inputs inside their own range can still drive a hidden unit past the range
    # calibrated for it: the native witness generator must say so, not wrap.
    program = _program(digits_build)
    x = program.tensors[program.inputs[0].tensor]
    lo, hi = prog.tensor_range(x)
    limit = hi / 2 ** x.scale
    # The Flatten in front is a gather with the identity index, so the first
    # linear's columns are the image's pixels in row-major order.
    flatten = program.instructions[0]
    assert flatten.op == "gather" and flatten.index.tolist() == list(range(64))
    w = next(i for i in program.instructions if i.op == "linear").weight
    pattern = np.sign(w[int(np.argmax(np.abs(w).sum(axis=1)))]) * limit * 0.999
    with pytest.raises(QuantizationError, match="outside its 16-bit range"):
        zkml.prove(digits_build, [pattern.reshape(1, 8, 8)], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_native_panic_becomes_an_internal_error():
    with pytest.raises(InternalError, match="deliberate test panic"):
        _native._panic_for_tests()


def test_native_errors_arrive_as_zkml_error_classes():
    with pytest.raises(zkml.ModelError, match="cannot parse program JSON"):
        _native.circuit_info(b"{not json", b"")
    with pytest.raises(ProofFormatError):
        _native.verify("{}", "{}", "[]")


# --- constants.bin: the second file of the program -------------------------------------


def _flip_a_byte(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 1
    path.write_bytes(bytes(data))


def test_a_build_holds_the_constants_beside_the_circuit(digits_build):
    data, blob = _files(digits_build)
    doc = json.loads(data)
    sizes = [int(np.prod(c["shape"])) for c in doc["constants"]]
    assert len(blob) == 8 * sum(sizes) > 0
    # The weights live in constants.bin, not in circuit.json.
    assert all(isinstance(i.get("weight", 0), int) for i in doc["instructions"])


@pytest.mark.parametrize("offset", [0, -1])
def test_a_flipped_byte_of_constants_bin_is_refused_naming_the_file(digits_build, tmp_path, offset):
    build = tmp_path / "build"
    shutil.copytree(digits_build, build)
    _flip_a_byte(build / artifacts.CONSTANTS, offset)
    with pytest.raises(InputFileError) as info:
        zkml.api.load_build(build)
    assert "constants.bin" in str(info.value) and "constants_sha256" in str(info.value)
    with pytest.raises(InputFileError, match="constants.bin"):
        zkml.prove(build, DIGITS / "input.json", tmp_path / "out", device="cpu")
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputFileError, match="constants.bin"):
        zkml.api.check(build, DIGITS / "input.json")
    # The native side refuses the pair on its own too.
    with pytest.raises(zkml.ModelError):
        _native.circuit_info(*_files(build))
    with pytest.raises(zkml.ModelError):
        _native.evaluate(*_files(build), [[0] * 64])


def test_a_loaded_build_holds_its_constants_once(digits_build):
    build = zkml.api.load_build(digits_build)
    whole = np.frombuffer(build.constants, dtype=np.uint8)
    arrays = [v for i in build.program.instructions for v in vars(i).values() if isinstance(v, np.ndarray)]
    # Every constant array is a read-only view of constants.bin's bytes: no second copy.
    assert arrays and all(np.shares_memory(a, whole) and not a.flags.writeable for a in arrays)
    assert build.constants == (digits_build / artifacts.CONSTANTS).read_bytes()


def test_loading_a_build_hashes_its_constants_once(digits_build, monkeypatch):
    real = hashlib.sha256
    sizes: list[int] = []

    def counting(data=b"", *args, **kwargs):
        sizes.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(hashlib, "sha256", counting)
    zkml.api.load_build(digits_build)
    size = (digits_build / artifacts.CONSTANTS).stat().st_size
    assert sizes.count(size) == 1


def test_a_missing_constants_bin_is_refused_naming_the_file(digits_build, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(digits_build, build)
    (build / artifacts.CONSTANTS).unlink()
    with pytest.raises(InputFileError, match="constants.bin") as info:
        zkml.prove(build, DIGITS / "input.json", tmp_path / "out", device="cpu")
    assert info.value.details["path"] == str(build / artifacts.CONSTANTS)
    assert not (tmp_path / "out").exists()


def _rewrite_constants(build: Path, change) -> str:
    """Change the values in constants.bin and record their new digest in
    circuit.json, as a consistent pair; returns the new circuit hash."""
    data, blob = _files(build)
    values = np.frombuffer(blob, dtype="<i8").copy()
    change(values)
    blob = values.astype("<i8").tobytes()
    doc = json.loads(data)
    doc["constants_sha256"] = hashlib.sha256(blob).hexdigest()
    data = prog.dumps(doc)
    (build / artifacts.CIRCUIT).write_bytes(data)
    (build / artifacts.CONSTANTS).write_bytes(blob)
    prog.from_files(data, blob)  # still a valid program
    return prog.circuit_hash(data)


def test_the_circuit_hash_covers_the_constants(digits_build, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(digits_build, build)
    settings = read(build / "settings.json")
    doc = json.loads(_files(build)[0])
    # Change one weight of the last linear: another circuit, with another hash.
    last = doc["instructions"][-1]
    offset = sum(int(np.prod(c["shape"])) for c in doc["constants"][: last["weight"]])

    def bump(values):
        values[offset] += 1

    new_hash = _rewrite_constants(build, bump)
    assert new_hash != settings["circuit_hash"]
    # The settings (and keys) describe the old circuit: refused, not silently used.
    with pytest.raises(CircuitMismatchError, match="circuit hash differs"):
        zkml.prove(build, DIGITS / "input.json", tmp_path / "out", device="cpu")
    # Even with settings.json relabelled, the proving key belongs to the old circuit.
    settings["circuit_hash"] = new_hash
    (build / "settings.json").write_text(json.dumps(settings))
    with pytest.raises(CircuitMismatchError, match="proving key"):
        zkml.prove(build, DIGITS / "input.json", tmp_path / "out", device="cpu")
    assert not (tmp_path / "out").exists()
    # The old key relabelled for a new circuit (header bytes 8..40, outside
    # the checksum): what a key for another constraint system under this
    # circuit's hash looks like, e.g. another zkml version's synthesis. The
    # last bias of the last linear bumped too, so that the old system's row
    # for that output fails on the new witness (a changed weight whose input
    # is zero would not). The key reads and proves, but the proof fails the
    # prover's own verification: refused, and nothing is written.
    bias = doc["constants"][last["bias"]]
    bias_at = sum(int(np.prod(c["shape"])) for c in doc["constants"][: last["bias"]]) + int(np.prod(bias["shape"])) - 1
    settings["circuit_hash"] = _rewrite_constants(build, lambda values: values.__setitem__(bias_at, values[bias_at] + 1))
    (build / "settings.json").write_text(json.dumps(settings))
    key = build / artifacts.PROVING_KEY
    data = bytearray(key.read_bytes())
    data[8:40] = bytes.fromhex(settings["circuit_hash"])
    key.write_bytes(bytes(data))
    with pytest.raises(CircuitMismatchError, match=r"different constraint system .*run setup again"):
        zkml.prove(build, DIGITS / "input.json", tmp_path / "out", device="cpu")
    assert not (tmp_path / "out").exists()


def _json_document(rng, depth=0):
    pick = rng.integers(10)
    if depth > 3 or pick < 3:
        return [1, -7, 2**70, 1.5, -0.0, 1e300, float("nan"), float("-inf"), "é\"\\\n", "", True, False, None][
            int(rng.integers(13))]
    if pick < 6:
        return [_json_document(rng, depth + 1) for _ in range(int(rng.integers(5)))]
    if pick < 7:
        return tuple(_json_document(rng, depth + 1) for _ in range(int(rng.integers(3))))
    return {f"k{i}é"[: int(rng.integers(1, 4))] + str(i): _json_document(rng, depth + 1) for i in range(int(rng.integers(4)))}


def test_artifacts_are_written_exactly_as_json_dumps_indent_2_writes_them():
    rng = np.random.default_rng(3)
    documents = [_json_document(rng) for _ in range(3000)]
    documents += [{"y": np.arange(12.0).reshape(3, 4).tolist()}, {1: [2]}, {"a": [np.int64(3)]}, [[]], {"": {}}]
    for doc in documents:
        try:
            expected: object = json.dumps(doc, indent=2)
        except TypeError as e:
            expected = e.args
        try:
            got: object = artifacts.json_text(doc)
        except TypeError as e:
            got = e.args
        assert got == expected, doc
        if isinstance(got, str):
            assert artifacts.dumps_json(doc) == (got + "\n").encode()


def test_a_prover_keeps_no_copy_of_the_constants(digits_build, tmp_path, monkeypatch):
    # The native prover reads, decodes, hashes and checks constants.bin
    # itself: the Python side reads the program's layout only (nothing hashed
    # twice) and never the file's bytes.
    real = hashlib.sha256
    size = (digits_build / artifacts.CONSTANTS).stat().st_size
    hashed: list[int] = []
    read: list[Path] = []
    monkeypatch.setattr(hashlib, "sha256", lambda data=b"", *a, **k: hashed.append(len(data)) or real(data, *a, **k))
    real_read = zkml.api.read_bytes
    monkeypatch.setattr(zkml.api, "read_bytes", lambda path, what: read.append(path) or real_read(path, what))
    prover = zkml.Prover(digits_build, device="cpu")
    assert size not in hashed
    assert read and digits_build / artifacts.CONSTANTS not in read
    assert prover._build.constants == b""
    assert all(not np.any(v) for i in prover._build.program.instructions for v in vars(i).values()
               if isinstance(v, np.ndarray))
    monkeypatch.undo()
    result = prover.prove(DIGITS / "input.json", tmp_path / "out")
    assert zkml.verify(digits_build, tmp_path / "out")
    # `build` is the build as load_build reads it, constants included.
    full = prover.build
    assert full.constants == (digits_build / artifacts.CONSTANTS).read_bytes()
    quantized = prog.quantize_inputs(full.program, load_inputs(DIGITS / "input.json", full.program))
    expected = reference.evaluate(full.program, quantized)
    assert [q.tolist() for q in expected] == [q.tolist() for q in result.quantized_outputs.values()]
    assert result.public == json.loads((tmp_path / "out" / artifacts.PUBLIC).read_text())


def test_a_prover_of_a_build_compiled_again_refuses_to_show_another_build(digits_build, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(digits_build, build)
    prover = zkml.Prover(build, device="cpu")
    settings = read(build / artifacts.SETTINGS)
    settings["circuit_hash"] = _rewrite_constants(build, lambda values: values.__setitem__(0, values[0] + 1))
    (build / artifacts.SETTINGS).write_text(json.dumps(settings))
    assert zkml.api.load_build(build).circuit_hash != prover._build.circuit_hash
    with pytest.raises(CircuitMismatchError, match="another circuit"):
        _ = prover.build
