"""Parsing input.json and calibration files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from program_fixtures import document, program, tensor
from zkml.errors import InputFileError, InputShapeError
from zkml.frontend import Graph
from zkml.inputs import load_calibration, load_inputs, parse_calibration, parse_inputs
from zkml.ops.activation import ReluNode
from zkml.program import Program


def two_input_graph() -> Graph:
    return Graph("two", {"image": (1, 2, 2), "extra": (3,), "a": (1, 2, 2), "b": (3,)},
                 ["image", "extra"], ["a", "b"], [ReluNode(("image",), "a"), ReluNode(("extra",), "b")])


def one_input_program() -> Program:
    return program(document(
        "one", [tensor("x", [1, 3], 0, 8), tensor("y", [1, 3], 0, 8)], [0], [1],
        [{"op": "relu", "inputs": [0], "output": 1}]))


def test_ezkl_shape_one_flat_list_per_input():
    image, extra = parse_inputs({"input_data": [[1, 2, 3, 4], [0.5, 0.25, 0]]}, two_input_graph())
    assert image.shape == (1, 2, 2) and image.dtype == np.float64
    assert image.reshape(-1).tolist() == [1, 2, 3, 4] and extra.tolist() == [0.5, 0.25, 0]


def test_ezkl_shape_ignores_output_data():
    doc = {"input_data": [[1, 2, 3]], "output_data": [[9]]}
    assert parse_inputs(doc, one_input_program())[0].tolist() == [[1, 2, 3]]


def test_named_inputs_nested_flat_or_without_leading_ones():
    graph = two_input_graph()
    nested = parse_inputs({"image": [[[1, 2], [3, 4]]], "extra": [1, 2, 3]}, graph)
    without_batch = parse_inputs({"image": [[1, 2], [3, 4]], "extra": [1, 2, 3]}, graph)
    flat = parse_inputs({"extra": [1, 2, 3], "image": [1, 2, 3, 4]}, graph)
    for arrays in (without_batch, flat):
        for got, want in zip(arrays, nested):
            np.testing.assert_array_equal(got, want)


def test_a_typed_program_describes_the_inputs_too():
    assert parse_inputs({"x": [1, 2, 3]}, one_input_program())[0].shape == (1, 3)


def test_wrong_number_of_inputs():
    with pytest.raises(InputShapeError, match="holds 1 input.*takes 2 \\(image, extra\\)"):
        parse_inputs({"input_data": [[1, 2, 3, 4]]}, two_input_graph())


def test_wrong_element_count_names_the_input_and_both_shapes():
    with pytest.raises(InputShapeError) as info:
        parse_inputs({"input_data": [[1, 2, 3], [1, 2, 3]]}, two_input_graph())
    message = str(info.value)
    assert "input 'image'" in message and "[1, 2, 2] (4 values)" in message
    assert "(3 values)" in message


def test_nested_shape_that_does_not_match_is_rejected():
    with pytest.raises(InputShapeError, match="input 'image' expects shape"):
        parse_inputs({"image": [[1, 2, 3, 4]], "extra": [1, 2, 3]}, two_input_graph())


def test_missing_and_unknown_named_inputs():
    expected = "missing input\\(s\\) 'image', 'extra'.*unknown key\\(s\\) 'imag'"
    with pytest.raises(InputShapeError, match=expected):
        parse_inputs({"imag": [1, 2, 3, 4]}, two_input_graph())


@pytest.mark.parametrize("bad, found", [(["1", 2, 3], "strings"), ([True, False, True], "booleans"),
                                        ([None, 1, 2], "non-numeric")])
def test_non_numeric_values_are_rejected(bad, found):
    with pytest.raises(InputFileError, match=f"input 'x' must hold only numbers \\(found {found}"):
        parse_inputs({"x": bad}, one_input_program())


def test_ragged_lists_are_rejected():
    with pytest.raises(InputShapeError, match="ragged"):
        parse_inputs({"x": [[1, 2], [3]]}, one_input_program())


def test_non_finite_values_are_rejected(tmp_path):
    path = tmp_path / "input.json"
    path.write_text('{"input_data": [[1.0, NaN, 2.0]]}')
    expected = "input 'x' has a non-finite value nan at index \\[1\\]"
    with pytest.raises(InputFileError, match=expected):
        load_inputs(path, one_input_program())


def test_file_errors_are_one_line_and_name_the_file(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        load_inputs(tmp_path / "absent.json", one_input_program())
    broken = tmp_path / "broken.json"
    broken.write_text('{"input_data": [[1, 2,')
    with pytest.raises(InputFileError, match="broken.json is not valid JSON.*line 1"):
        load_inputs(broken, one_input_program())
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2, 3]")
    with pytest.raises(InputFileError, match="expected a JSON object"):
        load_inputs(listing, one_input_program())


def test_load_inputs_reads_a_file(tmp_path):
    path = tmp_path / "input.json"
    path.write_text(json.dumps({"input_data": [[0.5, -1, 2]]}))
    assert load_inputs(path, one_input_program())[0].tolist() == [[0.5, -1.0, 2.0]]


def test_calibration_flat_list_holds_k_samples(tmp_path):
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"input_data": [list(range(12))]}))
    (samples,) = load_calibration(path, one_input_program())
    assert samples.shape == (4, 1, 3) and samples[1].tolist() == [[3, 4, 5]]


def test_calibration_nested_forms():
    program = one_input_program()
    assert parse_calibration({"x": [[1, 2, 3], [4, 5, 6]]}, program)[0].shape == (2, 1, 3)
    assert parse_calibration({"x": [[[1, 2, 3]], [[4, 5, 6]]]}, program)[0].shape == (2, 1, 3)
    assert parse_calibration({"x": [1, 2, 3]}, program)[0].shape == (1, 1, 3)


def test_calibration_sample_counts_must_agree():
    doc = {"input_data": [[0] * 8, [0] * 9]}  # 2 images, 3 extras
    with pytest.raises(InputShapeError, match="different numbers of samples \\(2, 3\\)"):
        parse_calibration(doc, two_input_graph())


def test_calibration_size_must_be_a_multiple_of_the_input_size():
    with pytest.raises(InputShapeError, match="multiple of 3 values"):
        parse_calibration({"x": [1, 2, 3, 4]}, one_input_program())
