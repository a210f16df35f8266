"""Where the Solidity sources and the pinned npm tools (solc, snarkjs, anvil) live.

They sit in the repository's ``contracts/`` folder, installed there with
``npm ci``; ``ZKML_CONTRACTS_DIR`` points elsewhere (an installed package,
a CI cache).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import zkml
from zkml.errors import ToolMissingError

CONTRACTS_DIR_ENV = "ZKML_CONTRACTS_DIR"


def contracts_dir() -> Path:
    """The ``contracts/`` folder: ``$ZKML_CONTRACTS_DIR``, else the one beside the package."""
    override = os.environ.get(CONTRACTS_DIR_ENV)
    if override:
        return Path(override)
    return Path(zkml.__file__).resolve().parents[1] / "contracts"


def contracts_file(name: str) -> Path:
    """A file shipped in ``contracts/``; missing means a broken checkout or install."""
    path = contracts_dir() / name
    if not path.is_file():
        raise ToolMissingError(
            f"{path} not found: zkml needs its contracts/ folder "
            f"(set {CONTRACTS_DIR_ENV} if it lives elsewhere)"
        )
    return path


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise ToolMissingError(
            "node (Node.js) not found on PATH: it runs the pinned Solidity compiler; "
            "install Node.js 18 or newer, then run `npm ci` in contracts/"
        )
    return node


def require_node_package(package: str) -> Path:
    """The installed npm package's folder under ``contracts/node_modules``."""
    path = contracts_dir() / "node_modules" / package
    if not (path / "package.json").is_file():
        raise ToolMissingError(
            f"the npm package `{package}` is not installed in {contracts_dir()}: "
            f"run `npm ci` in that folder"
        )
    return path
