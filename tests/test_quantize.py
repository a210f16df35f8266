"""The quantizer: scale choice, the program it writes, and its certified error bound."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zkml import program as P
from zkml import reference
from zkml.errors import InputShapeError, QuantizationError
from zkml.frontend import Graph, Linear, Relu, Reshape
from zkml.quantize import frac_bits, quantize


def one_linear(weight, bias, in_shape=None) -> Graph:
    weight = np.asarray(weight, dtype=np.float64)
    in_shape = in_shape or (1, weight.shape[1])
    return Graph("one_linear", {"x": in_shape, "y": in_shape[:-1] + (weight.shape[0],)},
                 ["x"], ["y"], [Linear("x", "y", weight, np.asarray(bias, dtype=np.float64))])


def random_mlp(rng, widths, in_shape=None) -> Graph:
    """Linear/Relu layers of the given widths; an optional reshape in front."""
    tensors, nodes = {}, []
    if in_shape is not None:
        tensors["x"] = in_shape
        tensors["flat"] = (1, int(np.prod(in_shape)))
        nodes.append(Reshape("x", "flat"))
        current = "flat"
    else:
        tensors["x"] = (1, widths[0])
        current = "x"
    for i, (k, n) in enumerate(zip(widths[:-1], widths[1:])):
        scale = rng.uniform(0.2, 3.0) / np.sqrt(k)
        lin = f"lin{i}"
        tensors[lin] = (1, n)
        nodes.append(Linear(current, lin, rng.normal(0, scale, (n, k)), rng.normal(0, 0.5, n)))
        current = lin
        if i < len(widths) - 2:
            tensors[f"relu{i}"] = (1, n)
            nodes.append(Relu(lin, f"relu{i}"))
            current = f"relu{i}"
    return Graph("mlp", tensors, ["x"], [current], nodes)


def measured_errors(graph, program, xs):
    """Per-sample max |dequantized - float| of the output, skipping samples the
    circuit would refuse (a value out of its range)."""
    floats = graph.run([xs])[graph.outputs[0]]
    ints = P.quantize_inputs(program, [xs])
    try:
        outs = reference.evaluate(program, ints)[0]
        keep = np.ones(len(xs), dtype=bool)
    except QuantizationError:
        outs, keep = [], []
        for sample in ints:
            try:
                outs.append(reference.evaluate(program, [sample])[0])
                keep.append(True)
            except QuantizationError:
                outs.append(np.zeros(floats.shape[1:], dtype=np.int64))
                keep.append(False)
        outs, keep = np.stack(outs), np.array(keep)
    got = P.dequantize(program, program["outputs"][0]["tensor"], outs)
    errors = np.abs(got - floats).reshape(len(xs), -1).max(axis=1)
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
    x, y = program["tensors"]
    assert x["scale"] == frac_bits(0.9, 16) == 15 and x["bits"] == y["bits"] == 16
    f_w = frac_bits(1.5, 16)
    y_max = np.abs(graph.run([calibration])["y"]).max()
    assert y["scale"] == frac_bits(2 * y_max, 16)
    instr = program["instructions"][0]
    shift = x["scale"] + f_w - y["scale"]
    assert instr["shift"] == shift > 0
    assert instr["weight"] == np.floor(np.array(graph.nodes[0].weight) * 2.0**f_w + 0.5).tolist()
    rounded_bias = np.floor(np.array([0.1, -0.2]) * 2.0 ** (x["scale"] + f_w) + 0.5)
    assert instr["bias"] == (rounded_bias + 2 ** (shift - 1)).astype(int).tolist()
    assert report["calibration"]["inputs"]["x"] == {"min": -0.3, "max": 0.9}
    assert [t["scale"] for t in report["tensors"]] == [x["scale"], y["scale"]]


def test_shift_is_capped_at_zero_when_outputs_cancel_to_almost_nothing():
    # y = x1 - (1 - 1e-6) x2 with x1 = x2 = 1: |y| = 1e-6 wants more fractional
    # bits than the product x * w carries, so f_out is capped at f_in + f_w.
    graph = one_linear([[1.0, -(1 - 1e-6)]], [0.0])
    program, report = quantize(graph, [np.ones((3, 1, 2))], bits=16)
    instr = program["instructions"][0]
    assert instr["shift"] == 0 and instr["bias"] == [0]
    x, y = program["tensors"]
    assert y["scale"] == x["scale"] + frac_bits(1.0, 16) == 28


def test_relu_and_reshape_inherit_their_input_scale():
    rng = np.random.default_rng(1)
    graph = random_mlp(rng, [4, 3, 2], in_shape=(2, 2))
    program, _ = quantize(graph, [rng.uniform(-1, 1, (10, 2, 2))], bits=12)
    scale = {t["name"]: t["scale"] for t in program["tensors"]}
    assert scale["flat"] == scale["x"] and scale["relu0"] == scale["lin0"]
    assert [i["op"] for i in program["instructions"]] == ["reshape", "linear", "relu", "linear"]


def test_without_calibration_inputs_are_assumed_within_one():
    graph = one_linear([[2.0, -1.0]], [0.5])
    program, report = quantize(graph, None, bits=16)
    assert program["tensors"][0]["scale"] == 14
    assert report["calibration"]["assumed"] is True
    assert report["calibration"]["inputs"]["x"] == {"min": -1.0, "max": 1.0}
    assert any("assumed" in note for note in report["notes"])
    assert report["outputs"]["y"]["measured_max_abs_error"] is None
    assert all(t["range_certified"] for t in report["tensors"])
    # |y| <= 3.5 is certified; the scale leaves 2x room above it.
    assert program["tensors"][1]["scale"] == frac_bits(7.0, 16)


def test_large_bias_at_32_bits_still_fits_signed_64_bits():
    graph = one_linear([[1.0, -0.5]], [100.0])
    calibration = np.random.default_rng(0).uniform(-1, 1, (50, 1, 2))
    program, report = quantize(graph, [calibration], bits=32)
    P.validate(program)
    assert all(-(2**63) <= b < 2**63 for b in program["instructions"][0]["bias"])
    errors, _ = measured_errors(graph, program, calibration)
    assert errors.max() <= report["outputs"]["y"]["error_bound"] < 1e-6


def test_program_is_valid_deterministic_and_report_is_json():
    rng = np.random.default_rng(3)
    graph = random_mlp(rng, [8, 6, 3])
    calibration = [rng.uniform(-1, 1, (20, 1, 8))]
    program, report = quantize(graph, calibration)
    again, _ = quantize(graph, calibration)
    P.validate(program)
    assert P.dumps(program) == P.dumps(again)
    assert "meta" not in program
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
