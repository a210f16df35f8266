"""ONNX frontend: each lowering against onnxruntime, folding, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from onnx_models import const, ort_run, save_model, value
from zkml import program as programs
from zkml import reference
from zkml.errors import InputFileError, InputShapeError, ModelError, UnsupportedOpError
from zkml.frontend import load_model
from zkml.ops.activation import ReluNode as Relu
from zkml.ops.linear import LinearNode as Linear
from zkml.ops.shape import GatherNode as Reshape
from zkml.quantize import quantize

RNG = np.random.default_rng(1234)


def _w(*shape):
    return RNG.normal(0.0, 0.5, size=shape)


# Each case: nodes, model inputs, model outputs, initializers, input shapes.
def _gemm(trans_b: int, alpha=1.0, beta=1.0, bias_shape=(3,)):
    weight = _w(3, 4) if trans_b else _w(4, 3)
    node = helper.make_node("Gemm", ["x", "w", "c"], ["y"], name="gemm", transB=trans_b,
                            alpha=alpha, beta=beta)
    return ([node], [value("x", [2, 4])], [value("y", [2, 3])],
            [const("w", weight), const("c", _w(*bias_shape))], [(2, 4)])


CASES = {
    "gemm_transB0": lambda: _gemm(0),
    "gemm_transB1": lambda: _gemm(1),
    "gemm_alpha_beta": lambda: _gemm(1, alpha=0.5, beta=-2.0),
    "gemm_bias_row_broadcast": lambda: _gemm(0, bias_shape=(1, 3)),
    "gemm_scalar_bias": lambda: _gemm(1, bias_shape=()),
    "gemm_without_bias": lambda: (
        [helper.make_node("Gemm", ["x", "w"], ["y"], name="gemm")],
        [value("x", [1, 5])], [value("y", [1, 2])], [const("w", _w(5, 2))], [(1, 5)]),
    "matmul_then_add_bias": lambda: (
        [helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
         helper.make_node("Add", ["m", "b"], ["y"], name="add")],
        [value("x", [1, 3, 4])], [value("y", [1, 3, 2])],
        [const("w", _w(4, 2)), const("b", _w(2))], [(1, 3, 4)]),
    "add_bias_before_matmul_operand_order": lambda: (
        [helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
         helper.make_node("Add", ["b", "m"], ["y"], name="add")],
        [value("x", [2, 4])], [value("y", [2, 3])],
        [const("w", _w(4, 3)), const("b", _w(1, 3))], [(2, 4)]),
    "matmul_by_vector": lambda: (
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
        [value("x", [2, 4])], [value("y", [2])], [const("w", _w(4))], [(2, 4)]),
    "gemm_then_standalone_add": lambda: (
        [helper.make_node("Gemm", ["x", "w", "c"], ["g"], name="gemm", transB=1),
         helper.make_node("Add", ["g", "b"], ["y"], name="add")],
        [value("x", [1, 4])], [value("y", [1, 3])],
        [const("w", _w(3, 4)), const("c", _w(3)), const("b", _w(3))], [(1, 4)]),
    "flatten_axis1": lambda: (
        [helper.make_node("Flatten", ["x"], ["f"], name="flat", axis=1),
         helper.make_node("Gemm", ["f", "w"], ["y"], name="gemm", transB=1)],
        [value("x", [1, 2, 3])], [value("y", [1, 2])], [const("w", _w(2, 6))], [(1, 2, 3)]),
    "flatten_axis0": lambda: (
        [helper.make_node("Flatten", ["x"], ["y"], name="flat", axis=0)],
        [value("x", [2, 3])], [value("y", [1, 6])], [], [(2, 3)]),
    "flatten_negative_axis": lambda: (
        [helper.make_node("Flatten", ["x"], ["y"], name="flat", axis=-1)],
        [value("x", [2, 3, 4])], [value("y", [6, 4])], [], [(2, 3, 4)]),
    "reshape_zero_and_minus_one": lambda: (
        [helper.make_node("Reshape", ["x", "s"], ["r"], name="reshape"),
         helper.make_node("MatMul", ["r", "w"], ["y"], name="mm")],
        [value("x", [2, 3, 4])], [value("y", [2, 4, 5])],
        [const("s", [0, -1, 3], np.int64), const("w", _w(3, 5))], [(2, 3, 4)]),
    "identity_and_relu": lambda: (
        [helper.make_node("Identity", ["x"], ["i"], name="id"),
         helper.make_node("Relu", ["i"], ["y"], name="relu")],
        [value("x", [3, 4])], [value("y", [3, 4])], [], [(3, 4)]),
    "add_of_two_activations": lambda: (
        [helper.make_node("Relu", ["x"], ["a"], name="relu"),
         helper.make_node("Add", ["x", "a"], ["y"], name="residual")],
        [value("x", [1, 3])], [value("y", [1, 3])], [], [(1, 3)]),
    "add_of_a_constant_after_relu": lambda: (
        [helper.make_node("Relu", ["x"], ["a"], name="relu"),
         helper.make_node("Add", ["a", "b"], ["y"], name="shift")],
        [value("x", [1, 3])], [value("y", [1, 3])], [const("b", _w(3))], [(1, 3)]),
    "gemm_bias_varying_across_rows": lambda: (
        [helper.make_node("Gemm", ["x", "w", "c"], ["y"], name="gemm")],
        [value("x", [2, 3])], [value("y", [2, 2])], [const("w", _w(3, 2)), const("c", _w(2, 1))],
        [(2, 3)]),
    "gemm_with_an_activation_as_c": lambda: (
        [helper.make_node("Relu", ["x"], ["r"], name="relu"),
         helper.make_node("Gemm", ["x", "w", "r"], ["y"], name="gemm", beta=0.5)],
        [value("x", [2, 2])], [value("y", [2, 2])], [const("w", _w(2, 2))], [(2, 2)]),
    "two_layer_mlp": lambda: (
        [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1", transB=1),
         helper.make_node("Relu", ["h"], ["a"], name="relu"),
         helper.make_node("Gemm", ["a", "w2", "b2"], ["y"], name="fc2", transB=1)],
        [value("x", [1, 6])], [value("y", [1, 3])],
        [const("w1", _w(8, 6)), const("b1", _w(8)), const("w2", _w(3, 8)), const("b2", _w(3))],
        [(1, 6)]),
}


def _build(tmp_path, case):
    nodes, inputs, outputs, inits, shapes = CASES[case]()
    path = save_model(tmp_path / f"{case}.onnx", nodes, inputs, outputs, inits)
    return path, shapes


@pytest.mark.parametrize("case", sorted(CASES))
def test_float_graph_matches_onnxruntime(tmp_path, case):
    path, shapes = _build(tmp_path, case)
    graph = load_model(path)
    xs = [RNG.uniform(-1, 1, size=s) for s in shapes]
    expected = ort_run(path, {n: x for n, x in zip(graph.inputs, xs)})
    got = graph.run(xs)
    for name, want in zip(graph.outputs, expected):
        np.testing.assert_allclose(got[name], want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", sorted(CASES))
def test_quantized_program_is_within_certified_bound_of_onnxruntime(tmp_path, case):
    path, shapes = _build(tmp_path, case)
    graph = load_model(path)
    calibration = [RNG.uniform(-1, 1, size=(64,) + s) for s in shapes]
    program, report = quantize(graph, calibration, bits=16)
    # Test points inside the calibration box.
    lows = [c.min() for c in calibration]
    highs = [c.max() for c in calibration]
    xs = [RNG.uniform(lo, hi, size=s) for lo, hi, s in zip(lows, highs, shapes)]
    expected = ort_run(path, {n: x for n, x in zip(graph.inputs, xs)})
    outputs = reference.evaluate(program, programs.quantize_inputs(program, xs))
    for entry, ints, want in zip(program.outputs, outputs, expected):
        got = programs.dequantize(program, entry.tensor, ints)
        bound = report["outputs"][entry.name]["error_bound"]
        assert np.abs(got - want).max() <= bound
        assert bound < 0.05


def test_constant_subgraphs_are_folded_before_lowering(tmp_path):
    # weight = Transpose(w_t) and the reshape target comes from Shape/Gather/Concat,
    # as PyTorch exports `x.view(x.size(0), -1) @ w`.
    nodes = [
        helper.make_node("Transpose", ["w_t"], ["w"], name="transpose", perm=[1, 0]),
        helper.make_node("Shape", ["x"], ["shape"], name="shape"),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["batch", "axes"], ["batch1"], name="unsqueeze"),
        helper.make_node("Concat", ["batch1", "minus_one"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["x", "target"], ["flat"], name="reshape"),
        helper.make_node("Constant", [], ["b"], name="bias",
                         value=helper.make_tensor("b", TensorProto.DOUBLE, [2], [0.5, -0.25])),
        helper.make_node("MatMul", ["flat", "w"], ["m"], name="mm"),
        helper.make_node("Add", ["m", "b"], ["y"], name="add"),
    ]
    inits = [const("w_t", _w(2, 6)), const("zero", 0, np.int64), const("axes", [0], np.int64),
             const("minus_one", [-1], np.int64)]
    path = save_model(tmp_path / "folded.onnx", nodes, [value("x", [1, 2, 3])],
                      [value("y", [1, 2])], inits)
    graph = load_model(path)
    assert [type(n) for n in graph.nodes] == [Reshape, Linear]
    x = RNG.uniform(-1, 1, size=(1, 2, 3))
    np.testing.assert_allclose(graph.run([x])["y"], ort_run(path, {"x": x})[0], rtol=1e-12)


def test_symbolic_batch_dimension_is_taken_as_one(tmp_path):
    node = helper.make_node("Relu", ["x"], ["y"], name="relu")
    path = save_model(tmp_path / "batch.onnx", [node], [value("x", ["N", 4])],
                      [value("y", ["N", 4])])
    assert load_model(path).tensors["x"] == (1, 4)


def test_symbolic_inner_dimension_is_a_model_error(tmp_path):
    node = helper.make_node("Relu", ["x"], ["y"], name="relu")
    path = save_model(tmp_path / "dyn.onnx", [node], [value("x", [1, "W"])], [value("y", [1, "W"])])
    with pytest.raises(ModelError, match="'W' at axis 1"):
        load_model(path)


@pytest.mark.parametrize("op", ["Round", "Floor"])
def test_unsupported_op_names_node_op_and_opset(tmp_path, op):
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node(op, ["r"], ["y"], name="the_node")]
    path = save_model(tmp_path / "bad.onnx", nodes, [value("x", [1, 4])], [value("y", [1, 4])],
                      opset=13)
    with pytest.raises(UnsupportedOpError) as info:
        load_model(path)
    message = str(info.value)
    assert "'the_node'" in message and op in message and "opset 13" in message
    assert (info.value.node, info.value.op_type, info.value.opset) == ("the_node", op, 13)


def test_op_version_outside_the_lowering_range_is_unsupported(tmp_path):
    node = helper.make_node("Relu", ["x"], ["y"], name="old_relu")
    path = save_model(tmp_path / "old.onnx", [node], [value("x", [1, 4])], [value("y", [1, 4])],
                      opset=5)
    with pytest.raises(UnsupportedOpError, match=r"opset 5\): version 1 of Relu"):
        load_model(path)


def test_transposed_activation_in_gemm_is_unsupported(tmp_path):
    nodes = [helper.make_node("Gemm", ["x", "w"], ["y"], name="gemm", transA=1)]
    path = save_model(tmp_path / "ta.onnx", nodes, [value("x", [3, 2])], [value("y", [2, 2])],
                      [const("w", _w(3, 2))])
    with pytest.raises(UnsupportedOpError, match="transA"):
        load_model(path)


def test_op_from_another_domain_is_unsupported(tmp_path):
    node = helper.make_node("FusedThing", ["x"], ["y"], name="custom", domain="com.example")
    graph = helper.make_graph([node], "g", [value("x", [1, 2])], [value("y", [1, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.example", 1)])
    path = tmp_path / "custom.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(UnsupportedOpError, match="'custom' is com.example.FusedThing"):
        load_model(path)


def test_garbage_file_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"\x00\xffthis is not a protobuf\x12\x99")
    with pytest.raises((InputFileError, ModelError)) as info:
        load_model(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_file_is_an_input_file_error(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        load_model(tmp_path / "absent.onnx")


def test_model_failing_the_checker_is_a_model_error_naming_the_file(tmp_path):
    node = helper.make_node("Relu", ["nowhere"], ["y"], name="relu")
    path = save_model(tmp_path / "broken.onnx", [node], [value("x", [1, 2])], [value("y", [1, 2])],
                      check=False)
    with pytest.raises(ModelError, match="broken.onnx") as info:
        load_model(path)
    assert "\n" not in str(info.value)


def test_nodes_no_output_depends_on_are_dropped(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["dead"], name="dead_relu"),
             helper.make_node("Gemm", ["x", "w"], ["y"], name="gemm")]
    path = save_model(tmp_path / "dead.onnx", nodes, [value("x", [1, 2])], [value("y", [1, 2])],
                      [const("w", _w(2, 2))])
    graph = load_model(path)
    assert [type(n) for n in graph.nodes] == [Linear]
    assert "dead" not in graph.tensors


def test_output_that_is_an_input_gets_its_own_tensor(tmp_path):
    nodes = [helper.make_node("Identity", ["x"], ["y"], name="id"),
             helper.make_node("Relu", ["x"], ["z"], name="relu")]
    path = save_model(tmp_path / "passthrough.onnx", nodes, [value("x", [1, 3])],
                      [value("y", [1, 3]), value("z", [1, 3])])
    graph = load_model(path)
    assert graph.outputs == ["y", "z"]
    assert set(graph.tensors) == {"x", "y", "z"}
    program, _ = quantize(graph, None)
    programs.validate(program)


def test_output_names_follow_onnx_after_bias_fusion(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
             helper.make_node("Add", ["m", "b"], ["sum"], name="add"),
             helper.make_node("Identity", ["sum"], ["out"], name="id")]
    path = save_model(tmp_path / "names.onnx", nodes, [value("x", [1, 2])], [value("out", [1, 2])],
                      [const("w", _w(2, 2)), const("b", _w(2))])
    graph = load_model(path)
    assert graph.outputs == ["out"]
    assert list(graph.tensors) == ["x", "out"]
    assert isinstance(graph.nodes[0], Linear) and graph.nodes[0].output == "out"


def test_graph_run_accepts_a_leading_sample_axis(tmp_path):
    path, shapes = _build(tmp_path, "two_layer_mlp")
    graph = load_model(path)
    batch = RNG.uniform(-1, 1, size=(5,) + shapes[0])
    together = graph.run([batch])["y"]
    one_by_one = np.stack([graph.run([x])["y"] for x in batch])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-12)
    with pytest.raises(InputShapeError, match="input 'x'"):
        graph.run([np.zeros((2, 7))])


def test_float32_model_weights_become_float64(tmp_path):
    node = helper.make_node("Gemm", ["x", "w"], ["y"], name="gemm")
    path = save_model(tmp_path / "f32.onnx", [node], [value("x", [1, 2], TensorProto.FLOAT)],
                      [value("y", [1, 2], TensorProto.FLOAT)], [const("w", _w(2, 2), np.float32)])
    linear = load_model(path).nodes[0]
    assert linear.weight.dtype == np.float64 and linear.bias.dtype == np.float64


def test_relu_lowering_is_a_relu_node(tmp_path):
    path, _ = _build(tmp_path, "identity_and_relu")
    graph = load_model(path)
    assert [type(n) for n in graph.nodes] == [Relu]
    assert graph.nodes[0].inputs == ("x",)


def test_gemm_with_transA_on_constants_is_folded_into_a_weight(tmp_path):
    nodes = [helper.make_node("Gemm", ["a", "b"], ["w"], name="const_gemm", transA=1),
             helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")]
    a, b = _w(3, 2), _w(3, 4)
    path = save_model(tmp_path / "fold_gemm.onnx", nodes, [value("x", [1, 2])],
                      [value("y", [1, 4])], [const("a", a), const("b", b)])
    graph = load_model(path)
    assert [type(n) for n in graph.nodes] == [Linear]
    np.testing.assert_allclose(graph.nodes[0].weight, (a.T @ b).T, rtol=1e-12)


