"""LeNet-5 on scikit-learn's digits, upsampled to 28×28: the zkml test model
for 5×5 convolutions, Tanh and AveragePool at LeCun's original sizes.

Writes, beside this file:

* ``model.onnx`` — ``input`` float[1,1,28,28] → Conv(1→6, 5×5, pad 2) → Tanh →
  AveragePool(2×2) → Conv(6→16, 5×5) → Tanh → AveragePool(2×2) → Flatten →
  Gemm(400→120) → Tanh → Gemm(120→84) → Tanh → Gemm(84→10) → ``logits``;
  opset 17, built with ``onnx.helper``;
* ``input.json``, ``calibration.json`` — as for ``digits_mlp`` (784 floats per
  image, the 8×8 digit repeated to 24×24 and zero-padded by 2).

Weights: the feature layers are random (LeCun's uniform initialisation,
fixed seed); the 84→10 head is a logistic regression fitted to the features.
``python circuits/lenet5/gen.py`` regenerates.
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
CALIBRATION_SAMPLES = 100
PRODUCER = "zkml/circuits/lenet5/gen.py"


def upsample(x8: np.ndarray) -> np.ndarray:
    """[n, 64] in [0, 1] → [n, 1, 28, 28]: each pixel a 3×3 block, padded by 2."""
    big = np.repeat(np.repeat(x8.reshape(-1, 8, 8), 3, axis=1), 3, axis=2)
    return np.pad(big, ((0, 0), (2, 2), (2, 2)))[:, None]


def load_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.data.astype(np.float64) / 16.0
    x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.2,
                                                        random_state=0, stratify=digits.target)
    return upsample(x_train), upsample(x_test), y_train, y_test


def _conv(x, w, b):
    n, c, h, wd = x.shape
    m, _, k, _ = w.shape
    oh, ow = h - k + 1, wd - k + 1
    cols = np.stack([x[:, :, i:i + oh, j:j + ow] for i in range(k) for j in range(k)], axis=-1)
    return np.einsum("bchwt,mct->bmhw", cols, w.reshape(m, c, k * k)) + b[:, None, None]


def _pool(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))


def make_params(rng):
    def uniform(fan_in, shape):
        bound = 2.4 / fan_in
        return rng.uniform(-bound, bound, shape) * 4

    return {"c1.w": uniform(25, (6, 1, 5, 5)), "c1.b": np.zeros(6),
            "c2.w": uniform(150, (16, 6, 5, 5)), "c2.b": np.zeros(16),
            "f1.w": uniform(400, (120, 400)), "f1.b": np.zeros(120),
            "f2.w": uniform(120, (84, 120)), "f2.b": np.zeros(84)}


def features(p, x):
    x = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    h = _pool(np.tanh(_conv(x, p["c1.w"], p["c1.b"])))
    h = _pool(np.tanh(_conv(h, p["c2.w"], p["c2.b"])))
    h = np.tanh(h.reshape(len(x), -1) @ p["f1.w"].T + p["f1.b"])
    return np.tanh(h @ p["f2.w"].T + p["f2.b"])


def build_model(p, head) -> onnx.ModelProto:
    f32 = np.float32
    inits = [numpy_helper.from_array(np.asarray(v, f32), k) for k, v in p.items()]
    inits += [numpy_helper.from_array(head.coef_.astype(f32), "f3.w"),
              numpy_helper.from_array(head.intercept_.astype(f32), "f3.b")]
    N = helper.make_node
    nodes = [
        N("Conv", ["input", "c1.w", "c1.b"], ["c1"], name="conv1", kernel_shape=[5, 5],
          pads=[2, 2, 2, 2]),
        N("Tanh", ["c1"], ["t1"], name="tanh1"),
        N("AveragePool", ["t1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        N("Conv", ["p1", "c2.w", "c2.b"], ["c2"], name="conv2", kernel_shape=[5, 5]),
        N("Tanh", ["c2"], ["t2"], name="tanh2"),
        N("AveragePool", ["t2"], ["p2"], name="pool2", kernel_shape=[2, 2], strides=[2, 2]),
        N("Flatten", ["p2"], ["flat"], name="flatten", axis=1),
        N("Gemm", ["flat", "f1.w", "f1.b"], ["f1"], name="fc1", transB=1),
        N("Tanh", ["f1"], ["t3"], name="tanh3"),
        N("Gemm", ["t3", "f2.w", "f2.b"], ["f2"], name="fc2", transB=1),
        N("Tanh", ["f2"], ["t4"], name="tanh4"),
        N("Gemm", ["t4", "f3.w", "f3.b"], ["logits"], name="fc3", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "lenet5",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        initializer=inits,
    )
    model = helper.make_model(graph, producer_name=PRODUCER, producer_version="1",
                              opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model


def _write_json(path: Path, doc) -> None:
    path.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")


def main(out_dir: Path = HERE) -> dict:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    out_dir = Path(out_dir)
    x_train, x_test, y_train, y_test = load_split()
    p = make_params(np.random.default_rng(0))
    head = LogisticRegression(max_iter=3000, C=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        head.fit(features(p, x_train), y_train)
    (out_dir / "model.onnx").write_bytes(build_model(p, head).SerializeToString())
    _write_json(out_dir / "input.json", {"input_data": [np.round(x_test[0], 4).reshape(-1).tolist()]})
    _write_json(out_dir / "calibration.json",
                {"input_data": [np.round(x_train[:CALIBRATION_SAMPLES], 4).reshape(-1).tolist()]})
    return {"train_accuracy": head.score(features(p, x_train), y_train),
            "test_accuracy": head.score(features(p, x_test), y_test)}


if __name__ == "__main__":
    scores = main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"lenet5: train accuracy {scores['train_accuracy']:.4f}, "
          f"test accuracy {scores['test_accuracy']:.4f}")
