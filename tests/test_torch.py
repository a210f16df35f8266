"""From a PyTorch module to a verified proof in Python: `zkml.compile` exports
a torch.nn.Module with torch.onnx.export; calibration and inputs may be
torch tensors. Runs where torch is installed (`pip install zkml[torch]`)."""

from __future__ import annotations

import numpy as np
import pytest

import zkml
from zkml.errors import ArgumentError, ModelError

torch = pytest.importorskip("torch")


class SmallCnn(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.pool = torch.nn.MaxPool2d(2)
        self.fc = torch.nn.Linear(4 * 4 * 4, 10)

    def forward(self, image):
        x = self.pool(torch.relu(self.bn(self.conv(image))))
        return self.fc(torch.flatten(x, 1))


@pytest.fixture(scope="module")
def module():
    torch.manual_seed(0)
    m = SmallCnn()
    with torch.no_grad():  # running statistics that are not the identity, as after training
        m.bn.running_mean.uniform_(-0.2, 0.2)
        m.bn.running_var.uniform_(0.5, 1.5)
    m.train()  # as a notebook leaves it after training
    return m


def test_a_torch_module_compiles_proves_and_verifies_in_python(module, tmp_path):
    generator = torch.Generator().manual_seed(1)
    calibration = torch.rand(64, 1, 8, 8, generator=generator)
    x = torch.rand(1, 1, 8, 8, generator=generator)

    compiled = zkml.compile(module, tmp_path / "build", example_inputs=torch.zeros(1, 1, 8, 8),
                            calibration=calibration)
    assert module.training, "the module is left in the mode it was in"
    settings = compiled.settings
    assert settings["model"] == "<torch.nn.Module SmallCnn>"
    assert [io["name"] for io in settings["inputs"]] == ["image"]  # forward()'s argument
    assert [io["name"] for io in settings["outputs"]] == ["output"]
    assert not any("no calibration data" in w for w in compiled.warnings)

    zkml.setup(tmp_path / "build", dev=True)
    result = zkml.prove(tmp_path / "build", x, tmp_path / "out", device="cpu")
    assert zkml.verify(tmp_path / "build", tmp_path / "out")
    assert all(p.is_file() for p in result.paths.values())
    assert set(result.timings) >= {"synthesize", "msm"}

    module.eval()
    with torch.no_grad():
        expected = module(x).numpy().astype(np.float64)
    module.train()
    got = result.outputs["output"]
    assert isinstance(got, np.ndarray) and got.shape == expected.shape
    error = float(np.max(np.abs(got - expected)))
    bound = settings["quantization"]["outputs"]["output"]["error_bound"]
    if bound is not None:  # the certified bound holds for an input inside the calibration box
        assert error <= bound
    assert error < 0.05
    assert int(np.argmax(got)) == int(np.argmax(expected))


def test_numpy_example_inputs_and_a_tuple_of_tensors_as_calibration(module, tmp_path):
    compiled = zkml.compile(module, tmp_path / "build", example_inputs=np.zeros((1, 1, 8, 8), dtype=np.float32),
                            calibration=(torch.rand(8, 1, 8, 8),))
    assert compiled.settings["inputs"][0]["shape"] == [1, 1, 8, 8]


def test_a_module_without_example_inputs_is_an_argument_error(module, tmp_path):
    with pytest.raises(ArgumentError, match="example_inputs"):
        zkml.compile(module, tmp_path / "build")
    with pytest.raises(ArgumentError, match=r"example_inputs\[0\] is str"):
        zkml.compile(module, tmp_path / "build", example_inputs="image")
    assert not (tmp_path / "build").exists()


def test_example_inputs_of_the_wrong_shape_are_a_model_error(module, tmp_path):
    with pytest.raises(ModelError, match="failed on example_inputs"):
        zkml.compile(module, tmp_path / "build", example_inputs=torch.zeros(1, 1, 5, 5))
    assert module.training and not (tmp_path / "build").exists()
