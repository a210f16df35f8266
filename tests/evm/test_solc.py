"""Where solc comes from ($ZKML_SOLC, a checkout's pinned npm package, PATH),
that every route compiles to the same bytecode, and that a missing solc is an
error saying how to get one."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from evm_fixtures import groth16_instance
from zkml.errors import EvmError, ToolMissingError
from zkml.evm import compile_verifier, render_verifier
from zkml.solc import PINNED_VERSION, find_solc

REPO = Path(__file__).resolve().parents[2]
SOLCJS = REPO / "contracts" / "node_modules" / ".bin" / "solcjs"
NODE = Path(os.path.realpath(shutil.which("node") or "node"))


def _only_solcjs_on_path(tmp_path: Path, monkeypatch) -> None:
    """PATH as `npm install -g solc` leaves it (solcjs beside node), and no checkout."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "solcjs").symlink_to(SOLCJS)
    (bin_dir / "node").symlink_to(NODE)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("ZKML_CONTRACTS_DIR", str(tmp_path / "no-checkout"))
    monkeypatch.delenv("ZKML_SOLC", raising=False)


def test_the_pinned_version_is_the_one_contracts_package_json_pins():
    package = json.loads((REPO / "contracts" / "package.json").read_text())
    assert package["dependencies"]["solc"] == PINNED_VERSION


def test_a_checkout_uses_its_pinned_npm_package(monkeypatch):
    monkeypatch.delenv("ZKML_SOLC", raising=False)
    monkeypatch.delenv("ZKML_CONTRACTS_DIR", raising=False)
    assert find_solc().origin == "contracts/node_modules"


def test_every_route_to_solc_gives_the_same_bytecode(tmp_path, monkeypatch):
    source = render_verifier(groth16_instance(3)["vk"])
    monkeypatch.delenv("ZKML_SOLC", raising=False)
    checkout = compile_verifier(source)

    monkeypatch.setenv("ZKML_SOLC", str(SOLCJS))
    from_env = compile_verifier(source)
    assert from_env.compiler["found"] == "$ZKML_SOLC"

    _only_solcjs_on_path(tmp_path, monkeypatch)
    from_path = compile_verifier(source)
    assert from_path.compiler["found"] == "PATH"

    for other in (from_env, from_path):
        assert other.bytecode == checkout.bytecode and len(other.bytecode) > 1000
        assert other.deployed_bytecode == checkout.deployed_bytecode
        assert other.abi == checkout.abi
        assert other.method_identifiers == checkout.method_identifiers
        assert other.compiler["solc"] == checkout.compiler["solc"]
        assert other.compiler["solc"].startswith(PINNED_VERSION + "+")


def test_a_compile_error_through_standard_json_carries_solcs_message(tmp_path, monkeypatch):
    _only_solcjs_on_path(tmp_path, monkeypatch)
    with pytest.raises(EvmError, match="ParserError"):
        compile_verifier("pragma solidity ^0.8.20;\ncontract Groth16Verifier { function f( }\n")


def test_a_contract_name_not_in_the_source_is_an_error(tmp_path, monkeypatch):
    _only_solcjs_on_path(tmp_path, monkeypatch)
    with pytest.raises(EvmError, match="no contract named Groth16Verifier .*found: Other"):
        compile_verifier("pragma solidity ^0.8.20;\ncontract Other {}\n")


def test_no_solc_anywhere_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("ZKML_CONTRACTS_DIR", str(tmp_path))
    monkeypatch.delenv("ZKML_SOLC", raising=False)
    with pytest.raises(ToolMissingError) as caught:
        compile_verifier("contract Groth16Verifier {}")
    message = str(caught.value)
    assert "\n" not in message
    assert f"npm install -g solc@{PINNED_VERSION}" in message and "ZKML_SOLC" in message


def test_a_zkml_solc_that_is_not_executable_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("ZKML_SOLC", str(tmp_path / "nowhere" / "solc"))
    with pytest.raises(ToolMissingError, match="ZKML_SOLC=.*nowhere/solc is not an executable"):
        find_solc()
