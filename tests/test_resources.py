"""The files zkml ships as package data (zkml/data/): the verifier template
and the demo's model, one copy each, which the checkout links to."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from zkml import resources
from zkml.errors import ToolMissingError

REPO = Path(__file__).resolve().parents[1]


def test_the_package_data_is_where_importlib_resources_finds_it():
    assert resources.data_dir() == REPO / "zkml" / "data"
    template = resources.verifier_template()
    assert "function verifyProof" in template and "{{N_PUBLIC}}" in template
    model_dir = resources.demo_model_dir()
    onnx.checker.check_model(onnx.load(str(model_dir / "model.onnx")))
    for name in resources.DEMO_FILES:
        assert (model_dir / name).stat().st_size > 0


def test_the_checkout_links_to_the_package_data_instead_of_copying_it():
    links = {
        REPO / "contracts" / resources.VERIFIER_TEMPLATE: resources.data_file(resources.VERIFIER_TEMPLATE),
        **{REPO / "circuits" / "digits_mlp" / n: resources.data_file(resources.DEMO_MODEL, n) for n in resources.DEMO_FILES},
    }
    for link, target in links.items():
        assert link.is_symlink(), f"{link} should be a symlink to {target} (one copy, shipped in the wheel)"
        assert link.resolve() == target.resolve()


def test_a_missing_data_file_names_it_and_says_to_reinstall(monkeypatch, tmp_path):
    monkeypatch.setattr(resources, "data_dir", lambda: tmp_path)
    with pytest.raises(ToolMissingError, match="reinstall") as caught:
        resources.verifier_template()
    assert str(tmp_path / resources.VERIFIER_TEMPLATE) in str(caught.value)


def test_demo_without_solc_says_how_to_get_it_before_doing_any_work(tmp_path):
    env = {**os.environ, "PATH": str(Path(sys.executable).parent), "ZKML_CONTRACTS_DIR": str(tmp_path / "none")}
    env.pop("ZKML_SOLC", None)
    r = subprocess.run([sys.executable, "-m", "zkml.cli", "demo", "--workdir", tmp_path / "demo"],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: solc (the Solidity compiler) not found"), r.stderr
    assert "npm install -g solc@0.8.37" in lines[0] and "ZKML_SOLC" in lines[0]
    assert not (tmp_path / "demo").exists()
