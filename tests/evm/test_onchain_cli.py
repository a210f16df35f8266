"""The on-chain commands as a dapp developer runs them, against anvil:
export-verifier (source, ABI, bytecode, size and gas), calldata, deploy
(key from $ZKML_PRIVATE_KEY or a keystore, never a flag), verify --onchain.
Every bad input is one line `error: ...`, exit 2, and no partial file."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector

from anvil_node import funded_account, running_anvil
from conftest import read
from test_cli import assert_one_line_error, listing, zkml
from zkml.cli import main
from zkml.evm import InProcessChain, compile_verifier, encode_verify_call, proof_calldata, render_verifier


@pytest.fixture(scope="module")
def anvil():
    with running_anvil() as node:
        yield node


@pytest.fixture(scope="module")
def exported(digits_build, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export") / "contracts"  # created by the command
    r = zkml("export-verifier", digits_build, "-o", folder / "DigitsVerifier.sol", "--name", "DigitsVerifier")
    assert r.returncode == 0, r.stderr
    return folder, r.stdout


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "ZKML_PRIVATE_KEY"}
    return {**env, **extra}


def _zkml_env(env: dict, *args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "zkml.cli", *map(str, args)], capture_output=True, text=True,
                          env={**env, "RUST_BACKTRACE": "0"})


# --- export-verifier ----------------------------------------------------------


def test_export_verifier_writes_source_abi_and_bytecode_and_says_size_and_gas(anvil, exported, digits_proof):
    folder, stdout = exported
    assert sorted(p.name for p in folder.iterdir()) == ["DigitsVerifier.abi.json", "DigitsVerifier.bin",
                                                        "DigitsVerifier.sol"]
    assert "contract DigitsVerifier {" in (folder / "DigitsVerifier.sol").read_text()
    abi = json.loads((folder / "DigitsVerifier.abi.json").read_text())
    assert sorted(len(f["inputs"]) for f in abi if f.get("name") == "verifyProof") == [2, 4]
    assert any(e["type"] == "error" and e["name"] == "PrecompileFailed" for e in abi)

    chain = InProcessChain()
    address = chain.deploy(bytes.fromhex((folder / "DigitsVerifier.bin").read_text()))
    calldata = encode_verify_call(*proof_calldata(read(digits_proof / "proof.json"), read(digits_proof / "public.json")))
    result = chain.call(address, calldata)
    assert result.success and result.output[-1] == 1
    # The printed figures are this contract's: its runtime size, and the
    # execution gas of a valid proof (measured with a generator "proof").
    # (pyrevm pads code it has analysed, so the size comes from anvil.)
    _url, web3 = anvil
    account = funded_account(web3)
    tx = {"from": account.address, "data": "0x" + (folder / "DigitsVerifier.bin").read_text(), "gas": 3_000_000,
          "nonce": 0, "chainId": web3.eth.chain_id, "gasPrice": web3.eth.gas_price}
    receipt = web3.eth.wait_for_transaction_receipt(
        web3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))
    size = len(web3.eth.get_code(receipt["contractAddress"]))
    assert f"deployed size  {size:,} bytes" in stdout
    assert f"verifyProof    {result.execution_gas:,} gas execution" in stdout
    assert result.gas_used <= 21_000 + 16 * len(calldata) + result.execution_gas


def test_export_verifier_source_only_needs_no_compiler(digits_build, tmp_path):
    r = zkml("export-verifier", digits_build, "-o", tmp_path / "V.sol", "--source-only")
    assert r.returncode == 0, r.stderr
    assert listing(tmp_path).keys() == {"V.sol"}


@pytest.mark.parametrize("name", ["1Verifier", "My-Verifier", "a b", ""])
def test_export_verifier_refuses_a_bad_contract_name_and_writes_nothing(digits_build, tmp_path, name):
    assert_one_line_error(zkml("export-verifier", digits_build, "-o", tmp_path / "out" / "V.sol", "--name", name),
                          "contract name")
    assert not (tmp_path / "out").exists()


def test_export_verifier_that_fails_to_compile_leaves_the_old_files(digits_build, tmp_path):
    (tmp_path / "V.sol").write_text("old")
    # A reserved word is an identifier to our check but not to solc.
    assert_one_line_error(zkml("export-verifier", digits_build, "-o", tmp_path / "V.sol", "--name", "contract"),
                          "solc")
    assert listing(tmp_path) == {"V.sol": b"old"}


# --- calldata -----------------------------------------------------------------


def test_calldata_prints_the_verify_proof_calldata(digits_proof):
    r = zkml("calldata", digits_proof)
    assert r.returncode == 0, r.stderr
    public = read(digits_proof / "public.json")
    expected = encode_verify_call(*proof_calldata(read(digits_proof / "proof.json"), public))
    assert r.stdout == "0x" + expected.hex() + "\n"
    signature = f"verifyProof(uint256[8],uint256[{len(public)}])"
    assert bytes.fromhex(r.stdout[2:10]) == function_signature_to_4byte_selector(signature)


def test_calldata_of_a_malformed_proof_is_one_line_error(digits_proof, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(digits_proof, out)
    proof = read(out / "proof.json")
    proof["pi_a"][1] = str(int(proof["pi_a"][1]) + 1)  # off the curve
    (out / "proof.json").write_text(json.dumps(proof))
    assert_one_line_error(zkml("calldata", out), "pi_a")
    assert_one_line_error(zkml("calldata", tmp_path / "missing"), "missing")


# --- deploy and verify --onchain ---------------------------------------------


@pytest.fixture(scope="module")
def deployed(anvil, digits_build):
    url, web3 = anvil
    account = funded_account(web3)
    r = _zkml_env(_env(ZKML_PRIVATE_KEY=account.key.hex()), "deploy", digits_build, "--rpc-url", url)
    assert r.returncode == 0, r.stderr
    address = r.stdout.strip()
    assert web3.is_checksum_address(address)
    assert account.key.hex() not in r.stdout + r.stderr
    return address


def test_deploy_leaves_the_compiled_verifier_at_the_printed_address(anvil, deployed, digits_build):
    _url, web3 = anvil
    contract = compile_verifier(render_verifier(read(digits_build / "verification_key.json")))
    assert bytes(web3.eth.get_code(deployed)) == contract.deployed_bytecode


def test_verify_onchain_prints_valid_and_the_gas_at_which_it_is_true(anvil, deployed, digits_build, digits_proof):
    url, web3 = anvil
    r = zkml("verify", digits_build, digits_proof, "--onchain", "--rpc-url", url, "--address", deployed)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "valid"
    gas = int(r.stdout.split("verifyProof gas ")[1].split()[0].replace(",", ""))
    data = "0x" + zkml("calldata", digits_proof).stdout.strip()[2:]
    # At exactly the printed gas, a transaction's answer is true.
    answer = web3.eth.call({"to": deployed, "data": data, "gas": gas})
    assert int.from_bytes(answer, "big") == 1
    r = zkml("verify", digits_build, digits_proof, "--onchain", "--rpc-url", url, "--address", deployed, "--json")
    assert json.loads(r.stdout) == {"valid": True, "gas": gas, "chain_id": web3.eth.chain_id, "address": deployed}


def test_verify_onchain_of_a_changed_output_is_invalid(anvil, deployed, digits_build, digits_proof, tmp_path):
    url, _ = anvil
    out = tmp_path / "out"
    shutil.copytree(digits_proof, out)
    public = read(out / "public.json")
    public[-1] = str(int(public[-1]) + 1)
    (out / "public.json").write_text(json.dumps(public))
    r = zkml("verify", digits_build, out, "--onchain", "--rpc-url", url, "--address", deployed)
    assert (r.returncode, r.stdout.splitlines()[0]) == (1, "invalid"), r.stderr


def test_verify_onchain_bad_inputs_are_one_line_errors(anvil, deployed, digits_build, digits_proof):
    url, web3 = anvil
    nobody = Account.create().address
    assert_one_line_error(zkml("verify", digits_build, digits_proof, "--onchain", "--rpc-url", url,
                               "--address", nobody), "no contract")
    assert_one_line_error(zkml("verify", digits_build, digits_proof, "--onchain", "--rpc-url", url,
                               "--address", "0x1234"), "not an Ethereum address")
    assert_one_line_error(zkml("verify", digits_build, digits_proof, "--onchain", "--rpc-url", url), "--address")
    assert_one_line_error(zkml("verify", digits_build, digits_proof, "--rpc-url", url, "--address", deployed),
                          "--onchain")
    closed = "http://127.0.0.1:9"  # discard port: nothing answers
    assert_one_line_error(zkml("verify", digits_build, digits_proof, "--onchain", "--rpc-url", closed,
                               "--address", deployed), "no JSON-RPC node")


def test_deploy_without_a_key_or_with_a_bad_one_is_a_one_line_error(anvil, digits_build):
    url, _ = anvil
    assert_one_line_error(_zkml_env(_env(), "deploy", digits_build, "--rpc-url", url), "ZKML_PRIVATE_KEY")
    bad = "0x" + "zz" * 32
    r = _zkml_env(_env(ZKML_PRIVATE_KEY=bad), "deploy", digits_build, "--rpc-url", url)
    assert_one_line_error(r, "not a 32-byte hex private key")
    assert bad not in r.stderr


def test_deploy_from_an_unfunded_account_is_a_one_line_error(anvil, digits_build):
    url, _ = anvil
    r = _zkml_env(_env(ZKML_PRIVATE_KEY=Account.create().key.hex()), "deploy", digits_build, "--rpc-url", url)
    assert_one_line_error(r, "refused")


def test_deploy_has_no_option_that_takes_a_key(digits_build):
    r = zkml("deploy", "--help")
    assert r.returncode == 0 and "--private-key" not in r.stdout and "ZKML_PRIVATE_KEY" in r.stdout


def test_deploy_with_a_keystore_asks_for_its_password(anvil, digits_build, tmp_path, monkeypatch):
    url, web3 = anvil
    account = funded_account(web3)
    keystore = tmp_path / "deployer.json"
    keystore.write_text(json.dumps(Account.encrypt(account.key, "correct horse")))
    monkeypatch.delenv("ZKML_PRIVATE_KEY", raising=False)
    runner = CliRunner()
    result = runner.invoke(main, ["deploy", str(digits_build), "--rpc-url", url, "--keystore", str(keystore)],
                           input="correct horse\n")
    assert result.exit_code == 0, result.output
    address = result.stdout.strip().splitlines()[-1]
    assert bytes(web3.eth.get_code(address)) and web3.eth.get_transaction_count(account.address) == 1

    wrong = runner.invoke(main, ["deploy", str(digits_build), "--rpc-url", url, "--keystore", str(keystore)],
                          input="battery staple\n")
    assert wrong.exit_code == 2 and "wrong password" in wrong.stderr
    assert web3.eth.get_transaction_count(account.address) == 1
