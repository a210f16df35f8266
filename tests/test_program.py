"""The program IR helpers: validation, canonical bytes, input quantization, packing."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from program_fixtures import modified, single_linear, tensor, tiny_program
from zkml import program as P
from zkml.errors import InputShapeError, ModelError, ProofFormatError, QuantizationError


def test_tiny_program_is_valid():
    P.validate(tiny_program())


def _set(path, value):
    def change(p):
        target = p
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _append_instruction(instr):
    return lambda p: p["instructions"].append(instr)


INVALID = {
    "wrong_format": (_set(["format"], "onnx"), "'format'"),
    "wrong_version": (_set(["version"], 2), "version"),
    "extra_top_level_key": (_set(["report"], {}), "under 'meta'"),
    "bits_out_of_range": (_set(["tensors", 0, "bits"], 65), "bits"),
    "bool_is_not_an_int": (_set(["tensors", 0, "bits"], True), "bits"),
    "zero_dimension": (_set(["tensors", 0, "shape"], [1, 0]), "positive"),
    "scalar_shape": (_set(["tensors", 0, "shape"], []), "non-empty"),
    "output_index_out_of_range": (_set(["outputs", 0, "tensor"], 9), "'outputs'"),
    "unknown_op": (_set(["instructions", 1, "op"], "sigmoid"), "'op'"),
    "weight_row_length": (_set(["instructions", 0, "weight"], [[1, 2, 3], [1, 2, 3]]),
                          "input shape"),
    "ragged_weight": (_set(["instructions", 0, "weight"], [[1, 2], [1]]), "weight"),
    "float_weight": (_set(["instructions", 0, "weight"], [[1.5, 2], [1, 1]]), "weight"),
    "weight_beyond_int64": (_set(["instructions", 0, "weight"], [[2**63, 0], [0, 0]]), "64-bit"),
    "bias_length": (_set(["instructions", 0, "bias"], [1]), "bias"),
    "negative_shift": (_set(["instructions", 0, "shift"], -1), "shift"),
    "linear_output_shape": (_set(["tensors", 1, "shape"], [1, 3]), "output shape"),
    "relu_scale_changes": (_set(["tensors", 2, "scale"], 5), "same scale"),
    "reshape_element_count": (_set(["tensors", 3, "shape"], [3]), "element counts"),
    "second_writer": (_append_instruction({"op": "relu", "input": 1, "output": 2}),
                      "already written"),
    "writes_a_model_input": (_append_instruction({"op": "relu", "input": 1, "output": 0}),
                             "model input"),
    "read_before_write": (lambda p: p["instructions"].reverse(), "before it is written"),
    "dangling_tensor": (lambda p: p["tensors"].append(tensor("orphan", [1])), "neither"),
    "missing_instruction_key": (lambda p: p["instructions"][0].pop("shift"), "keys"),
    "accumulator_over_2_120": (
        lambda p: p.update(single_linear([[2**62] * 4], [0], 0, bits_in=62)), "2^120"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_validate_rejects_malformed_programs(case):
    change, message = INVALID[case]
    with pytest.raises(ModelError, match="invalid program") as info:
        P.validate(modified(tiny_program(), change))
    assert message in str(info.value)


def test_meta_is_allowed_and_hashed():
    plain = tiny_program()
    with_meta = modified(plain, _set(["meta"], {"note": "x"}))
    P.validate(with_meta)
    assert P.circuit_hash(P.dumps(plain)) != P.circuit_hash(P.dumps(with_meta))


def test_dumps_is_canonical_json_independent_of_key_order():
    program = tiny_program()
    shuffled = json.loads(json.dumps(program))
    shuffled = {k: shuffled[k] for k in reversed(list(shuffled))}
    data = P.dumps(program)
    assert data == P.dumps(shuffled)
    assert data == json.dumps(program, sort_keys=True, separators=(",", ":")).encode()
    assert b" " not in data and not data.endswith(b"\n")
    assert P.circuit_hash(data) == hashlib.sha256(data).hexdigest()
    assert P.loads(data) == program


def test_loads_rejects_non_json():
    with pytest.raises(ModelError, match="not JSON"):
        P.loads(b"{nope")


def _float_program(scale=4, bits=8, shape=(3,)):
    program = tiny_program()
    program["tensors"][0] = tensor("x", shape, scale, bits)
    return program


def test_quantize_inputs_rounds_half_up():
    program = _float_program(scale=2)
    q = P.quantize_inputs(program, [np.array([0.125, -0.125, 0.3])])[0]
    # 0.125*4 = 0.5 -> 1, -0.5 -> 0 (floor(x + 1/2)), 1.2 -> 1
    assert q.dtype == np.int64 and q.tolist() == [1, 0, 1]


def test_quantize_inputs_accepts_flat_and_batched_arrays():
    program = _float_program(shape=(1, 2))
    flat = P.quantize_inputs(program, [[0.5, -0.25]])[0]
    assert flat.shape == (1, 2) and flat.tolist() == [[8, -4]]
    batch = P.quantize_inputs(program, [np.full((5, 1, 2), 0.5)])[0]
    assert batch.shape == (5, 1, 2)


def test_quantize_inputs_out_of_range_names_input_value_and_range():
    program = _float_program(scale=4, bits=8)  # range [-8, 7.9375]
    with pytest.raises(QuantizationError) as info:
        P.quantize_inputs(program, [np.array([1.0, 9.5, -2.0])])
    message = str(info.value)
    assert "input 'x' value 9.5 at index [1]" in message and "[-8, 7.9375]" in message
    # Plain numbers (not numpy reprs) and what to do about it.
    assert "np." not in message and "recompile with a calibration sample that covers this value" in message


def test_quantize_inputs_edges_of_the_range():
    program = _float_program(scale=4, bits=8)
    q = P.quantize_inputs(program, [np.array([-8.0, 7.9375, 7.96])])[0]
    assert q.tolist() == [-128, 127, 127]
    with pytest.raises(QuantizationError):
        P.quantize_inputs(program, [np.array([7.97, 0, 0])])  # rounds to 128
    with pytest.raises(QuantizationError):
        P.quantize_inputs(program, [np.array([-8.04, 0, 0])])  # rounds to -129


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_quantize_inputs_rejects_non_finite_values(bad):
    with pytest.raises(QuantizationError, match="non-finite"):
        P.quantize_inputs(_float_program(), [np.array([0.0, bad, 0.0])])


def test_quantize_inputs_checks_count_and_shape():
    with pytest.raises(InputShapeError, match="1 input"):
        P.quantize_inputs(_float_program(), [])
    with pytest.raises(InputShapeError, match="expected shape"):
        P.quantize_inputs(_float_program(), [np.zeros(4)])


def test_dequantize_scales_by_two_to_minus_f():
    program = _float_program(scale=3)
    got = P.dequantize(program, 0, np.array([8, -4, 1]))
    np.testing.assert_array_equal(got, [1.0, -0.5, 0.125])


# --- packing ---------------------------------------------------------------------

def _io_program(bits: int, n_in: int, n_out: int) -> dict:
    return {
        "format": "zkml-program", "version": 1, "name": "io",
        "tensors": [tensor("a", [n_in], 0, bits), tensor("b", [n_out], 0, bits)],
        "inputs": [{"name": "a", "tensor": 0}],
        "outputs": [{"name": "b", "tensor": 1}],
        "instructions": [{"op": "reshape", "input": 0, "output": 1}] if n_in == n_out else [],
    }


def test_packing_matches_the_spec_formula_on_a_small_example():
    program = _io_program(4, 3, 3)  # k = 63 values per element
    packed = P.pack_public(program, [np.array([-8, 7, 0])], [np.array([1, 2, 3])])
    # u = q + 8: [0, 15, 8] -> 0 + 15*16 + 8*256; [9, 10, 11] -> 9 + 10*16 + 11*256
    assert packed == [0 + 15 * 16 + 8 * 256, 9 + 10 * 16 + 11 * 256]


@pytest.mark.parametrize("bits", [2, 7, 16, 32, 63, 64])
def test_pack_then_unpack_round_trips(bits):
    rng = np.random.default_rng(bits)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    n = 3 * (252 // bits) + 5  # several full elements and a partial one
    a = rng.integers(lo, hi, size=n, endpoint=True, dtype=np.int64)
    b = rng.integers(lo, hi, size=n, endpoint=True, dtype=np.int64)
    a[:2], b[:2] = [lo, hi], [hi, lo]
    program = _io_program(bits, n, n)
    packed = P.pack_public(program, [a], [b])
    assert len(packed) == P.public_count(program) == 2 * (-(-n // (252 // bits)))
    assert all(0 <= v < 2**252 for v in packed)
    inputs, outputs = P.unpack_public(program, packed)
    np.testing.assert_array_equal(inputs[0], a)
    np.testing.assert_array_equal(outputs[0], b)
    np.testing.assert_array_equal(P.unpack_outputs(program, [str(v) for v in packed])[0], b)


@pytest.mark.parametrize("bits", [2, 16, 64])
def test_packing_is_injective_on_edge_values(bits):
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    program = _io_program(bits, 2, 2)
    vectors = [[lo, lo], [lo, hi], [hi, lo], [hi, hi], [0, 0], [-1, 0], [0, -1], [lo, 0]]
    packings = {tuple(P.pack_public(program, [np.array(v)], [np.array(v)])) for v in vectors}
    assert len(packings) == len(vectors)


def test_pack_rejects_values_outside_the_tensor_range():
    program = _io_program(8, 2, 2)
    with pytest.raises(QuantizationError, match="output 'b' value 128"):
        P.pack_public(program, [np.array([0, 0])], [np.array([0, 128])])
    with pytest.raises(QuantizationError, match="input 'a' value -129"):
        P.pack_public(program, [np.array([-129, 0])], [np.array([0, 0])])


def test_unpack_checks_count_and_range():
    program = _io_program(8, 2, 2)
    good = P.pack_public(program, [np.array([1, 2])], [np.array([3, 4])])
    with pytest.raises(ProofFormatError, match="expected 2 public signals"):
        P.unpack_outputs(program, good[:1])
    with pytest.raises(ProofFormatError, match="out of range"):
        P.unpack_outputs(program, [good[0], good[1] + 2**16])  # a bit above the two values
    with pytest.raises(ProofFormatError, match="out of range"):
        P.unpack_outputs(program, [good[0], -1])
    with pytest.raises(ProofFormatError, match="not a non-negative integer"):
        P.unpack_outputs(program, [good[0], 1.5])


@pytest.mark.parametrize("shape", [[1, 2**32], [8192, 8192, 2]])
def test_a_tensor_beyond_the_element_limit_is_refused_by_both_validators(shape):
    from zkml import _native

    prog = tiny_program()
    prog["tensors"][0]["shape"] = shape
    with pytest.raises(ModelError, match="elements"):
        P.validate(prog)
    # The native validator refuses the same bytes on its own.
    data = json.dumps(prog).encode()
    with pytest.raises(ModelError, match="elements"):
        _native.circuit_info(data)


@pytest.mark.parametrize("bias, accepted", [(0, False), (-1, False), (None, True)])
def test_both_validators_put_the_accumulator_limit_at_the_same_place(bias, accepted):
    from zkml import _native

    # sum|w| * 2^(64-1) + |b| = 2^120 + |b| with w = 2^57 (rejected), or 2^120 - 2^63 (accepted).
    weight = [[2**57]] if bias is not None else [[2**57 - 1]]
    prog = single_linear(weight, [bias or 0], shift=100, bits_in=64, bits_out=20)
    data = json.dumps(prog).encode()
    if accepted:
        P.validate(prog)
        _native.circuit_info(data)
    else:
        with pytest.raises(ModelError, match="2\\^120"):
            P.validate(prog)
        with pytest.raises(ModelError, match="accumulator"):
            _native.circuit_info(data)
