"""The numpy reference evaluator of the quantized program."""

from __future__ import annotations

import numpy as np
import pytest

from program_fixtures import all_ops_program, document, program, single_linear, tensor, tiny_program
from zkml import reference
from zkml.errors import InputShapeError, QuantizationError


def tiny(**kw):
    return program(tiny_program(**kw))


def linear(*args, **kw):
    return program(single_linear(*args, **kw))


def test_tiny_program_by_hand():
    # acc = [1*3 + 2*(-1) + 1, -3*3 + 1*(-1) + 0] = [2, -10]; >> 1 = [1, -5]; relu = [1, 0]
    values = reference.evaluate_all(tiny(shift=1), [np.array([[3, -1]])])
    assert [v.tolist() for v in values] == [[[3, -1]], [[1, -5]], [[1, 0]], [1, 0]]
    assert all(v.dtype == np.int64 for v in values)
    assert reference.evaluate(tiny(), [np.array([[3, -1]])])[0].tolist() == [1, 0]


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
    program = linear([[1]], [0], shift, bits_in=16, bits_out=16)
    assert reference.evaluate(program, [np.array([acc])])[0].tolist() == [expected]


def test_value_out_of_range_names_tensor_and_instruction():
    program = tiny(bits=8, shift=0)
    with pytest.raises(QuantizationError) as info:
        reference.evaluate(program, [np.array([[100, 20]])])  # 1*100 + 2*20 + 1 = 141 > 127
    message = str(info.value)
    assert "tensor 1 ('y')" in message and "instruction 0 (linear)" in message and "141" in message


def test_input_out_of_range_is_rejected():
    with pytest.raises(QuantizationError, match="input 'x'.*128"):
        reference.evaluate(tiny(bits=8), [np.array([[128, 0]])])


def test_float_inputs_are_rejected():
    with pytest.raises(QuantizationError, match="integers"):
        reference.evaluate(tiny(), [np.array([[1.0, 2.0]])])


def test_input_shape_is_checked():
    with pytest.raises(InputShapeError, match="input 'x'"):
        reference.evaluate(tiny(), [np.array([1, 2, 3])])
    with pytest.raises(InputShapeError, match="1 input"):
        reference.evaluate(tiny(), [])


def test_leading_sample_axis_matches_one_by_one():
    rng = np.random.default_rng(0)
    batch = rng.integers(-20, 20, size=(50, 1, 2))
    program = tiny(bits=8, shift=2)
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
    program = linear(weight, bias, shift, bits_in=64, bits_out=64)
    x = [2**63 - 1, -(2**63), 123456789]
    expected = _python_linear(weight, bias, shift, x)
    assert reference.evaluate(program, [np.array(x, dtype=np.int64)])[0].tolist() == expected


def test_int64_path_agrees_with_exact_integers_near_its_limit():
    rng = np.random.default_rng(7)
    weight = rng.integers(-(2**20), 2**20, size=(4, 8)).tolist()
    bias = rng.integers(-(2**40), 2**40, size=4).tolist()
    program = linear(weight, bias, 20, bits_in=32, bits_out=40)  # bound < 2^62
    xs = rng.integers(-(2**31), 2**31, size=(16, 8))
    got = reference.evaluate(program, [xs])[0]
    expected = [_python_linear(weight, bias, 20, x) for x in xs.tolist()]
    assert got.tolist() == expected


# --- affine, gather, max -----------------------------------------------------------


def test_all_ops_program_by_hand():
    # Worked out in program_fixtures.all_ops_program's docstring.
    values = reference.evaluate_all(program(all_ops_program()), [np.array([[3, -1], [2, 5]])])
    assert [v.tolist() for v in values] == [
        [[3, -1], [2, 5]], [3, -3, -1], [3, 5, 0, 5, 3], [-1, 5], [0, 5]]
    assert all(v.dtype == np.int64 for v in values)


def _affine(index, weight, row, bias, shift, shapes, bits=(16,), out_bits=16):
    bits = list(bits) * len(shapes) if len(bits) == 1 else list(bits)
    tensors = [tensor(f"x{i}", s, 0, b) for i, (s, b) in enumerate(zip(shapes, bits))]
    tensors.append(tensor("y", [len(index)], -shift, out_bits))
    n = len(shapes)
    return program(document(
        "affine", tensors, list(range(n)), [n],
        [{"op": "affine", "inputs": list(range(n)), "output": n, "index": index,
          "weight": weight, "row": row, "bias": bias, "shift": shift}]))


def _python_affine(X, index, weight, row, bias, shift):
    out = []
    for o, idx in enumerate(index):
        acc = bias[o] + sum(weight[row[o]][t] * X[i] for t, i in enumerate(idx) if i >= 0)
        out.append(acc >> shift)  # Python's >> floors toward minus infinity
    return out


def test_affine_floors_over_several_inputs_and_skips_minus_one():
    # X = a (2x2, flattened) ‖ b (3) ‖ a again: |X| = 4 + 3 + 4 = 11.
    index = [[0, 4, 10], [-1, 6, 7], [3, -1, -1], [-1, -1, -1], [9, 5, -1], [1, 1, 1]]
    weight = [[1, -2, 3], [-5, 7, 1], [2, 2, 2]]
    row = [0, 1, 2, 0, 1, 2]
    bias = [1, -3, 0, -5, 2, 0]
    a, b = np.array([[3, -1], [2, -7]]), np.array([4, -6, 5])
    p = _affine(index, weight, row, bias, 2, [(2, 2), (3,), (2, 2)])
    X = a.reshape(-1).tolist() + b.tolist() + a.reshape(-1).tolist()
    expected = _python_affine(X, index, weight, row, bias, 2)
    # Negative accumulators floor (not truncate): o=3 is -5 >> 2 = -2; o=0 has acc
    # 3 + (-2)(4) + 3(-7) + 1 = -25 -> -7; o=5 is 2·(-1)·3 = -6 -> -2.
    assert expected[0] == -7 and expected[3] == -2 and expected[5] == -2
    got = reference.evaluate(p, [a, b, a])[0]
    assert got.tolist() == expected
    assert got.dtype == np.int64


