"""A scikit-learn ``MLPClassifier`` on the digits, exported with skl2onnx as a
user would: the zkml test model for skl2onnx graphs (a float→float Cast, a
Softmax for the probabilities, ArgMax and ``ai.onnx.ml``'s
ArrayFeatureExtractor for the label, a Cast of the label to int64).

Writes, beside this file:

* ``model.onnx`` — ``skl2onnx.to_onnx(mlp, options={zipmap: False},
  target_opset=17)``: input ``X`` float[N,64] (N is taken as 1), outputs
  ``label`` int64[N] and ``probabilities`` float[N,10];
* ``input.json``, ``calibration.json`` — as for ``digits_mlp``.

Regenerating needs skl2onnx (``pip install skl2onnx``), which the tests do not:
``python circuits/sklearn_mlp/gen.py``.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CALIBRATION_SAMPLES = 200
HIDDEN = 32


def load_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.data.astype(np.float64) / 16.0
    return train_test_split(x, digits.target, test_size=0.2, random_state=0, stratify=digits.target)


def _write_json(path: Path, doc) -> None:
    path.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")


def main(out_dir: Path = HERE) -> dict:
    from skl2onnx import to_onnx
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    out_dir = Path(out_dir)
    x_train, x_test, y_train, y_test = load_split()
    mlp = MLPClassifier(hidden_layer_sizes=(HIDDEN,), random_state=0, max_iter=400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(x_train, y_train)
    model = to_onnx(mlp, x_train[:1].astype(np.float32), options={id(mlp): {"zipmap": False}},
                    target_opset=17)
    model.graph.name = "sklearn_mlp"
    (out_dir / "model.onnx").write_bytes(model.SerializeToString())
    _write_json(out_dir / "input.json", {"input_data": [x_test[0].tolist()]})
    _write_json(out_dir / "calibration.json",
                {"input_data": [x_train[:CALIBRATION_SAMPLES].reshape(-1).tolist()]})
    return {"train_accuracy": mlp.score(x_train, y_train),
            "test_accuracy": mlp.score(x_test, y_test)}


if __name__ == "__main__":
    scores = main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"sklearn_mlp: train accuracy {scores['train_accuracy']:.4f}, "
          f"test accuracy {scores['test_accuracy']:.4f}")
