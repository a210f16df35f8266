"""One pre-LN transformer block on scikit-learn's digits: the zkml test model
for LayerNormalization, MatMul of two activations, Softmax and GELU (Erf).

The 8×8 image is a sequence of 8 rows of 8 pixels. Writes, beside this file:

* ``model.onnx`` — ``input`` float[1,8,8] → MatMul(8→16) + Add (embedding) →
  h = x + Attention(LayerNorm(x)) (one head: Q, K, V MatMuls, Q·Kᵀ / √16,
  Softmax over keys, ·V, output MatMul) → h + MLP(LayerNorm(h)) (MatMul 16→32,
  GELU written as ``x · 0.5 · (1 + Erf(x / √2))`` the way
  ``torch.onnx.export`` writes ``nn.GELU()`` at opset 17, MatMul 32→16) →
  ReduceMean over the sequence → MatMul(16→10) + Add → ``logits`` float[1,10];
  opset 17, built with ``onnx.helper``;
* ``input.json``, ``calibration.json`` — as for ``digits_mlp`` (64 floats per image).

Weights: the block's matrices are random (scaled as at initialisation, fixed
seed); the classifier head is a logistic regression fitted to the pooled
features. The point is the graph, and that the circuit keeps the float
model's predictions. ``python circuits/tiny_transformer/gen.py`` regenerates.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
CALIBRATION_SAMPLES = 200
SEQ, FEATURES, WIDTH, HIDDEN = 8, 8, 16, 32
PRODUCER = "zkml/circuits/tiny_transformer/gen.py"
EPS = 1e-5


def load_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data.astype(np.float64) / 16.0).reshape(-1, SEQ, FEATURES)
    return train_test_split(x, digits.target, test_size=0.2, random_state=0, stratify=digits.target)


def make_params(rng) -> dict:
    def dense(n_in, n_out):
        return rng.normal(0, 1 / math.sqrt(n_in), (n_in, n_out)), rng.normal(0, 0.02, n_out)

    p = {}
    p["embed.w"], p["embed.b"] = dense(FEATURES, WIDTH)
    for name in ("q", "k", "v", "o"):
        p[f"{name}.w"], p[f"{name}.b"] = dense(WIDTH, WIDTH)
    p["fc1.w"], p["fc1.b"] = dense(WIDTH, HIDDEN)
    p["fc2.w"], p["fc2.b"] = dense(HIDDEN, WIDTH)
    for name in ("ln1", "ln2"):
        p[f"{name}.g"] = 1.0 + rng.normal(0, 0.1, WIDTH)
        p[f"{name}.b"] = rng.normal(0, 0.1, WIDTH)
    return p


def _layer_norm(x, g, b):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * g + b


def features(p, x):
    from math import erf

    h = x @ p["embed.w"] + p["embed.b"]
    a = _layer_norm(h, p["ln1.g"], p["ln1.b"])
    q, k, v = (a @ p[f"{n}.w"] + p[f"{n}.b"] for n in "qkv")
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(WIDTH)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    attn = scores / scores.sum(axis=-1, keepdims=True)
    h = h + (attn @ v) @ p["o.w"] + p["o.b"]
    m = _layer_norm(h, p["ln2.g"], p["ln2.b"]) @ p["fc1.w"] + p["fc1.b"]
    m = m * 0.5 * (1 + np.vectorize(erf)(m / math.sqrt(2)))
    h = h + m @ p["fc2.w"] + p["fc2.b"]
    return h.mean(axis=-2)


def build_model(p, head) -> onnx.ModelProto:
    f32 = np.float32
    inits = [numpy_helper.from_array(np.asarray(v, f32), k) for k, v in p.items()]
    inits += [numpy_helper.from_array(head.coef_.T.astype(f32), "head.w"),
              numpy_helper.from_array(head.intercept_.astype(f32), "head.b"),
              numpy_helper.from_array(np.array(math.sqrt(WIDTH), f32), "sqrt_d"),
              numpy_helper.from_array(np.array(math.sqrt(2.0), f32), "sqrt_2"),
              numpy_helper.from_array(np.array(1.0, f32), "one"),
              numpy_helper.from_array(np.array(0.5, f32), "half"),
              numpy_helper.from_array(np.array([1], np.int64), "seq_axis")]
    N = helper.make_node

    def dense(x, name, out):
        return [N("MatMul", [x, f"{name}.w"], [f"{out}_mm"], name=f"{name}_matmul"),
                N("Add", [f"{out}_mm", f"{name}.b"], [out], name=f"{name}_add")]

    nodes = dense("input", "embed", "h0")
    nodes.append(N("LayerNormalization", ["h0", "ln1.g", "ln1.b"], ["a"], name="ln1",
                   axis=-1, epsilon=EPS))
    for name in "qkv":
        nodes += dense("a", name, name)
    nodes += [
        N("Transpose", ["k"], ["kT"], name="transpose_k", perm=[0, 2, 1]),
        N("MatMul", ["q", "kT"], ["qk"], name="scores"),
        N("Div", ["qk", "sqrt_d"], ["scaled"], name="scale"),
        N("Softmax", ["scaled"], ["attn"], name="softmax", axis=-1),
        N("MatMul", ["attn", "v"], ["ctx"], name="attend"),
    ]
    nodes += dense("ctx", "o", "attn_out")
    nodes.append(N("Add", ["h0", "attn_out"], ["h1"], name="residual1"))
    nodes.append(N("LayerNormalization", ["h1", "ln2.g", "ln2.b"], ["m0"], name="ln2",
                   axis=-1, epsilon=EPS))
    nodes += dense("m0", "fc1", "m1")
    nodes += [
        N("Div", ["m1", "sqrt_2"], ["m1_scaled"], name="gelu_div"),
        N("Erf", ["m1_scaled"], ["m1_erf"], name="gelu_erf"),
        N("Add", ["m1_erf", "one"], ["m1_plus"], name="gelu_add"),
        N("Mul", ["m1", "m1_plus"], ["m1_mul"], name="gelu_mul"),
        N("Mul", ["m1_mul", "half"], ["m2"], name="gelu_half"),
    ]
    nodes += dense("m2", "fc2", "m3")
    nodes += [
        N("Add", ["h1", "m3"], ["h2"], name="residual2"),
        N("ReduceMean", ["h2"], ["pooled"], name="pool", axes=[1], keepdims=0),
    ]
    nodes += dense("pooled", "head", "logits")
    graph = helper.make_graph(
        nodes, "tiny_transformer",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, SEQ, FEATURES])],
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
    _write_json(out_dir / "input.json", {"input_data": [x_test[0].reshape(-1).tolist()]})
    _write_json(out_dir / "calibration.json",
                {"input_data": [x_train[:CALIBRATION_SAMPLES].reshape(-1).tolist()]})
    return {"train_accuracy": head.score(features(p, x_train), y_train),
            "test_accuracy": head.score(features(p, x_test), y_test)}


if __name__ == "__main__":
    scores = main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"tiny_transformer: train accuracy {scores['train_accuracy']:.4f}, "
          f"test accuracy {scores['test_accuracy']:.4f}")
