"""A residual block on scikit-learn's digits, trained in PyTorch and exported
with ``torch.onnx.export``: the zkml test model for Conv + BatchNormalization
+ residual Add + GlobalAveragePool.

Writes, beside this file:

* ``model.onnx`` — stem ``Conv(1→8, 3×3, pad 1)`` → ``BatchNorm2d`` → ReLU,
  then ``Conv`` → ``BatchNorm2d`` → ReLU → ``Conv`` → ``BatchNorm2d``, added
  to the stem, ReLU → ``AdaptiveAvgPool2d(1)`` (GlobalAveragePool) → flatten →
  ``Linear(8→10)``; exported at opset 17 with
  ``training=TrainingMode.PRESERVE`` from eval mode, so the three
  BatchNormalization nodes stay in the graph (zkml folds them into the
  convolutions), with a dynamic batch axis;
* ``input.json``, ``calibration.json`` — as for ``digits_mlp``.

Regenerating needs PyTorch (``pip install zkml[torch]``); the tests use the
committed files. The committed model was trained (60 epochs of Adam) and
exported with torch 2.11: train accuracy 0.9993, test 0.9750.
``python circuits/resnet_block/gen.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CALIBRATION_SAMPLES = 200
WIDTH = 8


def load_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data.astype(np.float64) / 16.0).reshape(-1, 1, 8, 8)
    return train_test_split(x, digits.target, test_size=0.2, random_state=0, stratify=digits.target)


def build_module():
    import torch
    from torch import nn

    class ResNetBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, WIDTH, 3, padding=1), nn.BatchNorm2d(WIDTH),
                                      nn.ReLU())
            self.conv1 = nn.Conv2d(WIDTH, WIDTH, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(WIDTH)
            self.conv2 = nn.Conv2d(WIDTH, WIDTH, 3, padding=1)
            self.bn2 = nn.BatchNorm2d(WIDTH)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(WIDTH, 10)

        def forward(self, x):
            s = self.stem(x)
            h = torch.relu(self.bn1(self.conv1(s)))
            h = torch.relu(self.bn2(self.conv2(h)) + s)
            return self.fc(torch.flatten(self.pool(h), 1))

    return ResNetBlock()


def main(out_dir: Path = HERE) -> dict:
    import torch

    sys.path.insert(0, str(HERE.parent / "digits_cnn"))
    from gen import train  # the same training loop

    out_dir = Path(out_dir)
    x_train, x_test, y_train, y_test = load_split()
    module = train(build_module(), x_train, y_train, epochs=60)
    torch.onnx.export(module, torch.zeros(1, 1, 8, 8), str(out_dir / "model.onnx"),
                      input_names=["input"], output_names=["logits"], opset_version=17,
                      dynamo=False, training=torch.onnx.TrainingMode.PRESERVE,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
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
    print(f"resnet_block: train accuracy {scores['train_accuracy']:.4f}, "
          f"test accuracy {scores['test_accuracy']:.4f}")
