"""The hand-written stub zkml/_native.pyi must describe the real module."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from zkml import _native

STUB = Path(__file__).resolve().parents[1] / "zkml" / "_native.pyi"


def _stub_functions() -> dict[str, list[str]]:
    tree = ast.parse(STUB.read_text())
    return {
        node.name: [a.arg for a in node.args.args]
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }


def test_stub_lists_exactly_the_modules_functions():
    real = {name for name, obj in vars(_native).items() if callable(obj) and not isinstance(obj, type)}
    assert set(_stub_functions()) == real


def test_stub_parameter_names_match_the_module():
    for name, params in _stub_functions().items():
        sig = inspect.signature(getattr(_native, name))
        assert list(sig.parameters) == params, name