@pytest.mark.parametrize("acc, shift, expected", [
    (-3, 1, -2), (-1, 3, -1), (-8, 3, -1), (-9, 3, -2), (7, 3, 0), (-1, 70, -1), (5, 70, 0),
])
def test_affine_floors_toward_minus_infinity(acc, shift, expected):
    p = _affine([[0, -1]], [[1, 5]], [0], [0], shift, [(1,)])
    assert reference.evaluate(p, [np.array([acc])])[0].tolist() == [expected]


def test_affine_over_a_sample_axis_matches_one_by_one():
    rng = np.random.default_rng(3)
    index = rng.integers(-1, 7, size=(5, 4)).tolist()
    weight = rng.integers(-50, 50, size=(3, 4)).tolist()
    row = rng.integers(0, 3, size=5).tolist()
    bias = rng.integers(-100, 100, size=5).tolist()
    p = _affine(index, weight, row, bias, 3, [(3,), (4,)])
    xs = rng.integers(-1000, 1000, size=(20, 3)), rng.integers(-1000, 1000, size=(20, 4))
    together = reference.evaluate(p, list(xs))[0]
    for k in range(20):
        X = xs[0][k].tolist() + xs[1][k].tolist()
        assert together[k].tolist() == _python_affine(X, index, weight, row, bias, 3)


def test_wide_affine_accumulators_fall_back_to_exact_integers():
    # A 64-bit input times 2^40: past int64, evaluated exactly.
    index, weight, row, bias = [[0, 1], [1, -1]], [[2**40, -(2**40) + 3], [17, 0]], [0, 1], \
        [2**62, -(2**62)]
    p = _affine(index, weight, row, bias, 60, [(2,)], bits=(64,), out_bits=64)
    x = [2**63 - 1, -(2**63)]
    expected = _python_affine(x, index, weight, row, bias, 60)
    assert reference.evaluate(p, [np.array(x, dtype=np.int64)])[0].tolist() == expected


def _gather(index, shapes, out_shape, bits=8):
    tensors = [tensor(f"x{i}", s, 0, bits) for i, s in enumerate(shapes)]
    tensors.append(tensor("y", out_shape, 0, bits))
    n = len(shapes)
    return program(document("gather", tensors, list(range(n)), [n],
                            [{"op": "gather", "inputs": list(range(n)), "output": n,
                              "index": index}]))


def test_gather_moves_elements_and_minus_one_gives_zero():
    # X = x0 (2x2) ‖ x1 (3): [5, -6, 7, -8, 9, -10, 11]
    p = _gather([6, -1, 0, 3, -1, 4], [(2, 2), (3,)], (2, 3))
    got = reference.evaluate(p, [np.array([[5, -6], [7, -8]]), np.array([9, -10, 11])])[0]
    assert got.tolist() == [[11, 0, 5], [-8, 0, 9]]
    assert got.dtype == np.int64


def test_gather_transposes_and_repeats_over_a_sample_axis():
    p = _gather([0, 2, 1, 3, 0, 0], [(2, 2)], (6,))
    xs = np.arange(12).reshape(3, 2, 2) - 6
    got = reference.evaluate(p, [xs])[0]
    assert got.shape == (3, 6)
    for k in range(3):
        flat = xs[k].reshape(-1)
        assert got[k].tolist() == [flat[0], flat[2], flat[1], flat[3], flat[0], flat[0]]


def _max(index, shapes, bits=8):
    tensors = [tensor(f"x{i}", s, 0, bits) for i, s in enumerate(shapes)]
    tensors.append(tensor("y", [len(index)], 0, bits))
    n = len(shapes)
    return program(document("max", tensors, list(range(n)), [n],
                            [{"op": "max", "inputs": list(range(n)), "output": n,
                              "index": index}]))


def test_max_ignores_minus_one_entries():
    # X = x0 ‖ x1 = [-5, -7, -3, -128, 100]. A -1 is no entry, never a 0: the max of
    # negative values stays negative.
    p = _max([[0, -1, 1], [-1, -1, 3], [2, 0, 1], [4, -1, 3], [3, 3, -1]], [(3,), (2,)])
    got = reference.evaluate(p, [np.array([-5, -7, -3]), np.array([-128, 100])])[0]
    assert got.tolist() == [-5, -128, -3, 100, -128]
    assert got.dtype == np.int64


def test_max_over_a_sample_axis_matches_one_by_one():
    rng = np.random.default_rng(5)
    index = [[0, 1, -1, 2], [3, -1, -1, -1], [1, 2, 3, 0]]
    p = _max(index, [(2, 2)], bits=16)
    xs = rng.integers(-(2**15), 2**15, size=(30, 2, 2))
    got = reference.evaluate(p, [xs])[0]
    for k in range(30):
        flat = xs[k].reshape(-1)
        assert got[k].tolist() == [max(int(flat[i]) for i in row if i >= 0) for row in index]
