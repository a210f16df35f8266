"""One pre-LN transformer block on scikit-learn's digits, trained in PyTorch
and exported with ``torch.onnx.export``: the zkml test model for
LayerNormalization, MatMul of two activations, Softmax and GELU (Erf).

The 8×8 image is a sequence of 8 rows of 8 pixels. Writes, beside this file:

* ``model.onnx`` — ``Linear(8→16)`` embedding → ``h + Attention(LayerNorm(h))``
  (one head: Q, K, V linear maps, ``softmax(Q·Kᵀ/√16)·V``, output map) →
  ``h + MLP(LayerNorm(h))`` (``Linear(16→32)``, ``nn.functional.gelu``,
  ``Linear(32→16)``) → mean over the sequence → ``Linear(16→10)``; exported at
  opset 17 with a dynamic batch axis (``input`` float[batch,8,8] →
  ``logits`` float[batch,10]); torch writes GELU as ``Div``/``Erf``/``Add``/
  ``Mul``/``Mul`` and LayerNorm as ``LayerNormalization``;
* ``input.json``, ``calibration.json`` — as for ``digits_mlp`` (64 floats per image).

Regenerating needs PyTorch (``pip install zkml[torch]``); the tests use the
committed files. The committed model was trained (150 epochs of Adam) and
exported with torch 2.11: train accuracy 0.9631, test 0.8583.
``python circuits/tiny_transformer/gen.py``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CALIBRATION_SAMPLES = 200
SEQ, FEATURES, WIDTH, HIDDEN = 8, 8, 16, 32


def load_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data.astype(np.float64) / 16.0).reshape(-1, SEQ, FEATURES)
    return train_test_split(x, digits.target, test_size=0.2, random_state=0, stratify=digits.target)


def build_module():
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(FEATURES, WIDTH)
            self.ln1 = nn.LayerNorm(WIDTH)
            self.q, self.k, self.v = (nn.Linear(WIDTH, WIDTH) for _ in range(3))
            self.o = nn.Linear(WIDTH, WIDTH)
            self.ln2 = nn.LayerNorm(WIDTH)
            self.fc1 = nn.Linear(WIDTH, HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, WIDTH)
            self.head = nn.Linear(WIDTH, 10)

        def forward(self, x):
            h = self.embed(x)
            a = self.ln1(h)
            attention = torch.softmax(self.q(a) @ self.k(a).transpose(1, 2) / math.sqrt(WIDTH), dim=-1)
            h = h + self.o(attention @ self.v(a))
            h = h + self.fc2(nn.functional.gelu(self.fc1(self.ln2(h))))
            return self.head(h.mean(dim=1))

    return Block()


def main(out_dir: Path = HERE) -> dict:
    import torch

    sys.path.insert(0, str(HERE.parent / "digits_cnn"))
    from gen import train  # the same training loop

    out_dir = Path(out_dir)
    x_train, x_test, y_train, y_test = load_split()
    module = train(build_module(), x_train, y_train, epochs=150)
    torch.onnx.export(module, torch.zeros(1, SEQ, FEATURES), str(out_dir / "model.onnx"),
                      input_names=["input"], output_names=["logits"], opset_version=17,
                      dynamo=False, dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    for name, doc in (("input.json", {"input_data": [x_test[0].reshape(-1).tolist()]}),
                      ("calibration.json",
                       {"input_data": [x_train[:CALIBRATION_SAMPLES].reshape(-1).tolist()]})):
        (out_dir / name).write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    with torch.no_grad():
        def accuracy(x, y):
            return float((module(torch.tensor(x, dtype=torch.float32)).argmax(1).numpy() == y).mean())
        return {"train_accuracy": accuracy(x_train, y_train), "test_accuracy": accuracy(x_test, y_test)}


if __name__ == "__main__":
    scores = main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"tiny_transformer: train accuracy {scores['train_accuracy']:.4f}, "
          f"test accuracy {scores['test_accuracy']:.4f}")
