"""Visibility per input and output (public, hashed, private) and committed
weights (zkml.privacy), end to end on the bundled digits model: what the
proof states, what a verifier sees, snarkjs's verdict, and the errors.
tests/test_zero_knowledge.py holds the leak and indistinguishability tests;
tests/evm/ the settlement and gas ones."""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import zkml
from conftest import DIGITS, read
from snarkjs_cli import snarkjs_verify, write_instance_files
from zkml import _native, artifacts, privacy
from zkml import program as prog
from zkml.cli import main
from zkml.errors import ArgumentError, CircuitMismatchError, InputFileError, ModelError
from zkml.poseidon import FIELD_MODULUS, commitment

CALIBRATION = DIGITS / "calibration.json"
INPUT = DIGITS / "input.json"


def _compile(build: Path, **kwargs) -> dict:
    return zkml.compile(DIGITS / "model.onnx", build, calibration=CALIBRATION, **kwargs).settings


@pytest.fixture(scope="module")
def hashed_build(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("privacy") / "hashed"
    _compile(build, visibility={"input": "hashed"})
    zkml.api._seeded_setup_for_tests(build, seed=21)
    return build


@pytest.fixture(scope="module")
def committed_build(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("privacy") / "committed"
    _compile(build, weights="committed")
    zkml.api._seeded_setup_for_tests(build, seed=22)
    return build


def _quantized_input(build: Path) -> np.ndarray:
    program = zkml.api.load_build(build).program
    return prog.quantize_inputs(program, zkml.inputs.python_inputs(INPUT, program))[0]


# --- visibility -------------------------------------------------------------------


def test_a_hashed_input_is_one_commitment_the_verifier_sees_instead_of_the_values(hashed_build, tmp_path):
    settings = read(hashed_build / artifacts.SETTINGS)
    assert [(s["kind"], s["visibility"], s["first"], s["count"]) for s in settings["public_signals"]] == [
        ("input", "hashed", 0, 1), ("output", "public", 1, 1)]
    assert settings["inputs"][0]["visibility"] == "hashed" and settings["public_inputs"] == 2
    result = zkml.prove(hashed_build, INPUT, tmp_path)
    secret = read(tmp_path / privacy.PRIVATE_FILE)
    salt = int(secret["salts"]["input:input"])
    # The signal is the documented commitment of the quantized input under the salt in private.json.
    assert int(result.public[0]) == commitment(_quantized_input(hashed_build), 16, salt)
    statement = zkml.api.verify_statement(hashed_build, tmp_path)
    assert statement.valid and statement.inputs == {}
    assert statement.commitments == {"input:input": int(result.public[0])}
    assert statement.visibility == {"input:input": "hashed", "output:logits": "public"}
    np.testing.assert_array_equal(statement.outputs["logits"], result.outputs["logits"])
    # Another salt commits the same input differently; both proofs verify.
    again = zkml.prove(hashed_build, INPUT, tmp_path / "again")
    assert again.public[0] != result.public[0] and again.public[1] == result.public[1]
    assert zkml.verify(hashed_build, tmp_path / "again")


def test_the_prover_can_choose_the_salt_and_a_changed_commitment_does_not_verify(hashed_build, tmp_path):
    salts = tmp_path / "salts.json"
    salts.write_text(json.dumps({"salts": {"input:input": "12345"}}))
    result = zkml.prove(hashed_build, INPUT, tmp_path / "out", salts=salts)
    assert int(result.public[0]) == commitment(_quantized_input(hashed_build), 16, 12345)
    assert zkml.prove(hashed_build, INPUT, tmp_path / "byname", salts={"input": 12345}).public == result.public
    public = read(tmp_path / "out" / artifacts.PUBLIC)
    for forged in (commitment(_quantized_input(hashed_build), 16, 12346), commitment(
            _quantized_input(hashed_build) + 1, 16, 12345)):
        (tmp_path / "out" / artifacts.PUBLIC).write_text(json.dumps([str(forged), public[1]]))
        assert not zkml.verify(hashed_build, tmp_path / "out")


def test_snarkjs_accepts_a_proof_with_a_hashed_input(hashed_build, tmp_path):
    zkml.prove(hashed_build, INPUT, tmp_path)
    folder = write_instance_files(tmp_path / "snarkjs", read(hashed_build / artifacts.VERIFICATION_KEY),
                                  read(tmp_path / artifacts.PROOF), read(tmp_path / artifacts.PUBLIC))
    assert snarkjs_verify(folder)


def test_hidden_outputs_stay_out_of_output_json_and_go_to_private_json(tmp_path):
    build = tmp_path / "b"
    settings = _compile(build, visibility={"input": "private", "logits": "hashed"})
    assert settings["public_inputs"] == 1
    zkml.api._seeded_setup_for_tests(build, seed=23)
    result = zkml.prove(build, INPUT, tmp_path / "out")
    output = read(tmp_path / "out" / artifacts.OUTPUT)
    assert output["outputs"] == {} and output["quantized"] == {}
    assert output["commitments"] == {"logits": result.public[0]}
    secret = read(tmp_path / "out" / privacy.PRIVATE_FILE)
    assert (tmp_path / "out" / privacy.PRIVATE_FILE).stat().st_mode & 0o777 == 0o600
    q = np.array(secret["quantized"]["logits"])
    assert int(result.public[0]) == commitment(q, settings["outputs"][0]["bits"], int(secret["salts"]["output:logits"]))
    statement = zkml.api.verify_statement(build, tmp_path / "out")
    assert statement.valid and statement.outputs == {} and statement.inputs == {}
    assert statement.visibility == {"input:input": "private", "output:logits": "hashed"}
    assert _evm_verdict(_deployed(build), tmp_path / "out")


def test_a_public_proof_leaves_no_private_json_behind(digits_build, tmp_path):
    (tmp_path / privacy.PRIVATE_FILE).write_text("{}")
    zkml.prove(digits_build, INPUT, tmp_path)
    assert not (tmp_path / privacy.PRIVATE_FILE).exists()


def test_visibility_is_part_of_the_circuit_and_round_trips(hashed_build, digits_build):
    data = (hashed_build / artifacts.CIRCUIT).read_bytes()
    program = prog.from_files(data, (hashed_build / artifacts.CONSTANTS).read_bytes())
    assert [e.visibility for e in program.inputs + program.outputs] == ["hashed", "public"]
    assert program.to_files()[0] == data
    assert read(hashed_build / artifacts.SETTINGS)["circuit_hash"] != read(digits_build / artifacts.SETTINGS)[
        "circuit_hash"]
    # Both readers refuse an unknown visibility.
    doc = json.loads(data)
    doc["inputs"][0]["visibility"] = "secret"
    bad = json.dumps(doc).encode()
    with pytest.raises(ModelError, match="visibility"):
        prog.from_files(bad, (hashed_build / artifacts.CONSTANTS).read_bytes())
    with pytest.raises(zkml.errors.ZkmlError, match="secret"):
        _native.circuit_info(bad, (hashed_build / artifacts.CONSTANTS).read_bytes())


@pytest.mark.parametrize("spec, message", [
    ({"input": "secret"}, "not one of public, hashed, private"),
    ({"nope": "hashed"}, "not 'input', 'output' or a model input or output"),
    ({"input": "private", "output": "private"}, "nothing a verifier can check"),
])
def test_bad_visibility_is_a_clear_error_and_writes_nothing(tmp_path, spec, message):
    with pytest.raises(ArgumentError, match=message):
        _compile(tmp_path / "b", visibility=spec)
    assert not (tmp_path / "b").exists()


def test_bad_salts_are_refused_before_anything_is_written(hashed_build, tmp_path):
    for salts, message in [({"output:logits": 1}, "not a hashed input or output"),
                           ({"input:input": FIELD_MODULUS}, r"\[0, r\)"),
                           ({"input:input": -1}, r"\[0, r\)")]:
        with pytest.raises(ArgumentError, match=message):
            zkml.prove(hashed_build, INPUT, tmp_path / "out", salts=salts)
    (tmp_path / "bad.json").write_text('{"salts": []}')
    with pytest.raises(InputFileError, match="'salts' object"):
        zkml.prove(hashed_build, INPUT, tmp_path / "out", salts=tmp_path / "bad.json")
    assert not (tmp_path / "out").exists()


def test_cli_compile_prove_verify_with_a_hashed_input(tmp_path, capsys):
    build, out = tmp_path / "b", tmp_path / "out"
    for argv in (["compile", str(DIGITS / "model.onnx"), "-o", str(build), "--calibration", str(CALIBRATION),
                  "--visibility", "input=hashed", "--visibility", "output=public"],
                 ["setup", str(build), "--dev"],
                 ["prove", str(build), str(INPUT), "-o", str(out)]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0, capsys.readouterr()
    assert "private.json" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        main(["verify", str(build), str(out), "--json"])
    assert done.value.code == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["valid"] and verdict["inputs"] == {} and list(verdict["commitments"]) == ["input:input"]
    with pytest.raises(SystemExit) as done:
        main(["compile", str(DIGITS / "model.onnx"), "-o", str(tmp_path / "c"), "--visibility", "input"])
    assert done.value.code == 2 and "KEY=MODE" in capsys.readouterr().err


# --- committed weights ------------------------------------------------------------


def test_committed_weights_leave_the_circuit_files_and_prove_under_a_public_commitment(committed_build, tmp_path):
    settings = read(committed_build / artifacts.SETTINGS)
    weights = settings["weights"]
    assert weights["signal"] == settings["public_inputs"] - 1 and weights["values"] == 64 * 32 + 32 + 32 * 10 + 10
    build = zkml.api.load_build(committed_build)
    # circuit.json and constants.bin hold no weight: only the Flatten's index table (64 values) is left.
    assert len((committed_build / artifacts.CONSTANTS).read_bytes()) == 8 * 64
    doc = read(committed_build / artifacts.CIRCUIT)
    assert [c["name"] for c in doc["constants"] if c.get("committed")] == [
        "1.linear.weight", "1.linear.bias", "3.linear.weight", "3.linear.bias"]
    assert (committed_build / privacy.WEIGHTS_BIN).stat().st_mode & 0o777 == 0o600
    assert build.weights is not None
    assert int(weights["commitment"]) == prog.weights_commitment(build.program, build.weights.salt)
    result = zkml.prove(committed_build, INPUT, tmp_path)
    assert result.public[-1] == weights["commitment"]
    assert zkml.verify(committed_build, tmp_path)
    # The bundled test image is a 7, as with constant weights.
    assert int(np.argmax(result.outputs["logits"])) == 7
    folder = write_instance_files(tmp_path / "snarkjs", read(committed_build / artifacts.VERIFICATION_KEY),
                                  read(tmp_path / artifacts.PROOF), read(tmp_path / artifacts.PUBLIC))
    assert snarkjs_verify(folder)


def _deployed(build: Path):
    from zkml.evm import InProcessChain, compile_verifier, render_verifier

    chain = InProcessChain()
    return chain, chain.deploy(compile_verifier(render_verifier(read(build / artifacts.VERIFICATION_KEY))).bytecode)


def _evm_verdict(chain_and_address, out: Path) -> bool:
    from zkml.evm import proof_calldata

    chain, address = chain_and_address
    proof8, inputs = proof_calldata(read(out / artifacts.PROOF), read(out / artifacts.PUBLIC))
    return chain.verify(address, proof8, inputs)[0]


def test_a_hashed_input_proof_verifies_in_the_evm_and_a_changed_commitment_does_not(hashed_build, tmp_path):
    out = tmp_path / "out"
    zkml.prove(hashed_build, INPUT, out)
    deployed = _deployed(hashed_build)
    assert _evm_verdict(deployed, out)
    public = read(out / artifacts.PUBLIC)
    (out / artifacts.PUBLIC).write_text(json.dumps([str(int(public[0]) + 1), public[1]]))
    assert not _evm_verdict(deployed, out)


def _retrained(seed: int):
    sys.path.insert(0, str(DIGITS))
    try:
        import gen
    finally:
        sys.path.remove(str(DIGITS))
    from sklearn.neural_network import MLPClassifier

    x_train, _, y_train, _ = gen.load_split()
    mlp = MLPClassifier(hidden_layer_sizes=(gen.HIDDEN,), activation="relu", random_state=seed, max_iter=400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(x_train, y_train)
    return gen.build_model(mlp)


def test_a_retrained_model_proves_under_the_same_keys_and_old_proofs_fail(tmp_path):
    build = tmp_path / "b"
    _compile(build, weights="committed")
    zkml.api._seeded_setup_for_tests(build, seed=24)
    key = (build / artifacts.PROVING_KEY).read_bytes()
    vk = (build / artifacts.VERIFICATION_KEY).read_bytes()
    old_commitment = read(build / artifacts.SETTINGS)["weights"]["commitment"]
    zkml.prove(build, INPUT, tmp_path / "old")
    deployed = _deployed(build)  # the verifier contract, deployed once
    for seed in (3, 6):  # two retrainings whose weights grew past the first model's largest
        result = zkml.compile(_retrained(seed), build, calibration=CALIBRATION, weights="committed")
        assert any("keys" in w and "serve the new weights" in w for w in result.warnings)
        assert (build / artifacts.PROVING_KEY).read_bytes() == key
        assert (build / artifacts.VERIFICATION_KEY).read_bytes() == vk
        assert result.settings["weights"]["commitment"] != old_commitment
        zkml.prove(build, INPUT, tmp_path / f"new{seed}")
        assert zkml.verify(build, tmp_path / f"new{seed}")
        # ... and the contract deployed for the first weights accepts it: the
        # commitment it proves under is its last public input, for a caller to pin.
        assert _evm_verdict(deployed, tmp_path / f"new{seed}")
        assert read(tmp_path / f"new{seed}" / artifacts.PUBLIC)[-1] == result.settings["weights"]["commitment"]
    # The proof under the first weights is a valid Groth16 proof of another statement: refused, with the reason.
    statement = zkml.api.verify_statement(build, tmp_path / "old")
    assert not statement.valid and "not for" in statement.reason
    assert not zkml.verify(build, tmp_path / "old")


def test_a_verifier_needs_no_weights_and_a_prover_cannot_do_without_them(committed_build, tmp_path):
    zkml.prove(committed_build, INPUT, tmp_path / "out")
    public_only = tmp_path / "public"
    shutil.copytree(committed_build, public_only)
    (public_only / privacy.WEIGHTS_BIN).unlink()
    (public_only / privacy.WEIGHTS_JSON).unlink()
    assert zkml.verify(public_only, tmp_path / "out")
    with pytest.raises(InputFileError, match="weights.bin"):
        zkml.prove(public_only, INPUT, tmp_path / "x")
    # Weights that are not the committed ones are refused before proving.
    tampered = tmp_path / "tampered"
    shutil.copytree(committed_build, tampered)
    blob = bytearray((tampered / privacy.WEIGHTS_BIN).read_bytes())
    blob[0] ^= 1
    (tampered / privacy.WEIGHTS_BIN).write_bytes(bytes(blob))
    with pytest.raises(InputFileError, match="not the weights"):
        zkml.prove(tampered, INPUT, tmp_path / "y")


def test_a_changed_architecture_does_not_silently_replace_committed_keys(committed_build, tmp_path):
    build = tmp_path / "b"
    shutil.copytree(committed_build, build)
    with pytest.raises(CircuitMismatchError, match="cannot serve it"):
        zkml.compile(DIGITS / "model.onnx", build, calibration=CALIBRATION, weights="committed", bits=14)
    assert (build / artifacts.PROVING_KEY).exists()
    assert read(build / artifacts.SETTINGS) == read(committed_build / artifacts.SETTINGS)


def test_estimate_counts_what_privacy_costs():
    from zkml.estimate import estimate

    plain = estimate(DIGITS / "model.onnx", CALIBRATION)
    hashed = estimate(DIGITS / "model.onnx", CALIBRATION, visibility={"input": "hashed"})
    committed = estimate(DIGITS / "model.onnx", CALIBRATION, weights="committed")
    assert hashed.public_inputs == plain.public_inputs - 4 and hashed.verify_gas < plain.verify_gas
    # A commitment costs its Poseidon hashing (a few hundred constraints here) ...
    assert 0 < hashed.constraints - plain.constraints < 1_000
    # ... committed weights one constraint per multiply-accumulate, a range check per value, and the hashing.
    macs = 64 * 32 + 32 * 10
    assert committed.constraints - plain.constraints > macs + 17 * macs
    with pytest.raises(ArgumentError):
        estimate(DIGITS / "model.onnx", CALIBRATION, weights="secret")


def test_a_witness_of_a_committed_weights_build_ends_with_its_commitment(committed_build, tmp_path):
    from zkml import ceremony  # imported on use: not an attribute of zkml before

    public = ceremony.export_witness(committed_build, INPUT, tmp_path / "w.wtns")
    assert public[-1] == read(committed_build / artifacts.SETTINGS)["weights"]["commitment"]
    assert (tmp_path / "w.wtns").stat().st_size > 0


def test_a_committed_build_is_parsed_once_with_its_weights(committed_build, monkeypatch):
    calls = []
    real = prog.from_document
    monkeypatch.setattr(prog, "from_document", lambda *args: calls.append(args) or real(*args))
    build = zkml.api.load_build(committed_build)
    assert len(calls) == 1 and calls[0][2] == build.weights.blob
    weights = [v for _, v, _ in build.program.committed_constants()]
    assert np.frombuffer(build.weights.blob, dtype="<i8").tolist() == [x for v in weights for x in v.reshape(-1).tolist()]


def test_a_weights_bin_of_the_wrong_size_is_refused_naming_it(committed_build, tmp_path):
    import hashlib

    build = tmp_path / "b"
    shutil.copytree(committed_build, build)
    blob = (build / privacy.WEIGHTS_BIN).read_bytes()[:-8]
    (build / privacy.WEIGHTS_BIN).write_bytes(blob)
    doc = read(build / privacy.WEIGHTS_JSON)
    doc["weights_sha256"] = hashlib.sha256(blob).hexdigest()  # consistent with weights.json, short for the circuit
    (build / privacy.WEIGHTS_JSON).write_text(json.dumps(doc))
    with pytest.raises(InputFileError, match="weights.bin holds") as info:
        zkml.api.load_build(build)
    assert info.value.details["path"] == str(build / privacy.WEIGHTS_BIN)


def test_a_committed_proof_takes_the_recorded_weights_commitment(committed_build, tmp_path, monkeypatch):
    # Recomputing Poseidon over every weight on each proof costs O(weights) (a
    # minute for tens of millions); the commitment weights.json records, checked
    # against settings.json on loading, is what the proof's last signal must be.
    def recompute(*args):
        raise AssertionError("the weights commitment was recomputed")

    monkeypatch.setattr(prog, "weights_commitment", recompute)
    result = zkml.prove(committed_build, INPUT, tmp_path / "out")
    assert result.public[-1] == read(committed_build / artifacts.SETTINGS)["weights"]["commitment"]
    # A recorded commitment that the proof does not carry is refused.
    monkeypatch.undo()
    build = tmp_path / "b"
    shutil.copytree(committed_build, build)
    for name, at in ((privacy.WEIGHTS_JSON, ()), (artifacts.SETTINGS, ("weights",))):
        doc = read(build / name)
        place = doc
        for key in at:
            place = place[key]
        place["commitment"] = str(int(place["commitment"]) + 1)
        (build / name).write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="disagree"):
        zkml.prove(build, INPUT, tmp_path / "other")
    assert not (tmp_path / "other").exists()
