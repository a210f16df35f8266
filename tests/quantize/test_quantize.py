"""The quantizer: scale choice, the program it writes, and its certified error bound."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zkml import program as P
from zkml import reference
from zkml.errors import InputShapeError, QuantizationError
from zkml.frontend import Graph
from zkml.ops.activation import ReluNode
from zkml.ops.affine import AffineNode
from zkml.ops.linear import LinearNode
from zkml.ops.pool import MaxNode
from zkml.ops.shape import GatherNode
from zkml.quantize import frac_bits, quantize


def one_linear(weight, bias, in_shape=None) -> Graph:
    weight = np.asarray(weight, dtype=np.float64)
    in_shape = in_shape or (1, weight.shape[1])
    return Graph("one_linear", {"x": in_shape, "y": in_shape[:-1] + (weight.shape[0],)},
                 ["x"], ["y"], [LinearNode(("x",), "y", weight, np.asarray(bias, dtype=np.float64))])


def random_mlp(rng, widths, in_shape=None) -> Graph:
    """Linear/Relu layers of the given widths; an optional flatten (a gather) in front."""
    tensors, nodes = {}, []
    if in_shape is not None:
        tensors["x"] = in_shape
        tensors["flat"] = (1, int(np.prod(in_shape)))
        nodes.append(GatherNode(("x",), "flat", np.arange(int(np.prod(in_shape)), dtype=np.int64)))
        current = "flat"
    else:
        tensors["x"] = (1, widths[0])
        current = "x"
    for i, (k, n) in enumerate(zip(widths[:-1], widths[1:])):
        scale = rng.uniform(0.2, 3.0) / np.sqrt(k)
        lin = f"lin{i}"
        tensors[lin] = (1, n)
        nodes.append(LinearNode((current,), lin, rng.normal(0, scale, (n, k)), rng.normal(0, 0.5, n)))
        current = lin
        if i < len(widths) - 2:
            tensors[f"relu{i}"] = (1, n)
            nodes.append(ReluNode((lin,), f"relu{i}"))
            current = f"relu{i}"
    return Graph("mlp", tensors, ["x"], [current], nodes)


def measured_errors(graph, program, xs):
    """Per-sample max |dequantized - float| of the output, skipping samples the
    circuit would refuse (a value out of its range). ``xs``: the samples of the
    one input, or a list with the samples of each input."""
    inputs = list(xs) if isinstance(xs, list) else [xs]
    n = len(inputs[0])
    floats = graph.run(inputs)[graph.outputs[0]]
    ints = P.quantize_inputs(program, inputs)
    try:
        outs = reference.evaluate(program, ints)[0]
        keep = np.ones(n, dtype=bool)
    except QuantizationError:
        outs, keep = [], []
        for k in range(n):
            try:
                outs.append(reference.evaluate(program, [q[k] for q in ints])[0])
                keep.append(True)
            except QuantizationError:
                outs.append(np.zeros(floats.shape[1:], dtype=np.int64))
                keep.append(False)
        outs, keep = np.stack(outs), np.array(keep)
    got = P.dequantize(program, program.outputs[0].tensor, outs)
    errors = np.abs(got - floats).reshape(n, -1).max(axis=1)
    return errors[keep], keep


@pytest.mark.parametrize("bits", [8, 12, 16, 24, 32])
def test_certified_bound_holds_on_random_models_and_inputs(bits):
    rng = np.random.default_rng(bits)
    shapes = [[6, 10, 3], [16, 32, 32, 4], [5, 1], [12, 8, 8, 8, 2]]
    for widths in shapes:
        in_shape = (1, 2, widths[0] // 2) if widths[0] % 2 == 0 else None
        graph = random_mlp(rng, widths, in_shape)
        shape = graph.shape("x")
        lo, hi = sorted(rng.uniform(-2, 2, size=2))
        calibration = rng.uniform(lo, hi, size=(200,) + shape)
        program, report = quantize(graph, [calibration], bits=bits)
        bound = report["outputs"][graph.outputs[0]]["error_bound"]
        box_lo, box_hi = calibration.min(), calibration.max()
        fresh = rng.uniform(box_lo, box_hi, size=(300,) + shape)
        corners = rng.choice([box_lo, box_hi], size=(100,) + shape)
        samples = np.concatenate([calibration, fresh, corners])
        errors, kept = measured_errors(graph, program, samples)
        label = f"widths {widths}, bits {bits}, box [{box_lo:.3f}, {box_hi:.3f}]"
        assert errors.max() <= bound, label
        assert kept[:200].all(), f"calibration samples overflowed: {label}"
        measured = report["outputs"][graph.outputs[0]]["measured_max_abs_error"]
        assert measured <= bound and measured == pytest.approx(errors[:200].max()), label


def test_bound_is_reasonably_tight_at_16_bits():
    rng = np.random.default_rng(5)
    graph = random_mlp(rng, [20, 16, 4])
    calibration = rng.uniform(0, 1, size=(100, 1, 20))
    _, report = quantize(graph, [calibration], bits=16)
    out = report["outputs"][graph.outputs[0]]
    assert out["measured_max_abs_error"] <= out["error_bound"] < 0.01


@pytest.mark.parametrize("bits", [3, 33, 0, 16.0, True])
def test_bits_outside_4_to_32_are_rejected(bits):
    with pytest.raises(QuantizationError, match="4..32"):
        quantize(one_linear([[1.0]], [0.0]), None, bits=bits)


@pytest.mark.parametrize("magnitude, bits",
                         [(1.0, 16), (0.3, 16), (1e-5, 8), (1000.0, 12), (2.0**-3, 32)])
def test_frac_bits_is_the_largest_scale_that_fits(magnitude, bits):
    f = frac_bits(magnitude, bits)
    top = 2 ** (bits - 1) - 1
    assert np.floor(magnitude * 2.0**f + 0.5) <= top
    assert np.floor(magnitude * 2.0 ** (f + 1) + 0.5) > top


def test_scales_are_chosen_per_tensor_from_calibration():
    graph = one_linear([[0.5, -0.25], [1.5, 0.75]], [0.1, -0.2])
    calibration = np.array([[[0.9, -0.3]], [[0.1, 0.6]]])
    program, report = quantize(graph, [calibration], bits=16)
    x, y = program.tensors
    assert x.scale == frac_bits(0.9, 16) == 15 and x.bits == y.bits == 16
    f_w = frac_bits(1.5, 16)
    y_max = np.abs(graph.run([calibration])["y"]).max()
    assert y.scale == frac_bits(2 * y_max, 16)
    instr = program.instructions[0]
    assert instr.op == "linear" and instr.inputs == (0,) and instr.output == 1
    shift = x.scale + f_w - y.scale
    assert instr.shift == shift > 0
    assert instr.weight.dtype == np.int64 and instr.bias.dtype == np.int64
    assert instr.weight.tolist() == np.floor(np.array(graph.nodes[0].weight) * 2.0**f_w + 0.5).tolist()
    rounded_bias = np.floor(np.array([0.1, -0.2]) * 2.0 ** (x.scale + f_w) + 0.5)
    assert instr.bias.tolist() == (rounded_bias + 2 ** (shift - 1)).astype(int).tolist()
    assert report["calibration"]["inputs"]["x"] == {"min": -0.3, "max": 0.9}
    assert [t["scale"] for t in report["tensors"]] == [x.scale, y.scale]


def test_shift_is_capped_at_zero_when_outputs_cancel_to_almost_nothing():
    # y = x1 - (1 - 1e-6) x2 with x1 = x2 = 1: |y| = 1e-6 wants more fractional
    # bits than the product x * w carries, so f_out is capped at f_in + f_w.
    graph = one_linear([[1.0, -(1 - 1e-6)]], [0.0])
    program, report = quantize(graph, [np.ones((3, 1, 2))], bits=16)
    instr = program.instructions[0]
    assert instr.shift == 0 and instr.bias.tolist() == [0]
    x, y = program.tensors
    assert y.scale == x.scale + frac_bits(1.0, 16) == 28


def test_relu_and_flatten_inherit_their_input_scale():
    rng = np.random.default_rng(1)
    graph = random_mlp(rng, [4, 3, 2], in_shape=(2, 2))
    program, _ = quantize(graph, [rng.uniform(-1, 1, (10, 2, 2))], bits=12)
    scale = {t.name: t.scale for t in program.tensors}
    assert scale["flat"] == scale["x"] and scale["relu0"] == scale["lin0"]
    assert [i.op for i in program.instructions] == ["gather", "linear", "relu", "linear"]
    flatten = program.instructions[0]
    assert flatten.index.tolist() == [0, 1, 2, 3] and flatten.inputs == (0,)
    assert program.tensors[flatten.output].shape == (1, 4)


def test_without_calibration_inputs_are_assumed_within_one():
    graph = one_linear([[2.0, -1.0]], [0.5])
    program, report = quantize(graph, None, bits=16)
    assert program.tensors[0].scale == 14
    assert report["calibration"]["assumed"] is True
    assert report["calibration"]["inputs"]["x"] == {"min": -1.0, "max": 1.0}
    assert any("assumed" in note for note in report["notes"])
    assert report["outputs"]["y"]["measured_max_abs_error"] is None
    assert all(t["range_certified"] for t in report["tensors"])
    # |y| <= 3.5 is certified; the scale leaves 2x room above it.
    assert program.tensors[1].scale == frac_bits(7.0, 16)


def test_large_bias_at_32_bits_still_fits_signed_64_bits():
    graph = one_linear([[1.0, -0.5]], [100.0])
    calibration = np.random.default_rng(0).uniform(-1, 1, (50, 1, 2))
    program, report = quantize(graph, [calibration], bits=32)
    P.validate(program)
    bias = program.instructions[0].bias
    assert bias.dtype == np.int64  # int64 by construction; the quantizer kept it in range
    assert all(-(2**63) <= int(b) < 2**63 for b in bias)
    # The bias is the exactly rounded 100·2^(f_in + f_w) (plus the rounding constant),
    # not a value clamped or wrapped to fit.
    y = program.tensors[1]
    instr = program.instructions[0]
    f_acc = instr.shift + y.scale
    rounding = 1 << (instr.shift - 1) if instr.shift else 0
    assert int(bias[0]) - rounding == round(100.0 * 2.0**f_acc)
    errors, _ = measured_errors(graph, program, calibration)
    assert errors.max() <= report["outputs"]["y"]["error_bound"] < 1e-6


def test_program_is_valid_deterministic_and_report_is_json():
    rng = np.random.default_rng(3)
    graph = random_mlp(rng, [8, 6, 3])
    calibration = [rng.uniform(-1, 1, (20, 1, 8))]
    program, report = quantize(graph, calibration)
    again, _ = quantize(graph, calibration)
    P.validate(program)
    assert isinstance(program, P.Program)
    assert program.to_files() == again.to_files()
    assert program.meta is None and "meta" not in json.loads(program.to_files()[0])
    data, blob = program.to_files()
    reread = P.from_files(data, blob)  # what compile writes is what the validator reads
    assert reread.to_files() == (data, blob)
    json.dumps(report)
    assert set(report) >= {"bits", "calibration", "tensors", "outputs", "notes"}


def test_calibration_must_match_the_inputs():
    graph = one_linear([[1.0, 1.0]], [0.0])
    with pytest.raises(InputShapeError, match="input 'x'"):
        quantize(graph, [np.zeros((4, 1, 3))])
    with pytest.raises(InputShapeError, match="model takes 1"):
        quantize(graph, [np.zeros((4, 1, 2))] * 2)
    with pytest.raises(QuantizationError, match="non-finite"):
        quantize(graph, [np.full((4, 1, 2), np.nan)])


def _two_input_graph(node_cls, index, out_shape):
    return Graph("two", {"a": (1, 3), "b": (1, 3), "y": out_shape}, ["a", "b"], ["y"],
                 [node_cls(("a", "b"), "y", np.asarray(index, dtype=np.int64))])


@pytest.mark.parametrize("node_cls, index, out_shape", [
    (GatherNode, [0, 4, -1, 5, 2, 3], (2, 3)),
    (MaxNode, [[0, 3], [1, 4], [2, -1], [5, 1]], (4,)),
])
def test_gather_and_max_inputs_are_brought_to_one_scale(node_cls, index, out_shape):
    # a is small (a fine scale), b large (a coarse one): the quantizer rescales a
    # to b's scale with an affine (weight 1, rounding shift) before the gather/max.
    rng = np.random.default_rng(9)
    a, b = rng.uniform(-0.01, 0.01, (50, 1, 3)), rng.uniform(-100, 100, (50, 1, 3))
    graph = _two_input_graph(node_cls, index, out_shape)
    program, report = quantize(graph, [a, b], bits=16)
    P.validate(program)
    ta, tb = (program.tensors[e.tensor] for e in program.inputs)
    assert ta.scale > tb.scale
    ops = [i.op for i in program.instructions]
    assert ops == ["affine", node_cls.__name__.removesuffix("Node").lower()]
    rescale, last = program.instructions
    assert rescale.inputs == (0,) and rescale.shift == ta.scale - tb.scale
    assert rescale.weight.tolist() == [[1]]
    assert rescale.bias.tolist() == [1 << (rescale.shift - 1)] * 3  # rounds to nearest
    scales = {(program.tensors[i].scale, program.tensors[i].bits)
              for i in last.inputs + (last.output,)}
    assert scales == {(tb.scale, 16)}
    errors, kept = measured_errors(graph, program, [a, b])
    assert kept.all() and errors.max() <= report["outputs"]["y"]["error_bound"]


def test_affine_over_two_inputs_is_quantized_within_its_bound():
    # y[o] = 0.75·a[i] - 1.5·b[j] + 0.25 (and one term-less output: just the bias).
    index = np.array([[0, 3], [1, -1], [-1, 5], [-1, -1]])
    weight = np.array([[0.75, -1.5], [2.0, 0.0], [0.0, -0.3]])
    node = AffineNode(("a", "b"), "y", index, weight, np.array([0, 1, 2, 0]),
                      np.array([0.25, 0.0, -1.0, 0.5]))
    graph = Graph("affine", {"a": (1, 3), "b": (1, 3), "y": (4,)}, ["a", "b"], ["y"], [node])
    rng = np.random.default_rng(4)
    a, b = rng.uniform(-1, 1, (60, 1, 3)), rng.uniform(-2, 2, (60, 1, 3))
    program, report = quantize(graph, [a, b], bits=16)
    (instr,) = program.instructions
    assert instr.op == "affine" and instr.inputs == (0, 1)
    assert instr.index.tolist() == index.tolist() and instr.row.tolist() == [0, 1, 2, 0]
    for array in (instr.index, instr.weight, instr.row, instr.bias):
        assert array.dtype == np.int64
    errors, kept = measured_errors(graph, program, [a, b])
    bound = report["outputs"]["y"]["error_bound"]
    assert kept.all() and errors.max() <= bound < 1e-3
