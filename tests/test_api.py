"""The Python API on the bundled digits model: the whole path, the checks
between artifacts, and the native witness against the numpy reference."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import zkml
from zkml import _native, program as prog, reference
from zkml.inputs import load_inputs
from zkml.errors import (
    CircuitMismatchError,
    InputFileError,
    InternalError,
    ProofFormatError,
    QuantizationError,
    ZkmlError,
)

from conftest import DIGITS, read

R = 21888242871839275222246405745257275088548364400416034343698204186575808495617


def test_proof_of_the_bundled_input_verifies_and_reports_the_models_output(digits_build, digits_proof):
    assert zkml.verify(digits_build, digits_proof)
    program = json.loads((digits_build / "circuit.json").read_bytes())
    floats = load_inputs(DIGITS / "input.json", program)
    expected = reference.evaluate(program, prog.quantize_inputs(program, floats))[0]
    out = read(digits_proof / "output.json")
    assert out["quantized"]["logits"] == expected.tolist()
    assert prog.unpack_outputs(program, read(digits_proof / "public.json"))[0].tolist() == expected.tolist()


def test_native_witness_agrees_with_the_numpy_reference_bit_for_bit(digits_build):
    sys.path.insert(0, str(DIGITS))
    from gen import load_split

    _, x_test, _, _ = load_split()
    data = (digits_build / "circuit.json").read_bytes()
    program = prog.loads(data)
    q = prog.quantize_inputs(program, [x_test[:40].reshape(-1, 1, 8, 8)])[0]
    expected = reference.evaluate(program, [q])[0]
    for k in range(q.shape[0]):
        outputs, public = _native.evaluate(data, [q[k].reshape(-1).tolist()])
        assert outputs[0] == expected[k].reshape(-1).tolist(), f"sample {k}"
        assert [int(p) for p in public] == prog.pack_public(program, [q[k]], [expected[k]])


def test_settings_describe_the_circuit(digits_build):
    settings = read(digits_build / "settings.json")
    info = _native.circuit_info((digits_build / "circuit.json").read_bytes())
    assert settings["circuit_hash"] == info["circuit_hash"] == prog.circuit_hash((digits_build / "circuit.json").read_bytes())
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
    program = prog.loads((digits_build / "circuit.json").read_bytes())
    lo, hi = prog.tensor_range(program["tensors"][program["inputs"][0]["tensor"]])
    limit = hi / 2 ** program["tensors"][0]["scale"]
    w = np.asarray(program["instructions"][1]["weight"] if program["instructions"][0]["op"] == "reshape" else program["instructions"][0]["weight"])
    pattern = np.sign(w[int(np.argmax(np.abs(w).sum(axis=1)))]) * limit * 0.999
    with pytest.raises(QuantizationError, match="outside its 16-bit range"):
        zkml.prove(digits_build, [pattern.reshape(1, 8, 8)], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_native_panic_becomes_an_internal_error():
    with pytest.raises(InternalError, match="deliberate test panic"):
        _native._panic_for_tests()


def test_native_errors_arrive_as_zkml_error_classes():
    with pytest.raises(zkml.ModelError, match="cannot parse program JSON"):
        _native.circuit_info(b"{not json")
    with pytest.raises(ProofFormatError):
        _native.verify("{}", "{}", "[]")
