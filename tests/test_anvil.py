"""The verifier on a real node: anvil (npm @foundry-rs/anvil, pinned in
contracts/) on 127.0.0.1 at a free port, driven through web3.py as a dapp
developer would. eth_estimateGas must give a limit at which a valid proof
returns true; below it the call reverts, it never answers false."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import pytest
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError

from conftest import read
from zkml.evm import compile_verifier, contracts_dir, encode_verify_call, proof_calldata, render_verifier


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def w3():
    anvil = contracts_dir() / "node_modules" / ".bin" / "anvil"
    assert anvil.exists(), "run `npm ci` in contracts/ (make test does)"
    port = _free_port()
    proc = subprocess.Popen([str(anvil), "--host", "127.0.0.1", "--port", str(port), "--silent"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        web3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 30}))
        deadline = time.monotonic() + 30
        while not web3.is_connected():
            assert proc.poll() is None, "anvil exited"
            assert time.monotonic() < deadline, "anvil did not answer within 30 s"
            time.sleep(0.2)
        yield web3
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def deployed(w3, digits_build, digits_proof):
    contract = compile_verifier(render_verifier(read(digits_build / "verification_key.json")))
    sender = w3.eth.accounts[0]
    tx = w3.eth.send_transaction({"from": sender, "data": "0x" + contract.bytecode.hex(), "gas": 5_000_000})
    receipt = w3.eth.wait_for_transaction_receipt(tx, timeout=30)
    assert receipt["status"] == 1 and receipt["contractAddress"]
    proof8, inputs = proof_calldata(read(digits_proof / "proof.json"), read(digits_proof / "public.json"))
    return sender, receipt["contractAddress"], encode_verify_call(proof8, inputs)


def test_estimate_gas_gives_a_limit_at_which_a_valid_proof_returns_true(w3, deployed):
    sender, address, calldata = deployed
    call = {"from": sender, "to": address, "data": "0x" + calldata.hex()}
    estimate = w3.eth.estimate_gas(call)
    answer = w3.eth.call({**call, "gas": estimate})
    assert int.from_bytes(answer, "big") == 1, (estimate, answer.hex())
    # A transaction at the estimate succeeds too (what web3's transact() sends).
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({**call, "gas": estimate}), timeout=30)
    assert receipt["status"] == 1


def test_below_the_estimate_a_valid_proof_reverts_and_never_reads_false(w3, deployed):
    sender, address, calldata = deployed
    call = {"from": sender, "to": address, "data": "0x" + calldata.hex()}
    estimate = w3.eth.estimate_gas(call)
    for gas in (estimate - 1_000, estimate // 2, 90_000):
        try:
            answer = w3.eth.call({**call, "gas": gas})
        except (ContractLogicError, Web3RPCError, ValueError):
            continue  # reverted or ran out of gas: the caller learns it was not enough
        raise AssertionError(f"with {gas} gas the verifier answered {answer.hex()} instead of reverting")
