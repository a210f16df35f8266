"""The program IR helpers: validation, canonical bytes, input quantization, packing."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from program_fixtures import (
    all_ops_program,
    document,
    files,
    modified,
    program,
    single_linear,
    tensor,
    tiny_program,
)
from zkml import program as P
from zkml.errors import InputShapeError, ModelError, ProofFormatError, QuantizationError


def test_fixture_programs_are_valid():
    for doc in (tiny_program(), all_ops_program()):
        parsed = program(doc)
        P.validate(parsed)
        assert isinstance(parsed, P.Program)


def test_constants_are_read_only_int64_arrays_in_row_major_order():
    parsed = program(all_ops_program())
    affine = parsed.instructions[0]
    assert affine.op == "affine" and affine.inputs == (0, 0) and affine.output == 1
    for array in (affine.index, affine.weight, affine.row, affine.bias):
        assert isinstance(array, np.ndarray) and array.dtype == np.int64
        assert not array.flags.writeable
    assert affine.index.tolist() == [[0, 5, -1], [3, -1, -1], [-1, -1, -1]]
    assert affine.weight.tolist() == [[1, -2, 3], [-1, 0, 0]]
    assert affine.shift == 1 and type(affine.shift) is int
    _, blob = files(all_ops_program())
    # constants.bin: each constant little-endian int64, row-major, in list order.
    assert blob[:8 * 9] == np.array(affine.index, dtype="<i8").tobytes()
    assert len(blob) == 8 * (9 + 6 + 3 + 3 + 5 + 6)


def _set(path, value):
    def change(p):
        target = p
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _append_instruction(instr):
    return lambda p: p["instructions"].append(instr)


# Cases on tiny_program (linear → relu → gather), constants inline.
INVALID = {
    "wrong_format": (_set(["format"], "onnx"), "'format'"),
    "version_1": (_set(["version"], 1), "version"),
    "version_3": (_set(["version"], 3), "version"),
    "version_as_string": (_set(["version"], "2"), "version"),
    "extra_top_level_key": (_set(["report"], {}), "under 'meta'"),
    "bits_out_of_range": (_set(["tensors", 0, "bits"], 65), "bits"),
    "bits_below_two": (_set(["tensors", 0, "bits"], 1), "bits"),
    "bool_is_not_an_int": (_set(["tensors", 0, "bits"], True), "bits"),
    "zero_dimension": (_set(["tensors", 0, "shape"], [1, 0]), "positive"),
    "scalar_shape": (_set(["tensors", 0, "shape"], []), "non-empty"),
    "output_index_out_of_range": (_set(["outputs", 0, "tensor"], 9), "'outputs'"),
    "unknown_op": (_set(["instructions", 1, "op"], "sigmoid"), "'op'"),
    "op_is_a_list": (_set(["instructions", 1, "op"], ["relu"]), "'op'"),
    "op_is_an_object": (_set(["instructions", 1, "op"], {"relu": 1}), "'op'"),
    "reshape_is_gone": (_set(["instructions", 2], {"op": "reshape", "inputs": [2], "output": 3}),
                        "'op'"),
    "weight_row_length": (_set(["instructions", 0, "weight"], [[1, 2, 3], [1, 2, 3]]),
                          "input shape"),
    "weight_rank": (_set(["instructions", 0, "weight"], [1, 2]), "[N, K]"),
    "bias_length": (_set(["instructions", 0, "bias"], [1]), "bias"),
    "negative_shift": (_set(["instructions", 0, "shift"], -1), "shift"),
    "shift_over_120": (_set(["instructions", 0, "shift"], 121), "shift"),
    "float_shift": (_set(["instructions", 0, "shift"], 1.0), "shift"),
    "linear_output_shape": (_set(["tensors", 1, "shape"], [1, 3]), "output shape"),
    "linear_two_inputs": (_set(["instructions", 0, "inputs"], [0, 0]), "one input"),
    "relu_scale_changes": (_set(["tensors", 2, "scale"], 5), "same scale"),
    "relu_bits_change": (_set(["tensors", 2, "bits"], 9), "same scale and bits"),
    "relu_shape_change": (_set(["tensors", 2, "shape"], [2, 1]), "shapes differ"),
    "relu_two_inputs": (_set(["instructions", 1, "inputs"], [1, 1]), "one input"),
    "gather_element_count": (_set(["tensors", 3, "shape"], [3]), "output elements"),
    "inputs_empty": (_set(["instructions", 1, "inputs"], []), "'inputs' must be a non-empty list"),
    "inputs_not_a_list": (_set(["instructions", 1, "inputs"], 1),
                          "'inputs' must be a non-empty list"),
    "inputs_hold_a_string": (_set(["instructions", 1, "inputs"], ["1"]),
                             "'inputs' must be a non-empty list"),
    "inputs_hold_a_bool": (_set(["instructions", 1, "inputs"], [True]),
                           "'inputs' must be a non-empty list"),
    "inputs_index_out_of_range": (_set(["instructions", 1, "inputs"], [9]), "not below 4"),
    "version_1_input_key": (_set(["instructions", 1], {"op": "relu", "input": 1, "output": 2}),
                            "keys"),
    "output_not_an_int": (_set(["instructions", 1, "output"], "2"), "'output'"),
    "second_writer": (_append_instruction({"op": "relu", "inputs": [1], "output": 2}),
                      "already written"),
    "writes_a_model_input": (_append_instruction({"op": "relu", "inputs": [1], "output": 0}),
                             "model input"),
    "read_before_write": (lambda p: p["instructions"].reverse(), "before it is written"),
    "dangling_tensor": (lambda p: p["tensors"].append(tensor("orphan", [1])), "neither"),
    "missing_instruction_key": (lambda p: p["instructions"][0].pop("shift"), "keys"),
    "extra_instruction_key": (_set(["instructions", 1, "shift"], 0), "keys"),
    "accumulator_over_2_120": (
        lambda p: p.update(single_linear([[2**62] * 4], [0], 0, bits_in=62)), "2^120"),
}

# Cases on all_ops_program (affine, gather, max, relu), constants inline.
INVALID_ALL_OPS = {
    "affine_index_out_of_range": (_set(["instructions", 0, "index", 0, 1], 8), "[-1, 8)"),
    "affine_index_below_minus_one": (_set(["instructions", 0, "index", 2, 0], -2), "[-1, 8)"),
    "affine_row_out_of_range": (_set(["instructions", 0, "row"], [0, 2, 0]), "[0, 2)"),
    "affine_negative_row": (_set(["instructions", 0, "row"], [0, -1, 0]), "[0, 2)"),
    "affine_bias_shape": (_set(["instructions", 0, "bias"], [1, 0]), "do not fit"),
    "affine_row_shape": (_set(["instructions", 0, "row"], [0, 1, 0, 0]), "do not fit"),
    "affine_index_rows": (_set(["instructions", 0, "index"], [[0, 5, -1], [3, -1, -1]]),
                          "do not fit"),
    "affine_weight_columns": (_set(["instructions", 0, "weight"], [[1, -2], [-1, 0]]),
                              "do not fit"),
    "affine_output_size": (_set(["tensors", 1, "shape"], [4]), "do not fit"),
    "affine_index_rank": (_set(["instructions", 0, "index"], [0, 5, 3]), "[O, T]"),
    "affine_shift_over_120": (_set(["instructions", 0, "shift"], 121), "shift"),
    "affine_accumulator_over_2_120": (
        lambda p: (_set(["tensors", 0, "bits"], 64)(p),
                   _set(["instructions", 0, "weight", 0, 0], 2**62)(p)), "2^120"),
    "gather_index_out_of_range": (_set(["instructions", 1, "index", 1], 8), "[-1, 8)"),
    "gather_index_below_minus_one": (_set(["instructions", 1, "index", 2], -2), "[-1, 8)"),
    "gather_index_length": (_set(["instructions", 1, "index"], [0, 1]), "output elements"),
    "gather_index_rank": (_set(["instructions", 1, "index"], [[0], [7], [-1], [3], [4]]),
                          "output elements"),
    "gather_inputs_different_scales": (_set(["instructions", 1, "inputs"], [0, 1]),
                                       "share scale and bits"),
    "gather_output_scale": (lambda p: (_set(["tensors", 2, "scale"], 1)(p),
                                       _set(["tensors", 3, "scale"], 1)(p)),
                            "share scale and bits"),
    "gather_output_bits": (_set(["tensors", 2, "bits"], 9), "share scale and bits"),
    "max_row_with_no_valid_entry": (_set(["instructions", 2, "index", 0], [-1, -1, -1]),
                                    "at least one entry"),
    "max_index_out_of_range": (_set(["instructions", 2, "index", 1, 2], 9), "[-1, 9)"),
    "max_index_below_minus_one": (_set(["instructions", 2, "index", 1, 2], -2), "[-1, 9)"),
    "max_index_rows": (_set(["instructions", 2, "index"], [[1, -1, -1]]), "output elements"),
    "max_index_rank": (_set(["instructions", 2, "index"], [1, 2]), "[O, T]"),
    "max_inputs_different_scales": (_set(["instructions", 2, "inputs"], [0, 1]),
                                    "share scale and bits"),
    "max_output_scale": (lambda p: (_set(["tensors", 3, "scale"], 2)(p),
                                    _set(["tensors", 4, "scale"], 2)(p)),
                         "share scale and bits"),
    "relu_shape_change_all_ops": (_set(["tensors", 4, "shape"], [1, 2]), "shapes differ"),
}


def _doc_of(data: bytes) -> dict:
    return json.loads(data)


def _with_blob(change_blob):
    """A file-level change that rewrites constants.bin and updates its hash."""
    def change(doc, blob):
        blob = change_blob(blob)
        doc["constants_sha256"] = hashlib.sha256(blob).hexdigest()
        return doc, blob
    return change


def _on_doc(change_doc):
    def change(doc, blob):
        change_doc(doc)
        return doc, blob
    return change


def _flip_first_byte(doc, blob):
    return doc, bytes([blob[0] ^ 1]) + blob[1:]


# Cases on the two files of tiny_program: circuit.json (parsed, with its
# constants list; constant 0 is the linear weight [2, 2], 1 its bias [2],
# 2 the gather index [2]) and constants.bin.
INVALID_FILES = {
    "constants_sha256_mismatch": (_on_doc(_set(["constants_sha256"], "00" * 32)),
                                  "constants_sha256"),
    "constants_sha256_not_a_string": (_on_doc(_set(["constants_sha256"], 5)), "constants_sha256"),
    "constants_sha256_missing": (_on_doc(lambda d: d.pop("constants_sha256")), "missing keys"),
    "one_byte_of_constants_bin_flipped": (_flip_first_byte, "constants_sha256"),
    "constants_bin_empty_with_its_hash": (_with_blob(lambda b: b""), "constants.bin holds 0 bytes"),
    "constants_bin_one_value_too_long": (_with_blob(lambda b: b + bytes(8)),
                                         "constants.bin holds 72 bytes; the constants need 64"),
    "constants_bin_one_value_too_short": (_with_blob(lambda b: b[:-8]),
                                          "constants.bin holds 56 bytes"),
    "constants_bin_not_a_multiple_of_8": (_with_blob(lambda b: b + b"\0"),
                                          "constants.bin holds 65 bytes"),
    "constant_index_out_of_range": (_on_doc(_set(["instructions", 0, "weight"], 3)),
                                    "constant index < 3"),
    "constant_index_negative": (_on_doc(_set(["instructions", 0, "bias"], -1)),
                                "constant index"),
    "constant_index_not_an_int": (_on_doc(_set(["instructions", 2, "index"], "2")),
                                  "constant index"),
    "constant_index_is_a_bool": (_on_doc(_set(["instructions", 0, "weight"], False)),
                                 "constant index"),
    "constant_inline_instead_of_index": (_on_doc(_set(["instructions", 0, "bias"], [1, 0])),
                                         "constant index"),
    "constant_shape_does_not_fit_rank": (_on_doc(_set(["constants", 0, "shape"], [4])), "[N, K]"),
    "constant_shape_does_not_fit_input": (_on_doc(_set(["constants", 0, "shape"], [1, 4])),
                                          "input shape"),
    "weight_refers_to_the_bias": (_on_doc(_set(["instructions", 0, "weight"], 1)), "[N, K]"),
    "constant_shape_zero": (_on_doc(_set(["constants", 0, "shape"], [4, 0])), "positive ints"),
    "constant_shape_empty": (_on_doc(_set(["constants", 1, "shape"], [])), "positive ints"),
    "constant_shape_float": (_on_doc(_set(["constants", 0, "shape"], [2.0, 2])), "positive ints"),
    "constant_extra_key": (_on_doc(_set(["constants", 0, "dtype"], "int64")), "constant 0"),
    "constant_name_not_a_string": (_on_doc(_set(["constants", 2, "name"], 7)), "constant 2"),
    "constants_not_a_list": (_on_doc(_set(["constants"], {})), "'constants' must be a list"),
    "constants_missing": (_on_doc(lambda d: d.pop("constants")), "missing keys"),
    "constants_beyond_element_limit": (
        _on_doc(_set(["constants", 0, "shape"], [2**14, 2**15])), "elements"),
}


def _invalid_files(case):
    if case in INVALID:
        change, message = INVALID[case]
        return files(modified(tiny_program(), change)), message
    if case in INVALID_ALL_OPS:
        change, message = INVALID_ALL_OPS[case]
        return files(modified(all_ops_program(), change)), message
    change, message = INVALID_FILES[case]
    data, blob = files(tiny_program())
    doc, blob = change(_doc_of(data), blob)
    return (P.dumps(doc), blob), message


ALL_INVALID = sorted(INVALID) + sorted(INVALID_ALL_OPS) + sorted(INVALID_FILES)


def test_invalid_case_names_are_unique():
    assert len(ALL_INVALID) == len(set(ALL_INVALID))


@pytest.mark.parametrize("case", ALL_INVALID)
def test_validate_rejects_malformed_programs(case):
    (data, blob), message = _invalid_files(case)
    with pytest.raises(ModelError, match="invalid program") as info:
        P.from_files(data, blob)
    assert message in str(info.value)


def test_typed_validate_rejects_what_from_files_rejects():
    # validate() on a typed Program built by hand (not through from_files).
    good = program(tiny_program())
    linear = good.instructions[0]
    bad_linear = type(linear)(linear.inputs, linear.output, linear.weight, linear.bias[:1],
                              linear.shift)
    bad = P.Program(good.name, good.tensors, good.inputs, good.outputs,
                    (bad_linear,) + good.instructions[1:])
    with pytest.raises(ModelError, match="bias"):
        P.validate(bad)
    orphan = P.Program(good.name, good.tensors + (P.Tensor("orphan", (1,), 0, 8),), good.inputs,
                       good.outputs, good.instructions)
    with pytest.raises(ModelError, match="neither"):
        P.validate(orphan)
    with pytest.raises(ModelError, match="neither"):
        P.from_files(*orphan.to_files())  # to_files only writes; reading validates


def test_the_same_tensor_may_be_read_twice():
    parsed = program(all_ops_program())
    assert parsed.instructions[0].inputs == (0, 0) and parsed.instructions[1].inputs == (0, 0)


def test_meta_is_allowed_and_hashed():
    plain = tiny_program()
    with_meta = modified(plain, _set(["meta"], {"note": "x"}))
    parsed = program(with_meta)
    assert parsed.meta == {"note": "x"}
    assert P.circuit_hash(files(plain)[0]) != P.circuit_hash(files(with_meta)[0])
    # to_files keeps meta, and it changes the hashed bytes, not the constants.
    meta_json, meta_blob = parsed.to_files()
    plain_json, plain_blob = program(plain).to_files()
    assert meta_blob == plain_blob
    assert P.circuit_hash(meta_json) != P.circuit_hash(plain_json)
    assert json.loads(meta_json)["meta"] == {"note": "x"}
    assert P.from_files(meta_json, meta_blob).meta == {"note": "x"}


def _fields(parsed: P.Program) -> list:
    """Every field of a program, constants as (dtype, shape, values), for comparison."""
    def plain(value):
        if isinstance(value, np.ndarray):
            return (str(value.dtype), value.shape, value.tolist())
        return value
    return [parsed.name, parsed.tensors, parsed.inputs, parsed.outputs, parsed.meta,
            [(i.op, {k: plain(v) for k, v in vars(i).items()}) for i in parsed.instructions]]


@pytest.mark.parametrize("make", [tiny_program, all_ops_program])
def test_to_files_is_canonical_and_round_trips(make):
    parsed = program(make())
    data, blob = parsed.to_files()
    assert (data, blob) == parsed.to_files()  # deterministic
    assert data == json.dumps(json.loads(data), sort_keys=True, separators=(",", ":")).encode()
    assert b" " not in data and not data.endswith(b"\n")
    assert P.circuit_hash(data) == hashlib.sha256(data).hexdigest()
    doc = json.loads(data)
    assert doc["format"] == "zkml-program" and doc["version"] == 2
    assert doc["constants_sha256"] == hashlib.sha256(blob).hexdigest()
    assert len(blob) == 8 * sum(int(np.prod(c["shape"])) for c in doc["constants"])
    again = P.from_files(data, blob)
    assert _fields(again) == _fields(parsed)
    assert again.to_files() == (data, blob)
    # A document with its keys in another order is the same program, same bytes.
    shuffled = {k: doc[k] for k in reversed(list(doc))}
    assert P.from_files(json.dumps(shuffled, indent=2).encode(), blob).to_files() == (data, blob)
    # The bytes of a fixture parse to the same program, whatever its constant names.
    assert P.from_files(*files(make())).to_files() == (data, blob)


def test_to_files_lays_constants_out_in_order():
    parsed = program(tiny_program())
    data, blob = parsed.to_files()
    doc = json.loads(data)
    linear, _, gather = parsed.instructions
    assert [c["shape"] for c in doc["constants"]] == [[2, 2], [2], [2]]
    assert [doc["instructions"][0]["weight"], doc["instructions"][0]["bias"],
            doc["instructions"][2]["index"]] == [0, 1, 2]
    assert "constants" not in doc["instructions"][1] and doc["instructions"][1]["inputs"] == [1]
    expected = np.concatenate([linear.weight.reshape(-1), linear.bias, gather.index])
    assert blob == expected.astype("<i8").tobytes()


def test_dumps_is_canonical_json_independent_of_key_order():
    doc = json.loads(files(tiny_program())[0])
    shuffled = {k: doc[k] for k in reversed(list(doc))}
    data = P.dumps(doc)
    assert data == P.dumps(shuffled)
    assert data == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert b" " not in data and not data.endswith(b"\n")


def test_circuit_hash_covers_the_constants():
    data, blob = files(tiny_program())
    other = files(modified(tiny_program(), _set(["instructions", 0, "bias"], [2, 0])))
    assert other[0] != data and P.circuit_hash(other[0]) != P.circuit_hash(data)
    # The new weights with the old circuit.json are refused, not silently used.
    with pytest.raises(ModelError, match="constants_sha256"):
        P.from_files(data, other[1])


def test_from_files_rejects_non_json():
    with pytest.raises(ModelError, match="not JSON"):
        P.from_files(b"{nope", b"")
    with pytest.raises(ModelError, match="not JSON"):
        P.from_files(b"\xff\xfe", b"")
    with pytest.raises(ModelError, match="not a JSON object"):
        P.from_files(b"[]", b"")


def _float_program(scale=4, bits=8, shape=(3,)):
    """One input x of ``shape`` gathered unchanged to the output."""
    size = int(np.prod(shape))
    return program(document(
        "float", [tensor("x", shape, scale, bits), tensor("out", shape, scale, bits)], [0], [1],
        [{"op": "gather", "inputs": [0], "output": 1, "index": list(range(size))}]))


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

def _io_program(bits: int, n_in: int, n_out: int) -> P.Program:
    return program(document(
        "io", [tensor("a", [n_in], 0, bits), tensor("b", [n_out], 0, bits)], [0], [1],
        [{"op": "gather", "inputs": [0], "output": 1,
          "index": [i % n_in for i in range(n_out)]}]))


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

    doc = tiny_program()
    doc["tensors"][0]["shape"] = shape
    data, blob = files(doc)
    with pytest.raises(ModelError, match="elements"):
        P.from_files(data, blob)
    # The native validator refuses the same bytes on its own.
    with pytest.raises(ModelError, match="elements"):
        _native.circuit_info(data, blob)


@pytest.mark.parametrize("bias, accepted", [(0, False), (-1, False), (None, True)])
def test_both_validators_put_the_accumulator_limit_at_the_same_place(bias, accepted):
    from zkml import _native

    # sum|w| * 2^(64-1) + |b| = 2^120 + |b| with w = 2^57 (rejected), or 2^120 - 2^63 (accepted).
    weight = [[2**57]] if bias is not None else [[2**57 - 1]]
    data, blob = files(single_linear(weight, [bias or 0], shift=100, bits_in=64, bits_out=20))
    if accepted:
        P.from_files(data, blob)
        _native.circuit_info(data, blob)
    else:
        with pytest.raises(ModelError, match="2\\^120"):
            P.from_files(data, blob)
        with pytest.raises(ModelError, match="accumulator"):
            _native.circuit_info(data, blob)


@pytest.mark.parametrize("bias, accepted", [(2**62 - 1, True), (2**62, False)])
def test_both_validators_put_the_affine_accumulator_limit_at_the_same_place(bias, accepted):
    from zkml import _native

    # Terms over inputs of 64 and 2 bits, and one left out (index -1):
    # (2^57 - 1)·2^63 + 2^61·2^1 + bias = 2^120 - 2^63 + 2^62 + bias, so 2^120 - 1
    # (accepted) or 2^120 (rejected). Counting the 2-bit input at 64 bits, or the
    # term with index -1, would reject both.
    doc = document(
        "affine_limit", [tensor("x", [1], 0, 64), tensor("s", [1], 0, 2), tensor("y", [1], 0, 8)],
        [0, 1], [2],
        [{"op": "affine", "inputs": [0, 1], "output": 2, "index": [[0, 1, -1]],
          "weight": [[2**57 - 1, 2**61, 2**62]], "row": [0], "bias": [bias], "shift": 120}])
    data, blob = files(doc)
    if accepted:
        P.from_files(data, blob)
        _native.circuit_info(data, blob)
    else:
        with pytest.raises(ModelError, match="2\\^120"):
            P.from_files(data, blob)
        with pytest.raises(ModelError, match="accumulator"):
            _native.circuit_info(data, blob)


@pytest.mark.parametrize("case", ALL_INVALID)
def test_the_native_validator_rejects_the_same_programs(case):
    from zkml import _native

    (data, blob), _ = _invalid_files(case)
    with pytest.raises(ModelError):
        _native.circuit_info(data, blob)


# --- reading big programs: no copies, no whole-weight temporaries -----------------


def test_constants_are_read_only_views_of_the_constants_bytes_not_copies():
    data, blob = files(all_ops_program())
    parsed = P.from_files(data, blob)
    whole = np.frombuffer(blob, dtype=np.uint8)
    arrays = [getattr(i, name) for i in parsed.instructions for name in ("index", "weight", "row", "bias")
              if hasattr(i, name)]
    assert arrays and all(np.shares_memory(a, whole) and not a.flags.writeable for a in arrays)


def test_constants_from_a_bytearray_are_not_changed_by_changing_it():
    data, blob = files(tiny_program())
    mutable = bytearray(blob)
    parsed = P.from_files(data, mutable)
    before = [np.array(i.weight) for i in parsed.instructions if hasattr(i, "weight")]
    mutable[:] = bytes(len(mutable))
    assert [i.weight.tolist() for i in parsed.instructions if hasattr(i, "weight")] == [b.tolist() for b in before]


def _bound_by_python_ints(weight, bias, bits_in) -> int:
    bits = np.broadcast_to(np.asarray(bits_in), weight.shape)
    return max((sum(abs(int(w)) << (int(b) - 1) for w, b in zip(row, brow)) + abs(int(c))
                for row, brow, c in zip(weight.tolist(), bits.tolist(), bias.tolist())), default=0)


@pytest.mark.parametrize("seed", range(40))
def test_accumulator_bound_is_exact(seed):
    rng = np.random.default_rng(seed)
    n, k = (int(v) for v in rng.integers(1, 12, 2))
    width = int(rng.choice([2, 8, 16, 40, 63, 64]))
    weight = rng.integers(-(2 ** (width - 1)), 2 ** (width - 1) - 1, (n, k), dtype=np.int64, endpoint=True)
    bias = rng.integers(-(2**62), 2**62, n, dtype=np.int64) if seed % 3 == 0 else rng.integers(-9, 9, n)
    bits_in = int(rng.integers(2, 64)) if seed % 2 else rng.integers(2, 64 if seed % 4 else 12, k)
    assert P.accumulator_bound(weight, bias, bits_in) == _bound_by_python_ints(weight, bias, bits_in)


def test_accumulator_bound_of_a_wide_layer_makes_no_copy_of_its_weight():
    import tracemalloc

    weight = np.random.default_rng(0).integers(-128, 128, (2048, 4096), dtype=np.int64)  # 64 MiB
    bias = np.arange(-1024, 1024, dtype=np.int64)
    expected = int((np.abs(weight).sum(axis=1) * 128 + np.abs(bias)).max())
    tracemalloc.start()
    try:
        assert P.accumulator_bound(weight, bias, 8) == expected
        per_column = P.accumulator_bound(weight, bias, np.full(4096, 8))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert per_column == expected
    assert peak < 24 << 20, f"{peak >> 20} MiB of temporaries for a 64 MiB weight"


def test_packing_in_blocks_is_packing_at_once(monkeypatch):
    rng = np.random.default_rng(5)
    for bits in (3, 8, 64):
        q = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1, 7 * (252 // bits) + 3, dtype=np.int64, endpoint=True)
        whole = P._pack(q, bits)
        monkeypatch.setattr(P, "_PACK_BLOCK", 2)
        assert P._pack(q, bits) == whole and len(whole) == 8
        monkeypatch.undo()


def test_a_layout_is_the_program_without_its_constant_values():
    data, blob = files(all_ops_program())
    full = P.from_files(data, blob)
    doc = json.loads(data)
    doc["constants_sha256"] = "00" * 32  # not checked: the native side hashes the bytes it is given
    layout = P.from_document(doc, bytes(len(blob)), with_values=False)
    # Its length is all a layout needs of constants.bin.
    sized = P.from_document(doc, len(blob), with_values=False)
    assert (sized.tensors, sized.inputs, sized.outputs, len(sized.instructions)) == \
        (layout.tensors, layout.inputs, layout.outputs, len(layout.instructions))
    assert (layout.tensors, layout.inputs, layout.outputs) == (full.tensors, full.inputs, full.outputs)
    for a, b in zip(layout.instructions, full.instructions):
        for name, value in vars(b).items():
            if isinstance(value, np.ndarray):
                zeros = getattr(a, name)
                assert zeros.shape == value.shape and not zeros.any() and not zeros.flags.writeable
                assert zeros.strides == (0,) * zeros.ndim  # no memory per element
            else:
                assert getattr(a, name) == value
    # The files' lengths and every structural rule still hold.
    with pytest.raises(ModelError, match="constants.bin holds"):
        P.from_document(doc, blob[:-8], with_values=False)
    with pytest.raises(ModelError, match="constants.bin holds"):
        P.from_document(doc, len(blob) + 8, with_values=False)
    broken = json.loads(data)
    broken["instructions"][0]["output"] = 99
    with pytest.raises(ModelError):
        P.from_document(broken, blob, with_values=False)


@pytest.mark.parametrize("block", [1, 3, 1 << 20])
def test_the_affine_bound_is_exact_in_blocks_of_outputs(block, monkeypatch):
    from types import SimpleNamespace

    from zkml.ops import affine

    monkeypatch.setattr(affine, "_BOUND_BLOCK", block)
    rng = np.random.default_rng(block)
    for trial in range(300):
        tensors = [SimpleNamespace(shape=(int(rng.integers(1, 6)),), bits=int(rng.integers(2, 64 if trial % 3 else 12)))
                   for _ in range(int(rng.integers(1, 4)))]
        offsets = np.cumsum([0] + [t.shape[0] for t in tensors])
        o, t, r = int(rng.integers(0, 9)), int(rng.integers(1, 5)), int(rng.integers(1, 4))
        width = int(rng.choice([3, 8, 30, 62]))
        instr = SimpleNamespace(inputs=tuple(range(len(tensors))), index=rng.integers(-1, offsets[-1], (o, t)),
                                weight=rng.integers(-(2**width), 2**width, (r, t)) * (trial % 7 != 0),
                                row=rng.integers(0, r, o), bias=rng.integers(-(2 ** int(rng.integers(1, 62))), 2**40, o))
        owner = [k for k, tensor in enumerate(tensors) for _ in range(tensor.shape[0])]  # the input of each element
        expected = max((abs(int(instr.bias[k])) + sum(abs(int(instr.weight[instr.row[k], j])) << (tensors[owner[i]].bits - 1)
                                                      for j, i in enumerate(instr.index[k].tolist()) if i >= 0)
                        for k in range(o)), default=0)
        assert affine.affine_bound(instr, SimpleNamespace(tensors=tensors)) == expected


# Values at the edges of i8, i16, i32 and i64: the native side stores each
# constant in the narrowest of those that holds it (native/src/program/values.rs).
WIDTH_EDGES = {
    8: [-128, 127, 0, 1, -1],
    16: [128, -129, -32768, 32767, 255],
    32: [-32769, 32768, -(2**31), 2**31 - 1, 65536],
    64: [2**31, -(2**31) - 1, -(2**63), 2**63 - 1, 2**40],
}


def _constants_of_every_width() -> dict:
    """x[5] (8 bits) → for each width, a linear whose weight and bias need it
    (64-bit outputs, shift 9); an affine whose weight rows need 16 and 32 bits
    over an index that reads x twice; a gather with a -1 pad."""
    tensors = [tensor("x", [5], 0, 8)]
    instructions = []
    for width, edges in WIDTH_EDGES.items():
        weight = [edges, edges[::-1], [e // 3 for e in edges]]
        bias = [edges[0], edges[2], edges[3]]
        tensors.append(tensor(f"y{width}", [3], -9, 64))
        instructions.append({"op": "linear", "inputs": [0], "output": len(tensors) - 1, "weight": weight,
                             "bias": bias, "shift": 9})
    tensors.append(tensor("a", [3], -2, 64))
    instructions.append({"op": "affine", "inputs": [0, 0], "output": len(tensors) - 1,
                         "index": [[0, 9, -1], [4, 5, 6], [-1, -1, 3]],
                         "weight": [WIDTH_EDGES[16][:3], WIDTH_EDGES[32][:3]], "row": [1, 0, 1],
                         "bias": [WIDTH_EDGES[32][3], -5, WIDTH_EDGES[16][2]], "shift": 2})
    tensors.append(tensor("g", [4], 0, 8))
    instructions.append({"op": "gather", "inputs": [0], "output": len(tensors) - 1, "index": [4, -1, 0, 2]})
    return document("widths", tensors, [0], list(range(1, len(tensors))), instructions)


@pytest.mark.parametrize("x", [[0, 0, 0, 0, 0], [-128, 127, 1, -1, 5], [127, 127, 127, 127, 127],
                               [-128, -128, -128, -128, -128], [3, -7, 100, -100, 64]])
def test_constants_of_every_width_evaluate_as_the_reference_does(x):
    from zkml import _native, reference

    data, blob = files(_constants_of_every_width())
    program = P.from_files(data, blob)
    stored = np.frombuffer(blob, dtype="<i8").tolist()
    assert all(e in stored for edges in WIDTH_EDGES.values() for e in edges)
    expected = reference.evaluate(program, [np.asarray(x, dtype=np.int64)])
    outputs, _public = _native.evaluate(data, blob, [x])
    assert outputs == [e.reshape(-1).tolist() for e in expected]
    # The 64-bit edges reach the outputs: not all zero after the shift.
    assert any(v != 0 for v in outputs[3]) or not any(x)
