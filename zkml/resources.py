"""Files zkml ships inside its package, in ``zkml/data/``: the Solidity
verifier template and the digits model that ``zkml demo`` runs.

They are found with :mod:`importlib.resources`, so an installed wheel finds
them exactly as a checkout does. In a checkout, ``contracts/`` and
``circuits/digits_mlp/`` hold symlinks to these files, so there is one copy.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from zkml.errors import ToolMissingError

VERIFIER_TEMPLATE = "Groth16Verifier.sol.tmpl"
DEMO_MODEL = "digits_mlp"
DEMO_FILES = ("model.onnx", "input.json", "calibration.json")


def data_dir() -> Path:
    # The package holds a compiled extension, so it is never imported from a
    # zip: its resources are plain files on disk.
    return Path(str(resources.files("zkml") / "data"))


def data_file(*parts: str) -> Path:
    path = data_dir().joinpath(*parts)
    if not path.is_file():
        raise ToolMissingError(
            f"{path} not found: the zkml installation is incomplete; reinstall it "
            "(`pip install --force-reinstall zkml`, or `make install` in a checkout)"
        )
    return path


def verifier_template() -> str:
    """The text of the Solidity Groth16 verifier template."""
    return data_file(VERIFIER_TEMPLATE).read_text(encoding="utf-8")


def demo_model_dir() -> Path:
    """The folder with the demo's ``model.onnx``, ``input.json`` and ``calibration.json``."""
    for name in DEMO_FILES:
        data_file(DEMO_MODEL, name)
    return data_dir() / DEMO_MODEL
