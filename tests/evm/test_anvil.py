"""The verifier on a real node: anvil (npm @foundry-rs/anvil, pinned in
contracts/) on 127.0.0.1 at a free port, driven through web3.py as a dapp
developer would. eth_estimateGas must give a limit at which a valid proof
returns true; below it the call reverts, it never answers false."""

from __future__ import annotations

import pytest
from web3.exceptions import ContractLogicError, Web3RPCError

from anvil_node import running_anvil
from conftest import read
from zkml.evm import compile_verifier, encode_verify_call, proof_calldata, render_verifier


@pytest.fixture(scope="module")
def w3():
    with running_anvil() as (_url, web3):
        yield web3


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
