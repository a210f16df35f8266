"""Small hand-built ONNX models for the frontend and quantizer tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def value(name: str, shape, elem=TensorProto.DOUBLE):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name: str, array, dtype=np.float64):
    return numpy_helper.from_array(np.asarray(array, dtype=dtype), name)


def save_model(path: Path, nodes, inputs, outputs, initializers=(), opset: int = 17,
               check: bool = True, name: str = "test_model") -> Path:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="zkml-tests", ir_version=8)
    if check:
        onnx.checker.check_model(model)
    path = Path(path)
    path.write_bytes(model.SerializeToString())
    return path


def ort_run(path: Path, feeds: dict) -> list[np.ndarray]:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    types = {i.name: i.type for i in session.get_inputs()}
    feeds = {k: np.asarray(v, dtype=np.float32 if types.get(k) == "tensor(float)" else np.float64)
             for k, v in feeds.items()}
    return session.run(None, feeds)
