"""The bundled digits MLP: committed files, regeneration, and quantized accuracy."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from zkml import program as P
from zkml import reference
from zkml.frontend import load_model
from zkml.inputs import load_calibration, load_inputs
from zkml.quantize import quantize

CIRCUIT = Path(__file__).resolve().parents[1] / "circuits" / "digits_mlp"


def _load_gen():
    spec = importlib.util.spec_from_file_location("digits_mlp_gen", CIRCUIT / "gen.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_gen()


@pytest.fixture(scope="module")
def quantized():
    graph = load_model(CIRCUIT / "model.onnx")
    calibration = load_calibration(CIRCUIT / "calibration.json", graph)
    program, report = quantize(graph, calibration, bits=16)
    return graph, program, report


@pytest.fixture(scope="module")
def split():
    return gen.load_split()


def _onnxruntime_logits(images: np.ndarray) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(CIRCUIT / "model.onnx"),
                                           providers=["CPUExecutionProvider"])
    return np.stack([session.run(None, {"input": image[None].astype(np.float32)})[0][0]
                     for image in images])


def test_quantized_model_agrees_with_onnxruntime_on_the_test_split(quantized, split):
    graph, program, report = quantized
    _, x_test, _, y_test = split
    images = x_test.reshape(-1, 8, 8)
    float_logits = _onnxruntime_logits(images)
    ints = reference.evaluate(program, P.quantize_inputs(program, [images[:, None]]))[0]
    logits = P.dequantize(program, program.outputs[0].tensor, ints).reshape(-1, 10)

    agreement = np.mean(logits.argmax(1) == float_logits.argmax(1))
    quantized_accuracy = np.mean(logits.argmax(1) == y_test)
    float_accuracy = np.mean(float_logits.argmax(1) == y_test)
    print(f"\ndigits_mlp (bits=16, {len(y_test)} test images): agreement {agreement:.4f}, "
          f"accuracy quantized {quantized_accuracy:.4f} / float {float_accuracy:.4f}, "
          f"max |logit error| {np.abs(logits - float_logits).max():.2e} "
          f"(certified bound {report['outputs']['logits']['error_bound']:.2e})")
    assert agreement >= 0.99
    assert quantized_accuracy >= 0.9


def test_committed_input_quantizes_and_predicts_like_the_float_model(quantized):
    graph, program, _ = quantized
    (image,) = load_inputs(CIRCUIT / "input.json", graph)
    ints = reference.evaluate(program, P.quantize_inputs(program, [image]))[0]
    assert ints.argmax() == _onnxruntime_logits(image).argmax()
    public = P.pack_public(program, P.quantize_inputs(program, [image]), [ints])
    np.testing.assert_array_equal(P.unpack_outputs(program, public)[0], ints)


def test_model_is_the_documented_shape(quantized):
    graph, program, report = quantized
    assert graph.inputs == ["input"] and graph.outputs == ["logits"]
    assert graph.tensors["input"] == (1, 8, 8) and graph.tensors["logits"] == (1, 10)
    # The Flatten is a gather (free: it only moves elements), with the identity index.
    assert [i.op for i in program.instructions] == ["gather", "linear", "relu", "linear"]
    flatten = program.instructions[0]
    assert flatten.index.tolist() == list(range(64))
    assert program.tensors[flatten.output].shape == (1, 64)
    assert report["calibration"]["samples"] == gen.CALIBRATION_SAMPLES
    out = report["outputs"]["logits"]
    assert out["measured_max_abs_error"] <= out["error_bound"]


def _weights(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def test_gen_regenerates_the_committed_files(tmp_path):
    gen.main(tmp_path)
    for name in ("input.json", "calibration.json"):
        assert (tmp_path / name).read_bytes() == (CIRCUIT / name).read_bytes(), name
    fresh = (tmp_path / "model.onnx").read_bytes()
    committed = (CIRCUIT / "model.onnx").read_bytes()
    if fresh != committed:  # another BLAS may train to slightly different floats
        new = _weights(onnx.load_from_string(fresh))
        old = _weights(onnx.load_from_string(committed))
        assert new.keys() == old.keys()
        for key in old:
            np.testing.assert_allclose(new[key], old[key], atol=1e-5, err_msg=key)


def test_model_bytes_depend_only_on_the_weights():
    model = onnx.load(str(CIRCUIT / "model.onnx"))
    weights = _weights(model)

    class Trained:  # what build_model reads from an MLPClassifier
        coefs_ = [weights["fc1.weight"].T, weights["fc2.weight"].T]
        intercepts_ = [weights["fc1.bias"], weights["fc2.bias"]]

    rebuilt = gen.build_model(Trained()).SerializeToString()
    assert rebuilt == (CIRCUIT / "model.onnx").read_bytes()
    assert model.producer_name == gen.PRODUCER and model.opset_import[0].version == 17
