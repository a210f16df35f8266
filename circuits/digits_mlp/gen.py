"""Train a small MLP on scikit-learn's digits and write the zkml test model.

Writes, beside this file:

* ``model.onnx`` — ``input`` float[1,8,8] → Flatten → Gemm(64→32) → Relu →
  Gemm(32→10) → ``logits`` float[1,10]; opset 17, built by hand with
  ``onnx.helper`` so its bytes depend only on the trained weights;
* ``input.json`` — one test image, ezkl's ``{"input_data": [[64 floats]]}``;
* ``calibration.json`` — the first 200 training images, same shape (flat).

Pixels are scaled to [0, 1] (value / 16). Run ``python circuits/digits_mlp/gen.py``
to regenerate; the same library versions give the same bytes.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
CALIBRATION_SAMPLES = 200
HIDDEN = 32
PRODUCER = "zkml/circuits/digits_mlp/gen.py"


def load_split():
    """``(X_train, X_test, y_train, y_test)``; images flat ``[n, 64]`` in [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.data.astype(np.float64) / 16.0
    return train_test_split(x, digits.target, test_size=0.2, random_state=0, stratify=digits.target)


def train(x_train, y_train):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    mlp = MLPClassifier(hidden_layer_sizes=(HIDDEN,), activation="relu", random_state=0,
                        max_iter=400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(x_train, y_train)
    return mlp


def build_model(mlp) -> onnx.ModelProto:
    (w1, w2), (b1, b2) = mlp.coefs_, mlp.intercepts_
    initializers = [
        numpy_helper.from_array(w1.T.astype(np.float32), "fc1.weight"),  # [32, 64]
        numpy_helper.from_array(b1.astype(np.float32), "fc1.bias"),
        numpy_helper.from_array(w2.T.astype(np.float32), "fc2.weight"),  # [10, 32]
        numpy_helper.from_array(b2.astype(np.float32), "fc2.bias"),
    ]
    nodes = [
        helper.make_node("Flatten", ["input"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["fc1"], name="fc1", transB=1),
        helper.make_node("Relu", ["fc1"], ["hidden"], name="relu1"),
        helper.make_node("Gemm", ["hidden", "fc2.weight", "fc2.bias"], ["logits"], name="fc2",
                         transB=1),
    ]
    graph = helper.make_graph(
        nodes, "digits_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        initializer=initializers,
    )
    model = helper.make_model(graph, producer_name=PRODUCER, producer_version="1",
                              opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model


def _write_json(path: Path, doc) -> None:
    path.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")


def main(out_dir: Path = HERE) -> dict:
    out_dir = Path(out_dir)
    x_train, x_test, y_train, y_test = load_split()
    mlp = train(x_train, y_train)
    (out_dir / "model.onnx").write_bytes(build_model(mlp).SerializeToString())
    _write_json(out_dir / "input.json", {"input_data": [x_test[0].tolist()]})
    _write_json(out_dir / "calibration.json",
                {"input_data": [x_train[:CALIBRATION_SAMPLES].reshape(-1).tolist()]})
    return {"train_accuracy": mlp.score(x_train, y_train),
            "test_accuracy": mlp.score(x_test, y_test)}


if __name__ == "__main__":
    scores = main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"digits_mlp: train accuracy {scores['train_accuracy']:.4f}, "
          f"test accuracy {scores['test_accuracy']:.4f}")
