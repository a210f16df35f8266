"""The numpy reference evaluator of the quantized program."""

from __future__ import annotations

import numpy as np
import pytest

from program_fixtures import single_linear, tiny_program
from zkml import reference
from zkml.errors import InputShapeError, QuantizationError


def test_tiny_program_by_hand():
    # acc = [1*3 + 2*(-1) + 1, -3*3 + 1*(-1) + 0] = [2, -10]; >> 1 = [1, -5]; relu = [1, 0]
    values = reference.evaluate_all(tiny_program(shift=1), [np.array([[3, -1]])])
    assert [v.tolist() for v in values] == [[[3, -1]], [[1, -5]], [[1, 0]], [1, 0]]
    assert all(v.dtype == np.int64 for v in values)
    assert reference.evaluate(tiny_program(), [np.array([[3, -1]])])[0].tolist() == [1, 0]


@pytest.mark.parametrize("acc, shift, expected", [
    (-3, 1, -2),    # -1.5 floors to -2, not -1 (truncation)
    (-1, 3, -1),    # -0.125 -> -1
    (-8, 3, -1),    # exact
    (-9, 3, -2),
    (7, 3, 0),
    (-1, 70, -1),   # any shift past the accumulator's width still floors
    (5, 70, 0),
])
def test_linear_floors_toward_minus_infinity(acc, shift, expected):
    program = single_linear([[1]], [0], shift, bits_in=16, bits_out=16)
    assert reference.evaluate(program, [np.array([acc])])[0].tolist() == [expected]


def test_value_out_of_range_names_tensor_and_instruction():
    program = tiny_program(bits=8, shift=0)
    with pytest.raises(QuantizationError) as info:
        reference.evaluate(program, [np.array([[100, 20]])])  # 1*100 + 2*20 + 1 = 141 > 127
    message = str(info.value)
    assert "tensor 1 ('y')" in message and "instruction 0 (linear)" in message and "141" in message


def test_input_out_of_range_is_rejected():
    with pytest.raises(QuantizationError, match="input 'x'.*128"):
        reference.evaluate(tiny_program(bits=8), [np.array([[128, 0]])])


def test_float_inputs_are_rejected():
    with pytest.raises(QuantizationError, match="integers"):
        reference.evaluate(tiny_program(), [np.array([[1.0, 2.0]])])


def test_input_shape_is_checked():
    with pytest.raises(InputShapeError, match="input 'x'"):
        reference.evaluate(tiny_program(), [np.array([1, 2, 3])])
    with pytest.raises(InputShapeError, match="1 input"):
        reference.evaluate(tiny_program(), [])


def test_leading_sample_axis_matches_one_by_one():
    rng = np.random.default_rng(0)
    batch = rng.integers(-20, 20, size=(50, 1, 2))
    program = tiny_program(bits=8, shift=2)
    together = reference.evaluate(program, [batch])[0]
    assert together.shape == (50, 2)
    one_by_one = np.stack([reference.evaluate(program, [x])[0] for x in batch])
    np.testing.assert_array_equal(together, one_by_one)


def _python_linear(weight, bias, shift, x):
    return [(sum(w * v for w, v in zip(row, x)) + b) >> shift for row, b in zip(weight, bias)]


def test_wide_accumulators_fall_back_to_exact_integers():
    # 64-bit inputs times 2^40 weights: the accumulator reaches ~2^105, far past int64.
    weight = [[2**40, -(2**40) + 3, 17], [-(2**39), 5, 2**40]]
    bias = [2**62, -(2**62)]
    shift = 60
    program = single_linear(weight, bias, shift, bits_in=64, bits_out=64)
    x = [2**63 - 1, -(2**63), 123456789]
    expected = _python_linear(weight, bias, shift, x)
    assert reference.evaluate(program, [np.array(x, dtype=np.int64)])[0].tolist() == expected


def test_int64_path_agrees_with_exact_integers_near_its_limit():
    rng = np.random.default_rng(7)
    weight = rng.integers(-(2**20), 2**20, size=(4, 8)).tolist()
    bias = rng.integers(-(2**40), 2**40, size=4).tolist()
    program = single_linear(weight, bias, 20, bits_in=32, bits_out=40)  # bound < 2^62
    xs = rng.integers(-(2**31), 2**31, size=(16, 8))
    got = reference.evaluate(program, [xs])[0]
    expected = [_python_linear(weight, bias, 20, x) for x in xs.tolist()]
    assert got.tolist() == expected
