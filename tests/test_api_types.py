"""What `zkml.compile` and `zkml.prove` accept from Python: an ONNX path or an
`onnx.ModelProto`; calibration and inputs as files, dicts or numpy arrays.
Every argument of a wrong type is a ZkmlError (ArgumentError), never a bare
TypeError, and leaves nothing behind. (A torch.nn.Module: tests/test_torch.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

import zkml
from conftest import DIGITS, read
from onnx_models import save_model, value
from zkml.errors import ArgumentError, InputShapeError, ZkmlError


def calibration_array() -> np.ndarray:
    return np.asarray(read(DIGITS / "calibration.json")["input_data"][0], dtype=np.float64).reshape(-1, 1, 8, 8)


def input_array() -> np.ndarray:
    return np.asarray(read(DIGITS / "input.json")["input_data"][0], dtype=np.float64).reshape(1, 8, 8)


@pytest.fixture(scope="module")
def from_files(tmp_path_factory) -> zkml.api.CompileResult:
    return zkml.compile(DIGITS / "model.onnx", tmp_path_factory.mktemp("files") / "build",
                        calibration=DIGITS / "calibration.json")


def test_a_model_proto_compiles_to_the_circuit_its_file_compiles_to(from_files, tmp_path):
    proto = onnx.load(str(DIGITS / "model.onnx"))
    before = proto.SerializeToString()
    result = zkml.compile(proto, tmp_path / "build", calibration=DIGITS / "calibration.json")
    assert result.circuit_hash == from_files.circuit_hash
    assert result.settings["model"] == "<onnx.ModelProto digits_mlp>"
    assert result.settings["quantization"]["measured_error_vs_onnxruntime"] == \
        from_files.settings["quantization"]["measured_error_vs_onnxruntime"]
    assert proto.SerializeToString() == before


def test_pinning_a_shape_of_a_model_proto_leaves_the_callers_model_alone(tmp_path):
    path = save_model(tmp_path / "m.onnx", [helper.make_node("Relu", ["x"], ["y"])],
                      [value("x", ["batch", 4])], [value("y", ["batch", 4])])
    proto = onnx.load(str(path))
    result = zkml.compile(proto, tmp_path / "build", input_shapes={"x": (1, 4)})
    assert result.settings["inputs"][0]["shape"] == [1, 4]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


@pytest.mark.parametrize("form", ["array", "list", "dict", "parsed json"])
def test_calibration_as_arrays_gives_the_circuit_the_file_gives(from_files, tmp_path, form):
    samples = calibration_array()
    calibration = {
        "array": samples,
        "list": [samples],
        "dict": {"input": samples},
        "parsed json": read(DIGITS / "calibration.json"),
    }[form]
    result = zkml.compile(DIGITS / "model.onnx", tmp_path / "build", calibration=calibration)
    assert result.circuit_hash == from_files.circuit_hash
    assert result.settings["quantization"]["calibration"] == from_files.settings["quantization"]["calibration"]
    assert result.warnings == from_files.warnings
    assert not any("no calibration data" in w for w in result.warnings)


def test_compiling_without_calibration_warns_in_the_result(tmp_path):
    result = zkml.compile(DIGITS / "model.onnx", tmp_path / "build")
    assert any("no calibration data" in w and "[-1, 1]" in w for w in result.warnings)


def test_prove_takes_a_numpy_array_and_returns_outputs_timings_and_paths(digits_build, tmp_path):
    from_json = zkml.prove(digits_build, DIGITS / "input.json", tmp_path / "json", device="cpu")
    for given in (input_array(), [input_array()], (input_array().reshape(-1),), {"input": input_array()}):
        result = zkml.prove(digits_build, given, tmp_path / "array", device="cpu")
        assert isinstance(result.outputs["logits"], np.ndarray)
        np.testing.assert_array_equal(result.outputs["logits"], from_json.outputs["logits"])
        assert int(np.argmax(result.outputs["logits"])) == 7
        assert result.paths == {"proof": tmp_path / "array" / "proof.json", "public": tmp_path / "array" / "public.json",
                                "output": tmp_path / "array" / "output.json"}
        assert all(p.is_file() for p in result.paths.values())
        assert json.loads(result.paths["public"].read_text()) == result.public
        assert {"synthesize", "msm"} <= set(result.timings) and all(t >= 0 for t in result.timings.values())
        assert zkml.verify(digits_build, tmp_path / "array")


@pytest.fixture(scope="module")
def two_inputs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("two")
    path = save_model(d / "add.onnx", [helper.make_node("Add", ["a", "b"], ["y"])],
                      [value("a", [1, 4]), value("b", [1, 4])], [value("y", [1, 4])])
    zkml.compile(path, d / "build")
    return d / "build"


def test_one_array_for_a_model_with_two_inputs_names_them(two_inputs, tmp_path):
    with pytest.raises(InputShapeError, match=r"takes 2 inputs \(a, b\)"):
        zkml.api.check(two_inputs, np.zeros((1, 4)))
    with pytest.raises(InputShapeError, match=r"3 value\(s\) given; the model takes 2"):
        zkml.api.check(two_inputs, [np.zeros(4)] * 3)
    checked = zkml.api.check(two_inputs, (np.full(4, 0.25), np.full(4, 0.5)))
    np.testing.assert_allclose(checked.outputs["y"].reshape(-1), 0.75)


def _bad_compile_calls(tmp_path):
    model = DIGITS / "model.onnx"
    build = tmp_path / "build"
    return {
        "model is an int": lambda: zkml.compile(42, build),
        "model is bytes": lambda: zkml.compile(model.read_bytes(), build),
        "model is a module-like object": lambda: zkml.compile(object(), build),
        "build_dir is an int": lambda: zkml.compile(model, 42),
        "calibration is an int": lambda: zkml.compile(model, build, calibration=42),
        "calibration holds strings": lambda: zkml.compile(model, build, calibration=np.array(["a"] * 64)),
        "calibration of the wrong size": lambda: zkml.compile(model, build, calibration=np.zeros(63)),
        "bits is a string": lambda: zkml.compile(model, build, bits="16"),
        "input_shapes is a list": lambda: zkml.compile(model, build, input_shapes=[1, 8, 8]),
    }


@pytest.mark.parametrize("case", list(_bad_compile_calls(Path("."))))
def test_a_bad_argument_to_compile_is_a_zkml_error_and_writes_nothing(tmp_path, case):
    with pytest.raises(ZkmlError) as caught:
        _bad_compile_calls(tmp_path)[case]()
    assert "\n" not in str(caught.value)
    if "is an int" in case or "is bytes" in case or "module-like" in case or "bits" in case or "input_shapes" in case:
        assert isinstance(caught.value, ArgumentError), caught.value
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("inputs, error", [
    (42, ArgumentError),
    (None, ArgumentError),
    (b"{}", ArgumentError),
    (np.array(["x"] * 64), ZkmlError),
    ([[0.5] * 63], ZkmlError),
    ([np.zeros(64), np.zeros(64)], InputShapeError),
])
def test_a_bad_input_to_prove_is_a_zkml_error_and_writes_nothing(digits_build, tmp_path, inputs, error):
    with pytest.raises(error) as caught:
        zkml.prove(digits_build, inputs, tmp_path / "out", device="cpu")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("call", ["prove out_dir", "verify", "export_verifier", "Prover"])
def test_a_path_argument_of_another_type_is_an_argument_error(digits_build, digits_proof, call):
    run = {
        "prove out_dir": lambda: zkml.prove(digits_build, DIGITS / "input.json", 7, device="cpu"),
        "verify": lambda: zkml.verify(digits_build, None),
        "export_verifier": lambda: zkml.export_verifier(digits_build, 3.5),
        "Prover": lambda: zkml.Prover(["build"], device="cpu"),
    }[call]
    with pytest.raises(ArgumentError, match="must be a path"):
        run()
