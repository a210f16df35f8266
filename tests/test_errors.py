"""Errors carry structure: a stable `kind` and `details`, from Python and
from the native code alike."""

from __future__ import annotations

import inspect

import pytest

import zkml
from zkml import _native, errors


def test_every_error_class_has_its_own_kind():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, zkml.ZkmlError)]
    kinds = [c.kind for c in classes]
    assert len(classes) >= 12 and len(set(kinds)) == len(kinds), kinds
    assert zkml.WitnessError("x").kind == "witness" and zkml.WitnessError("x").details == {}


def test_a_missing_file_from_native_code_has_its_context_and_os_error(digits_build):
    data = (digits_build / "circuit.json").read_bytes()
    constants = (digits_build / "constants.bin").read_bytes()
    with pytest.raises(zkml.InputFileError) as info:
        _native.prove(data, constants, "/nonexistent/proving_key.bin", [[0] * 64], None, "cpu")
    e = info.value
    assert e.kind == "input_file"
    assert "/nonexistent/proving_key.bin" in e.details["context"] and "No such file" in e.details["os_error"]


def test_python_errors_carry_their_fields_as_details(tmp_path):
    with pytest.raises(zkml.InputFileError) as info:
        zkml.compile(tmp_path / "missing.onnx", tmp_path / "build")
    assert info.value.details["path"] == str(tmp_path / "missing.onnx")
    e = zkml.UnsupportedOpError("conv_1", "Conv", 13)
    assert e.kind == "unsupported_op" and e.details == {"node": "conv_1", "op_type": "Conv", "opset": 13}


def test_constants_that_do_not_belong_to_the_circuit_are_a_model_error_from_native_code(digits_build):
    data = (digits_build / "circuit.json").read_bytes()
    constants = (digits_build / "constants.bin").read_bytes()
    for wrong in (b"", constants[:-8], bytes([constants[0] ^ 1]) + constants[1:]):
        with pytest.raises(zkml.ModelError) as info:
            _native.circuit_info(data, wrong)
        assert info.value.kind == "model" and "constants" in str(info.value)
