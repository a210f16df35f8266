"""Train a small CNN on scikit-learn's digits in PyTorch and export it with
``torch.onnx.export``, as a user would: the zkml test model for Conv, MaxPool
and a symbolic batch axis.

Writes, beside this file:

* ``model.onnx`` — ``nn.Conv2d(1, 6, 3, padding=1)`` → ReLU →
  ``nn.MaxPool2d(2)`` → flatten → ``nn.Linear(96, 10)``, exported at opset 17
  with a dynamic batch axis (``input`` float[batch,1,8,8] → ``logits``
  float[batch,10]; zkml pins the batch to 1);
* ``input.json`` — one test image, ``{"input_data": [[64 floats]]}``;
* ``calibration.json`` — the first 200 training images, same layout.

Regenerating needs PyTorch (``pip install zkml[torch]``); the tests use the
committed files. The committed model was trained and exported with torch
2.11 (train accuracy 0.9986, test 0.9694): ``python circuits/digits_cnn/gen.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CALIBRATION_SAMPLES = 200


def load_split():
    """``(X_train, X_test, y_train, y_test)``; images ``[n, 1, 8, 8]`` in [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data.astype(np.float64) / 16.0).reshape(-1, 1, 8, 8)
    return train_test_split(x, digits.target, test_size=0.2, random_state=0, stratify=digits.target)


def build_module():
    from torch import nn

    return nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(96, 10))


def train(module, x, y, epochs: int = 60, lr: float = 3e-3):
    import torch
    from torch import nn

    torch.manual_seed(0)
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    optimiser = torch.optim.Adam(module.parameters(), lr=lr)
    module.train()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), 32):
            batch = order[start:start + 32]
            optimiser.zero_grad()
            nn.functional.cross_entropy(module(x[batch]), y[batch]).backward()
            optimiser.step()
    return module.eval()


def _write_json(path: Path, doc) -> None:
    path.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")


def main(out_dir: Path = HERE) -> dict:
    import torch

    out_dir = Path(out_dir)
    x_train, x_test, y_train, y_test = load_split()
    module = train(build_module(), x_train, y_train)
    torch.onnx.export(module, torch.zeros(1, 1, 8, 8), str(out_dir / "model.onnx"),
                      input_names=["input"], output_names=["logits"], opset_version=17,
                      dynamo=False, dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    _write_json(out_dir / "input.json", {"input_data": [x_test[0].reshape(-1).tolist()]})
    _write_json(out_dir / "calibration.json",
                {"input_data": [x_train[:CALIBRATION_SAMPLES].reshape(-1).tolist()]})
    with torch.no_grad():
        def accuracy(x, y):
            return float((module(torch.tensor(x, dtype=torch.float32)).argmax(1).numpy() == y).mean())
        return {"train_accuracy": accuracy(x_train, y_train), "test_accuracy": accuracy(x_test, y_test)}


if __name__ == "__main__":
    scores = main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"digits_cnn: train accuracy {scores['train_accuracy']:.4f}, "
          f"test accuracy {scores['test_accuracy']:.4f}")
