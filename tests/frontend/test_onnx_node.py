"""ONNX's backend node tests: every case of a supported op passes through the
quantized reference evaluator within the stated tolerance (2^-8 relative at
16 bits) or is listed, with its reason, in tests/onnx_node_excludes.txt —
and a listed case must still fail, so the list stays true. A sample of
passing cases is proved and verified end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

import zkml
from onnx_node_cases import _array, _run, as_constants, excluded, run_case, supported_cases

CASES = supported_cases()
BY_NAME = {c.name: c for c in CASES}
# One or two of each kind of instruction, proved for real.
PROVED = ["test_conv_with_strides_padding", "test_maxpool_2d_pads", "test_softmax_example",
          "test_gemm_default_single_elem_vector_bias", "test_sigmoid_example",
          "test_averagepool_2d_pads", "test_argmax_default_axis_example", "test_matmul_2d"]


def test_the_exclude_list_names_only_real_cases_each_with_a_reason():
    reasons = excluded()
    assert set(reasons) <= set(BY_NAME), sorted(set(reasons) - set(BY_NAME))[:5]
    assert all(reasons.values())


def test_every_supported_case_passes_or_is_listed_and_still_fails(tmp_path):
    reasons = excluded()
    wrong = []
    passed = 0
    for case in CASES:
        ok, why, _ = run_case(case, tmp_path)
        passed += ok
        if ok and case.name in reasons:
            wrong.append(f"{case.name} now passes: delete its line from onnx_node_excludes.txt")
        elif not ok and case.name not in reasons:
            wrong.append(f"{case.name} fails: {why}")
    assert not wrong, "\n".join(wrong[:20])
    assert passed >= 430  # what this list was made against: 436 of 974


@pytest.mark.parametrize("name", PROVED)
def test_a_sample_is_proved_and_verified_end_to_end(name, tmp_path):
    case = BY_NAME[name]
    assert name not in excluded()
    import onnx

    inputs, outputs = case.data_sets[0]
    proto = case.model
    if not _run(name, proto, case.data_sets[0], tmp_path)[0]:  # weights as initializers
        proto = as_constants(proto, list(inputs))
    model = tmp_path / "model.onnx"
    onnx.save(proto, str(model))
    xs = [_array(v).astype(np.float64) for v in inputs]
    graph_inputs = [i.name for i in proto.graph.input
                    if i.name not in {t.name for t in proto.graph.initializer}]
    doc = {"input_data": [x.reshape(-1).tolist() for x in xs[:len(graph_inputs)]]}
    (tmp_path / "input.json").write_text(json.dumps(doc))
    build, out = tmp_path / "build", tmp_path / "out"
    zkml.compile(model, build, calibration=tmp_path / "input.json")
    zkml.api._seeded_setup_for_tests(build, seed=3)
    result = zkml.prove(build, tmp_path / "input.json", out, device="cpu")
    assert zkml.verify(build, out)
    for value, want in zip(result.outputs.values(), outputs):
        want = _array(want).astype(np.float64)
        assert np.abs(value.reshape(want.shape) - want).max() <= 2**-8 * (1 + np.abs(want).max())
