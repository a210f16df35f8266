"""ONNX's own backend node tests (shipped in the `onnx` package as Python
case generators) run through zkml: load the single-node model, quantize it at
16 bits with the case's input as the calibration sample, evaluate the
quantized program, and compare with ONNX's expected output.

A case passes when every output is within ``TOLERANCE·(1 + max|expected|)``.
ONNX's cases feed weights, shapes and axes as graph inputs; exported models
carry them as initializers, and zkml requires them constant. So a case that
fails as given is run again with every input after the first turned into an
initializer (its test value), and passes if that does.
The cases that do not pass are listed, one reason per line, in
``tests/onnx_node_excludes.txt``; `run_case` says why a case fails.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

TOLERANCE = 2.0**-8
EXCLUDES = Path(__file__).with_name("onnx_node_excludes.txt")


def supported_cases():
    """The node test cases whose graph uses at least one op zkml lowers."""
    import onnx  # noqa: F401
    from onnx.backend.test.case.node import collect_testcases

    import zkml.ops as ops

    names = {op for _, op in ops.ONNX_OPS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    return [c for c in cases if c.data_sets and {n.op_type for n in c.model.graph.node} & names]


def _array(value) -> np.ndarray:
    from onnx import TensorProto, numpy_helper

    if isinstance(value, TensorProto):
        value = numpy_helper.to_array(value)
    return np.asarray(value)


def as_constants(model, inputs):
    """``model`` with every graph input after the first made an initializer."""
    import onnx
    from onnx import numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    names = [i.name for i in graph.input]
    keep = graph.input[:1]
    for name, value in list(zip(names, inputs))[1:]:
        graph.initializer.append(numpy_helper.from_array(_array(value), name))
    del graph.input[1:]
    assert [i.name for i in graph.input] == [i.name for i in keep]
    return model


def run_case(case, workdir: Path | None = None) -> tuple[bool, str, object]:
    """``(passed, why, program)`` for one node test case (as given, then with
    its non-data inputs as initializers)."""
    passed, why, program = _run(case.name, case.model, case.data_sets[0], workdir)
    if passed or len(case.model.graph.input) < 2:
        return passed, why, program
    inputs, outputs = case.data_sets[0]
    try:
        constant = as_constants(case.model, list(inputs))
    except Exception:  # a value onnx cannot hold as a tensor
        return False, why, None
    passed2, why2, program2 = _run(case.name + "_const", constant, (list(inputs)[:1], outputs),
                                   workdir)
    return (True, "", program2) if passed2 else (False, why2, program2)


def _run(name, model, data_set, workdir) -> tuple[bool, str, object]:
    import onnx

    from zkml import program as P
    from zkml import reference
    from zkml.errors import ZkmlError
    from zkml.frontend import load_model
    from zkml.quantize import quantize

    inputs, outputs = data_set
    folder = Path(workdir or tempfile.mkdtemp())
    path = folder / f"{name}.onnx"
    onnx.save(model, str(path))
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            graph = load_model(path)
            xs = [_array(v).astype(np.float64) for v in list(inputs)[:len(graph.inputs)]]
            program, _ = quantize(graph, [x[None] for x in xs], bits=16)
            got = reference.evaluate(program, P.quantize_inputs(program, xs))
    except ZkmlError as e:
        return False, f"{type(e).__name__}: {str(e).splitlines()[0]}", None
    worst = 0.0
    for entry, ints, want in zip(program.outputs, got, outputs):
        want = _array(want).astype(np.float64)
        value = P.dequantize(program, entry.tensor, ints)
        if value.size != want.size:
            return False, f"output '{entry.name}' has {value.size} values, expected {want.size}", program
        err = float(np.abs(value.reshape(want.shape) - want).max()) if want.size else 0.0
        worst = max(worst, err / (1.0 + float(np.abs(want).max(initial=0.0))))
    if worst > TOLERANCE:
        return False, f"relative error {worst:.3g} above {TOLERANCE:.3g}", program
    return True, "", program


def excluded() -> dict[str, str]:
    reasons = {}
    for line in EXCLUDES.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, why = line.partition(": ")
            reasons[name.strip()] = why.strip()
    return reasons
