"""The model zoo (circuits/*): every model goes compile → setup → prove → verify
natively, with snarkjs and in the EVM; keeps the float model's predictions
on the digits test split; its Rust witness equals the numpy reference bit
for bit; its compile report's numbers are true; its constraint counts are
the recorded ones."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zkml
from conftest import REPO, read
from snarkjs_cli import snarkjs_verify
from zkml import _native, reference
from zkml import program as P
from zkml.api import load_build

ZOO = ["digits_mlp", "digits_cnn", "resnet_block", "sklearn_mlp", "tiny_transformer", "lenet5"]
# lenet5 (1.27M constraints, a 510 MiB proving key) is set up and proved only
# on request (ZKML_ZOO_FULL=1); in CI it is compiled and checked for fidelity.
PROVED = ZOO if os.environ.get("ZKML_ZOO_FULL") else [m for m in ZOO if m != "lenet5"]
# Outputs whose argmax is the model's prediction (sklearn's label is compared as is).
PREDICTION = {"digits_mlp": "logits", "digits_cnn": "logits", "resnet_block": "logits",
              "tiny_transformer": "logits", "sklearn_mlp": "probabilities", "lenet5": "logits"}


def _gen(name: str = "digits_mlp"):
    spec = importlib.util.spec_from_file_location(f"zoo_{name}", REPO / "circuits" / name / "gen.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=ZOO)
def compiled(request, tmp_path_factory):
    name = request.param
    folder = REPO / "circuits" / name
    build = tmp_path_factory.mktemp(name) / "compiled"
    zkml.compile(folder / "model.onnx", build, calibration=folder / "calibration.json")
    return name, folder, build, None, None


@pytest.fixture(scope="module", params=PROVED)
def zoo(request, tmp_path_factory):
    name = request.param
    folder = REPO / "circuits" / name
    build = tmp_path_factory.mktemp(name) / "build"
    zkml.compile(folder / "model.onnx", build, calibration=folder / "calibration.json")
    zkml.api._seeded_setup_for_tests(build, seed=5)
    out = tmp_path_factory.mktemp(name) / "proof"
    result = zkml.prove(build, folder / "input.json", out, device="cpu")
    return name, folder, build, out, result


@pytest.fixture(scope="module")
def test_split():
    return _gen("digits_mlp").load_split()  # every zoo model uses the same split


def _test_images(name: str, x_test: np.ndarray) -> np.ndarray:
    """The test split as the model takes it (lenet5 upsamples to 28×28)."""
    return _gen("lenet5").upsample(x_test) if name == "lenet5" else x_test


def _ort_session(folder: Path):
    import onnxruntime

    return onnxruntime.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])


def test_the_proof_verifies_natively_with_snarkjs_and_in_the_evm(zoo, tmp_path):
    from zkml.evm import InProcessChain, compile_verifier, proof_calldata, render_verifier

    name, folder, build, out, result = zoo
    assert zkml.verify(build, out)
    files = tmp_path / "files"
    files.mkdir()
    for src, dst in ((build / "verification_key.json", "verification_key.json"),
                     (out / "proof.json", "proof.json"), (out / "public.json", "public.json")):
        (files / dst).write_bytes(Path(src).read_bytes())
    assert snarkjs_verify(files)
    chain = InProcessChain()
    address = chain.deploy(compile_verifier(render_verifier(read(build / "verification_key.json"))).bytecode)
    proof8, inputs = proof_calldata(read(out / "proof.json"), read(out / "public.json"))
    assert chain.verify(address, proof8, inputs)[0] is True
    changed = list(inputs)
    changed[-1] ^= 1  # another output
    assert chain.verify(address, proof8, changed)[0] is False


def test_the_proved_outputs_are_the_reference_evaluators(zoo):
    name, folder, build, out, result = zoo
    b = load_build(build)
    q_in = zkml.api._quantized_inputs(b, folder / "input.json")
    for entry, ints in zip(b.program.outputs, reference.evaluate(b.program, q_in)):
        np.testing.assert_array_equal(result.quantized_outputs[entry.name].reshape(-1),
                                      np.asarray(ints).reshape(-1))


def test_constraint_counts_match_the_recorded_ones(compiled):
    name, _, build, _, _ = compiled
    rows = {r["circuit"]: r for r in csv.DictReader((REPO / "circuits" / "constraints.csv").open())}
    s = read(build / "settings.json")
    recorded = rows[name]
    assert (s["constraints"], s["variables"], s["public_inputs"]) == (
        int(recorded["constraints"]), int(recorded["variables"]), int(recorded["public_inputs"]))


def _quantized_outputs(program, images):
    q = P.quantize_inputs(program, [images])
    return {e.name: P.dequantize(program, e.tensor, ints)
            for e, ints in zip(program.outputs, reference.evaluate(program, q))}


def test_the_circuit_keeps_the_float_models_predictions_on_the_test_split(compiled, test_split):
    name, folder, build, _, _ = compiled
    _, x_test, _, _ = test_split
    x_test = _test_images(name, x_test)
    program = load_build(build).program
    shape = program.tensors[program.inputs[0].tensor].shape
    images = x_test.reshape((-1,) + shape)
    session = _ort_session(folder)
    feed_name = session.get_inputs()[0].name
    float_outputs = [session.run(None, {feed_name: im.astype(np.float32)}) for im in images]
    names = [o.name for o in session.get_outputs()]
    ours = _quantized_outputs(program, images)
    key = PREDICTION[name]
    theirs = np.concatenate([r[names.index(key)] for r in float_outputs]).reshape(len(images), -1)
    mine = ours[key].reshape(len(images), -1)
    agreement = float((theirs.argmax(axis=1) == mine.argmax(axis=1)).mean())
    assert agreement >= 0.995, agreement
    if "label" in names:  # skl2onnx: the label output itself equals onnxruntime's
        their_labels = np.concatenate([r[names.index("label")] for r in float_outputs]).reshape(-1)
        np.testing.assert_array_equal(ours["label"].reshape(-1), their_labels)
    # The certified bound holds on every test image (all inside the calibration box).
    report = read(build / "settings.json")["quantization"]
    for out_name, values in ours.items():
        bound = report["outputs"][out_name]["error_bound"]
        want = np.concatenate([r[names.index(out_name)] for r in float_outputs]).reshape(values.shape)
        error = float(np.abs(values - want).max())
        if bound is not None:
            assert error <= bound + 1e-5
        if out_name != "label":  # 1% of the output's scale
            assert error < 0.01 * (1 + float(np.abs(want).max())), (out_name, error)


def test_the_compile_report_states_the_measured_error_truly(compiled):
    name, folder, build, _, _ = compiled
    s = read(build / "settings.json")
    measured = s["quantization"]["measured_error_vs_onnxruntime"]
    program = load_build(build).program
    calibration = json.loads((folder / "calibration.json").read_text())["input_data"][0]
    shape = program.tensors[program.inputs[0].tensor].shape
    images = np.asarray(calibration).reshape((-1,) + shape)
    session = _ort_session(folder)
    feed_name = session.get_inputs()[0].name
    names = [o.name for o in session.get_outputs()]
    ours = _quantized_outputs(program, images)
    for out_name, reported in measured["max_abs_error"].items():
        want = np.concatenate([session.run(None, {feed_name: im.astype(np.float32)})[names.index(out_name)]
                               for im in images]).reshape(ours[out_name].shape)
        assert reported == pytest.approx(float(np.abs(ours[out_name] - want).max()), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", ZOO)
def test_the_rust_witness_equals_the_numpy_reference_on_random_inputs(name, tmp_path_factory):
    folder = REPO / "circuits" / name
    build = tmp_path_factory.mktemp(f"{name}_witness") / "build"
    zkml.compile(folder / "model.onnx", build, calibration=folder / "calibration.json")
    b = load_build(build)
    spec = b.program.tensors[b.program.inputs[0].tensor]

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(seed=st.integers(0, 2**32 - 1), spread=st.sampled_from([0.05, 0.5, 1.0]))
    def check(seed, spread):
        rng = np.random.default_rng(seed)
        # Pixels in the calibration range [0, 1], sometimes concentrated near 0.
        x = np.clip(rng.uniform(0.0, spread, size=spec.shape), 0.0, 1.0)
        q = P.quantize_inputs(b.program, [x])
        try:
            expected = reference.evaluate(b.program, q)
        except zkml.QuantizationError:
            with pytest.raises(zkml.ZkmlError):
                _native.evaluate(b.data, b.constants, [a.reshape(-1).tolist() for a in q])
            return
        outs, _ = _native.evaluate(b.data, b.constants, [a.reshape(-1).tolist() for a in q])
        for want, got in zip(expected, outs):
            assert np.asarray(want).reshape(-1).tolist() == list(got)

    check()


def test_the_estimate_before_setup_matches_what_setup_and_prove_produce(zoo):
    """Counts exact, the proving key's size exact, the verification gas within
    25% of the EVM's (time and memory are compared in bench/estimate.py)."""
    from zkml.estimate import estimate
    from zkml.evm import InProcessChain, compile_verifier, proof_calldata, render_verifier

    name, folder, build, out, _ = zoo
    e = estimate(folder / "model.onnx", folder / "calibration.json")
    s = read(build / "settings.json")
    assert (e.constraints, e.variables, e.public_inputs, e.qap_domain_size, e.matrix_nonzeros) == (
        s["constraints"], s["variables"], s["public_inputs"], s["qap_domain_size"], s["matrix_nonzeros"])
    assert e.proving_key_bytes == (build / "proving_key.bin").stat().st_size
    chain = InProcessChain()
    address = chain.deploy(compile_verifier(render_verifier(read(build / "verification_key.json"))).bytecode)
    ok, gas = chain.verify(address, *proof_calldata(read(out / "proof.json"), read(out / "public.json")))
    assert ok and abs(e.verify_gas - gas) <= 0.25 * gas
    assert e.prove_seconds > 0 and e.peak_memory_bytes > e.proving_key_bytes
