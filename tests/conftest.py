"""Shared fixtures: the bundled digits model compiled, set up and proved once
per test session (setup is seeded so the session is reproducible)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import zkml

REPO = Path(__file__).resolve().parents[1]
DIGITS = REPO / "circuits" / "digits_mlp"


@pytest.fixture(scope="session")
def digits_dir() -> Path:
    return DIGITS


@pytest.fixture(scope="session")
def digits_build(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("digits") / "build"
    zkml.compile(DIGITS / "model.onnx", build, calibration=DIGITS / "calibration.json")
    zkml.api._seeded_setup_for_tests(build, seed=11)
    return build


@pytest.fixture(scope="session")
def digits_proof(digits_build, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("digits") / "proof"
    zkml.prove(digits_build, DIGITS / "input.json", out)
    return out


def read(path: Path):
    return json.loads(Path(path).read_text())
