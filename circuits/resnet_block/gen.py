"""A residual block on scikit-learn's digits: the zkml test model for Conv +
BatchNormalization + residual Add + GlobalAveragePool.

Writes, beside this file:

* ``model.onnx`` — ``input`` float[1,1,8,8] → Conv(1→8, 3×3, pad 1) → BN →
  Relu (``stem``) → Conv(8→8, 3×3, pad 1) → BN → Relu → Conv(8→8, 3×3, pad 1)
  → BN → Add(stem) → Relu → GlobalAveragePool → Flatten → Gemm(8→10) →
  ``logits`` float[1,10]; opset 17, the graph ``torch.onnx.export`` gives for
  such a module in eval mode (BatchNormalization nodes kept, not fused);
* ``input.json``, ``calibration.json`` — as for ``digits_mlp``.

How the weights come about (no deep-learning framework needed): the
convolutions are random (He initialisation, fixed seed); each BatchNorm's
running mean and variance are the statistics of its input over the training
images, with random affine parameters, as a trained network's would be in
spirit; the Gemm head is a logistic regression fitted to the pooled features.
Accuracy is modest (about 66%: eight pooled features); what matters for zkml
is the graph and that the circuit keeps the float model's predictions.
``python circuits/resnet_block/gen.py`` regenerates.
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
WIDTH = 8
PRODUCER = "zkml/circuits/resnet_block/gen.py"
EPS = 1e-5


def load_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data.astype(np.float64) / 16.0).reshape(-1, 1, 8, 8)
    return train_test_split(x, digits.target, test_size=0.2, random_state=0, stratify=digits.target)


def conv3x3(x, w, b):
    """[B, C, 8, 8] * [M, C, 3, 3] with zero pad 1 → [B, M, 8, 8]."""
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([padded[:, :, i:i + 8, j:j + 8] for i in range(3) for j in range(3)], axis=-1)
    return np.einsum("bchwk,mck->bmhw", cols, w.reshape(w.shape[0], w.shape[1], 9)) + b[:, None, None]


def batch_norm(x, p):
    scale, shift, mean, var = p
    a = scale / np.sqrt(var + EPS)
    return x * a[:, None, None] + (shift - mean * a)[:, None, None]


def make_params(x_train, rng):
    params = {}

    def conv(name, c_in, x):
        w = rng.normal(0, np.sqrt(2.0 / (9 * c_in)), (WIDTH, c_in, 3, 3))
        b = rng.normal(0, 0.05, WIDTH)
        params[name] = (w, b)
        return conv3x3(x, w, b)

    def bn(name, h):
        mean, var = h.mean(axis=(0, 2, 3)), h.var(axis=(0, 2, 3))
        params[name] = (rng.uniform(0.5, 1.5, WIDTH), rng.normal(0, 0.1, WIDTH), mean, var)
        return batch_norm(h, params[name])

    stem = np.maximum(bn("bn0", conv("conv0", 1, x_train)), 0)
    h = np.maximum(bn("bn1", conv("conv1", WIDTH, stem)), 0)
    bn("bn2", conv("conv2", WIDTH, h))
    return params


def features(params, x):
    stem = np.maximum(batch_norm(conv3x3(x, *params["conv0"]), params["bn0"]), 0)
    h = np.maximum(batch_norm(conv3x3(stem, *params["conv1"]), params["bn1"]), 0)
    h = batch_norm(conv3x3(h, *params["conv2"]), params["bn2"])
    return np.maximum(h + stem, 0).mean(axis=(2, 3))


def build_model(params, head) -> onnx.ModelProto:
    f32 = np.float32
    inits = []
    for name in ("conv0", "conv1", "conv2"):
        w, b = params[name]
        inits += [numpy_helper.from_array(w.astype(f32), f"{name}.weight"),
                  numpy_helper.from_array(b.astype(f32), f"{name}.bias")]
    for name in ("bn0", "bn1", "bn2"):
        for part, value in zip(("weight", "bias", "running_mean", "running_var"), params[name]):
            inits.append(numpy_helper.from_array(value.astype(f32), f"{name}.{part}"))
    inits += [numpy_helper.from_array(head.coef_.astype(f32), "fc.weight"),
              numpy_helper.from_array(head.intercept_.astype(f32), "fc.bias")]

    def conv(name, x, out):
        return helper.make_node("Conv", [x, f"{name}.weight", f"{name}.bias"], [out], name=name,
                                kernel_shape=[3, 3], pads=[1, 1, 1, 1])

    def bn(name, x, out):
        return helper.make_node("BatchNormalization",
                                [x] + [f"{name}.{p}" for p in ("weight", "bias", "running_mean",
                                                               "running_var")],
                                [out], name=name, epsilon=EPS)

    nodes = [
        conv("conv0", "input", "c0"), bn("bn0", "c0", "b0"),
        helper.make_node("Relu", ["b0"], ["stem"], name="relu0"),
        conv("conv1", "stem", "c1"), bn("bn1", "c1", "b1"),
        helper.make_node("Relu", ["b1"], ["r1"], name="relu1"),
        conv("conv2", "r1", "c2"), bn("bn2", "c2", "b2"),
        helper.make_node("Add", ["b2", "stem"], ["sum"], name="residual"),
        helper.make_node("Relu", ["sum"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["pool"], name="pool"),
        helper.make_node("Flatten", ["pool"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc",
                         transB=1),
    ]
    graph = helper.make_graph(
        nodes, "resnet_block",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
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
    params = make_params(x_train, np.random.default_rng(0))
    head = LogisticRegression(max_iter=2000, C=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        head.fit(features(params, x_train), y_train)
    (out_dir / "model.onnx").write_bytes(build_model(params, head).SerializeToString())
    _write_json(out_dir / "input.json", {"input_data": [x_test[0].reshape(-1).tolist()]})
    _write_json(out_dir / "calibration.json",
                {"input_data": [x_train[:CALIBRATION_SAMPLES].reshape(-1).tolist()]})
    return {"train_accuracy": head.score(features(params, x_train), y_train),
            "test_accuracy": head.score(features(params, x_test), y_test)}


if __name__ == "__main__":
    scores = main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"resnet_block: train accuracy {scores['train_accuracy']:.4f}, "
          f"test accuracy {scores['test_accuracy']:.4f}")
