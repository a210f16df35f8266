"""Train a small CNN on scikit-learn's digits and write the zkml test model.

Writes, beside this file:

* ``model.onnx`` — ``input`` float[1,1,8,8] → Conv(1→6, 3×3, pad 1) → Relu →
  MaxPool(2×2, stride 2) → Flatten → Gemm(96→10) → ``logits`` float[1,10];
  opset 17, built with ``onnx.helper`` (the graph ``torch.onnx.export`` gives
  for the same module) so its bytes depend only on the trained weights;
* ``input.json`` — one test image, ``{"input_data": [[64 floats]]}``;
* ``calibration.json`` — the first 200 training images, same layout.

The network is trained here in numpy (im2col convolution, hand-written
backward pass, Adam), so regenerating needs no deep-learning framework:
``python circuits/digits_cnn/gen.py``. Pixels are scaled to [0, 1].
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
CALIBRATION_SAMPLES = 200
CHANNELS = 6
PRODUCER = "zkml/circuits/digits_cnn/gen.py"


def load_split():
    """``(X_train, X_test, y_train, y_test)``; images ``[n, 1, 8, 8]`` in [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data.astype(np.float64) / 16.0).reshape(-1, 1, 8, 8)
    return train_test_split(x, digits.target, test_size=0.2, random_state=0, stratify=digits.target)


def _im2col(x):
    """[B, 1, 8, 8] → [B, 64, 9]: each output pixel's 3×3 neighbourhood (zero pad 1)."""
    padded = np.pad(x[:, 0], ((0, 0), (1, 1), (1, 1)))
    cols = np.stack([padded[:, i:i + 8, j:j + 8] for i in range(3) for j in range(3)], axis=-1)
    return cols.reshape(x.shape[0], 64, 9)


def forward(params, x):
    wc, bc, w2, b2 = params
    cols = _im2col(x)
    z1 = cols @ wc.T + bc                       # [B, 64, C]
    a1 = np.maximum(z1, 0.0).transpose(0, 2, 1).reshape(-1, CHANNELS, 8, 8)
    windows = a1.reshape(-1, CHANNELS, 4, 2, 4, 2).transpose(0, 1, 2, 4, 3, 5).reshape(
        -1, CHANNELS, 4, 4, 4)
    pooled = windows.max(axis=-1)              # [B, C, 4, 4]
    flat = pooled.reshape(-1, CHANNELS * 16)
    logits = flat @ w2.T + b2
    return logits, (cols, z1, windows, pooled, flat)


def train(x_train, y_train, epochs: int = 60, batch: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    params = [rng.normal(0, 0.4, (CHANNELS, 9)), np.zeros(CHANNELS),
              rng.normal(0, 0.1, (10, CHANNELS * 16)), np.zeros(10)]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    step, lr, beta1, beta2 = 0, 0.01, 0.9, 0.999
    onehot = np.eye(10)[y_train]
    for _ in range(epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            logits, (cols, z1, windows, pooled, flat) = forward(params, x_train[idx])
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            d_logits = (p - onehot[idx]) / len(idx)
            g_w2 = d_logits.T @ flat
            g_b2 = d_logits.sum(axis=0)
            d_pooled = (d_logits @ params[2]).reshape(pooled.shape)
            first_max = (windows == pooled[..., None]).cumsum(axis=-1).cumsum(axis=-1) == 1
            d_windows = first_max * d_pooled[..., None]
            d_a1 = d_windows.reshape(-1, CHANNELS, 4, 4, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(
                -1, CHANNELS, 8, 8)
            d_z1 = d_a1.reshape(-1, CHANNELS, 64).transpose(0, 2, 1) * (z1 > 0)
            g_wc = np.einsum("bpc,bpk->ck", d_z1, cols)
            g_bc = d_z1.sum(axis=(0, 1))
            step += 1
            for i, g in enumerate([g_wc, g_bc, g_w2, g_b2]):
                moments[i] = beta1 * moments[i] + (1 - beta1) * g
                squares[i] = beta2 * squares[i] + (1 - beta2) * g * g
                m_hat = moments[i] / (1 - beta1**step)
                v_hat = squares[i] / (1 - beta2**step)
                params[i] = params[i] - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
    return [p.astype(np.float32) for p in params]


def accuracy(params, x, y) -> float:
    params = [p.astype(np.float64) for p in params]
    return float((forward(params, x)[0].argmax(axis=1) == y).mean())


def build_model(params) -> onnx.ModelProto:
    wc, bc, w2, b2 = params
    initializers = [
        numpy_helper.from_array(wc.reshape(CHANNELS, 1, 3, 3), "conv.weight"),
        numpy_helper.from_array(bc, "conv.bias"),
        numpy_helper.from_array(w2, "fc.weight"),
        numpy_helper.from_array(b2, "fc.bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["conv"], name="conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("MaxPool", ["relu"], ["pool"], name="pool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Flatten", ["pool"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc",
                         transB=1),
    ]
    graph = helper.make_graph(
        nodes, "digits_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
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
    params = train(x_train, y_train)
    (out_dir / "model.onnx").write_bytes(build_model(params).SerializeToString())
    _write_json(out_dir / "input.json", {"input_data": [x_test[0].reshape(-1).tolist()]})
    _write_json(out_dir / "calibration.json",
                {"input_data": [x_train[:CALIBRATION_SAMPLES].reshape(-1).tolist()]})
    return {"train_accuracy": accuracy(params, x_train, y_train),
            "test_accuracy": accuracy(params, x_test, y_test)}


if __name__ == "__main__":
    scores = main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"digits_cnn: train accuracy {scores['train_accuracy']:.4f}, "
          f"test accuracy {scores['test_accuracy']:.4f}")
