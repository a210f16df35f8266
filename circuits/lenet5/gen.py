"""LeNet-5 on scikit-learn's digits, upsampled to 28×28, trained in PyTorch
and exported with ``torch.onnx.export``: the zkml test model for 5×5
convolutions, Tanh and AveragePool at LeCun's sizes.

Writes, beside this file:

* ``model.onnx`` — ``Conv2d(1→6, 5×5, pad 2)`` → Tanh → ``AvgPool2d(2)`` →
  ``Conv2d(6→16, 5×5)`` → Tanh → ``AvgPool2d(2)`` → flatten →
  ``Linear(400→120)`` → Tanh → ``Linear(120→84)`` → Tanh → ``Linear(84→10)``;
  exported at opset 17 with a dynamic batch axis (``input``
  float[batch,1,28,28] → ``logits`` float[batch,10]);
* ``input.json``, ``calibration.json`` — 784 floats per image: the 8×8 digit
  with each pixel a 3×3 block, zero-padded by 2 (:func:`upsample`); the
  calibration holds the first 100 training images.

Regenerating needs PyTorch (``pip install zkml[torch]``); the tests use the
committed files. The committed model was trained (40 epochs of Adam) and
exported with torch 2.11: train accuracy 1.0000, test 0.9750.
``python circuits/lenet5/gen.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CALIBRATION_SAMPLES = 100


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


def build_module():
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


def _write_json(path: Path, doc) -> None:
    path.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")


def main(out_dir: Path = HERE) -> dict:
    import torch

    sys.path.insert(0, str(HERE.parent / "digits_cnn"))
    from gen import train  # the same training loop

    out_dir = Path(out_dir)
    x_train, x_test, y_train, y_test = load_split()
    module = train(build_module(), x_train, y_train, epochs=40)
    torch.onnx.export(module, torch.zeros(1, 1, 28, 28), str(out_dir / "model.onnx"),
                      input_names=["input"], output_names=["logits"], opset_version=17,
                      dynamo=False, dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    _write_json(out_dir / "input.json", {"input_data": [np.round(x_test[0], 4).reshape(-1).tolist()]})
    _write_json(out_dir / "calibration.json",
                {"input_data": [np.round(x_train[:CALIBRATION_SAMPLES], 4).reshape(-1).tolist()]})
    with torch.no_grad():
        def accuracy(x, y):
            return float((module(torch.tensor(x, dtype=torch.float32)).argmax(1).numpy() == y).mean())
        return {"train_accuracy": accuracy(x_train, y_train), "test_accuracy": accuracy(x_test, y_test)}


if __name__ == "__main__":
    scores = main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"lenet5: train accuracy {scores['train_accuracy']:.4f}, "
          f"test accuracy {scores['test_accuracy']:.4f}")
