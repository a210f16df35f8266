"""The settlement contract (contracts/ZkmlSettlement.sol) on a real anvil node,
driven as a requester and a prover would: the CLI (compile --bind-sender,
deploy, deploy-settlement, request, prove --sender, fulfil, reclaim) and
web3.py. A fulfilment pays the prover and records the output; a wrong proof,
a proof for another input or another model, a second fulfilment, a late one
and a proof copied by another sender are refused with the contract's named
error; a receiver that calls back in gets nothing more.

One digits build (compiled with --bind-sender, set up once) serves the module,
and one more with its input hashed (a request that never shows the input);
each test posts its own requests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from eth_account import Account

import zkml
from anvil_node import funded_account, running_anvil
from conftest import DIGITS, read
from test_cli import assert_one_line_error
from test_cli import zkml as zkml_cli
from zkml import onchain
from zkml.errors import ArgumentError, EvmError
from zkml.evm import compile_verifier, proof_calldata
from zkml.evm import settlement as contract
from zkml.evm.outputs import output_layout, unpack
from zkml.evm.rpc import signing_web3
from zkml.poseidon import FIELD_MODULUS
from zkml.sender import SENDER_INPUT, input_signals

PAYMENT = 10**15  # wei


def _cli(key: str, *args):
    env = {**{k: v for k, v in os.environ.items() if k != "ZKML_PRIVATE_KEY"}, "ZKML_PRIVATE_KEY": key,
           "RUST_BACKTRACE": "0"}
    return subprocess.run([sys.executable, "-m", "zkml.cli", *map(str, args)], check=False, capture_output=True, text=True,
                          env=env)


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """The digits model compiled with --bind-sender (through the CLI), seeded setup."""
    build = tmp_path_factory.mktemp("settlement") / "build"
    r = zkml_cli("compile", DIGITS / "model.onnx", "-o", build, "--calibration", DIGITS / "calibration.json",
                 "--bind-sender")
    assert r.returncode == 0, r.stderr
    zkml.api._seeded_setup_for_tests(build, seed=21)
    return build


@pytest.fixture(scope="module")
def other_build(build, tmp_path_factory):
    """The same circuit under another key: for the settlement contract, another model's verifier."""
    other = tmp_path_factory.mktemp("settlement") / "other"
    shutil.copytree(build, other)
    zkml.api._seeded_setup_for_tests(other, seed=22)
    return other


@pytest.fixture(scope="module")
def chain():
    with running_anvil() as node:
        yield node


class World:
    """The accounts and contracts of one anvil node."""

    def __init__(self, url, web3, build, other_build):
        self.url, self.web3 = url, web3
        self.requester = funded_account(web3)
        self.prover = funded_account(web3)
        self.thief = funded_account(web3)
        r = _cli(self.requester.key.hex(), "deploy", build, "--rpc-url", url)
        assert r.returncode == 0, r.stderr
        self.verifier = r.stdout.strip()
        r = _cli(self.requester.key.hex(), "deploy-settlement", "--rpc-url", url)
        assert r.returncode == 0, r.stderr
        self.settlement = r.stdout.strip()
        self.other_verifier = onchain.deploy_verifier(other_build, url, self.requester).address

    def post(self, inputs=DIGITS / "input.json", build=None, verifier=None, deadline_in=3600, requester=None):
        return onchain.post_request(build or self.build_dir, inputs, self.url, requester or self.requester,
                                    self.settlement, verifier or self.verifier, PAYMENT, deadline_in).id

    def send_fulfil(self, account, request_id, out, *, signals=None):
        """fulfil through web3 from ``account`` with OUT's proof, no client-side checks."""
        proof8, public = proof_calldata(read(out / "proof.json"), read(out / "public.json"))
        w3 = signing_web3(self.url, account)
        return contract.fulfil(w3, self.settlement, request_id, proof8, signals if signals is not None else public)

    def balance(self, address):
        return self.web3.eth.get_balance(address)

    def fee(self, tx_hash):
        receipt = self.web3.eth.get_transaction_receipt(tx_hash)
        return receipt["gasUsed"] * receipt["effectiveGasPrice"]

    def warp(self, seconds):
        self.web3.provider.make_request("evm_increaseTime", [seconds])
        self.web3.provider.make_request("evm_mine", [])


@pytest.fixture(scope="module")
def world(chain, build, other_build):
    url, web3 = chain
    w = World(url, web3, build, other_build)
    w.build_dir = build
    return w


def _other_input(tmp_path):
    image = read(DIGITS / "input.json")["input_data"][0]
    image[0] = 0.5 if image[0] != 0.5 else 0.25
    path = tmp_path / "other_input.json"
    path.write_text(json.dumps({"input_data": [image]}))
    return path


@pytest.fixture(scope="module")
def proofs(world, build, other_build, tmp_path_factory):
    """OUT folders: the prover's proof of input.json (through the CLI), of
    another input, and under the other model's key."""
    root = tmp_path_factory.mktemp("proofs")
    honest = root / "honest"
    r = zkml_cli("prove", build, DIGITS / "input.json", "-o", honest, "--sender", world.prover.address)
    assert r.returncode == 0, r.stderr
    other_input = root / "other_input"
    zkml.prove(build, _other_input(root), other_input, sender=world.prover.address)
    other_model = root / "other_model"
    zkml.prove(other_build, DIGITS / "input.json", other_model, sender=world.prover.address)
    return {"honest": honest, "other_input": other_input, "other_model": other_model}


# --- the contract and the builds ----------------------------------------------


def test_the_shipped_settlement_bytecode_is_what_the_pinned_solc_compiles():
    shipped, compiled = contract.settlement_contract(), contract.compile_settlement()
    assert compiled.compiler["solc"].startswith("0.8.37+")
    assert (shipped.bytecode, shipped.deployed_bytecode, shipped.abi) == (
        compiled.bytecode, compiled.deployed_bytecode, compiled.abi), "run `python -m zkml.evm.settlement`"
    assert len(shipped.deployed_bytecode) <= 24_576



def test_bind_sender_puts_the_address_in_one_signal_after_the_inputs(build, proofs, world):
    settings = read(build / "settings.json")
    k = settings["sender"]["signal"]
    assert settings["sender"]["input"] == SENDER_INPUT
    assert settings["inputs"][-1]["name"] == SENDER_INPUT
    public = [int(v) for v in read(proofs["honest"] / "public.json")]
    assert public[k] == int(world.prover.address, 16)
    assert len(public) == settings["public_inputs"]
    assert zkml.verify(build, proofs["honest"])


def test_prove_needs_sender_exactly_when_the_build_binds_one(build, digits_build, tmp_path):
    assert_one_line_error(zkml_cli("prove", build, DIGITS / "input.json", "-o", tmp_path / "a"), "--sender")
    assert_one_line_error(zkml_cli("prove", digits_build, DIGITS / "input.json", "-o", tmp_path / "b", "--sender",
                                   "0x" + "11" * 20), "--bind-sender")
    assert_one_line_error(zkml_cli("prove", build, DIGITS / "input.json", "-o", tmp_path / "c", "--sender", "0x1234"),
                          "not an Ethereum address")
    bad_checksum = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"  # last letter's case flipped
    assert_one_line_error(zkml_cli("prove", build, DIGITS / "input.json", "-o", tmp_path / "d", "--sender",
                                   bad_checksum), "checksum")
    assert not any((tmp_path / d).exists() for d in "abcd")
    with pytest.raises(ArgumentError, match="sender"):
        zkml.prove(build, DIGITS / "input.json", tmp_path / "e")


def test_the_sender_changes_no_output_and_the_check_runs_without_one(build, digits_build, proofs):
    bound = read(proofs["honest"] / "output.json")["quantized"]
    assert zkml.api.check(build, DIGITS / "input.json").outputs.keys() == {"logits"}
    plain = zkml.api.check(digits_build, DIGITS / "input.json").outputs["logits"]
    assert np.array_equal(np.asarray(bound["logits"]) * 2.0 ** -9, plain)


# --- the settlement flow ------------------------------------------------------


def test_request_then_fulfil_pays_the_prover_and_records_the_output(world, build, proofs):
    r = _cli(world.requester.key.hex(), "request", build, DIGITS / "input.json", "--rpc-url", world.url,
             "--settlement", world.settlement, "--verifier", world.verifier, "--payment", PAYMENT)
    assert r.returncode == 0, r.stderr
    request_id = int(r.stdout.strip())
    posted = contract.read_request(world.web3, world.settlement, request_id)
    assert (posted.status, posted.payment, posted.requester) == ("open", PAYMENT, world.requester.address)
    k = read(build / "settings.json")["sender"]["signal"]
    public = [int(v) for v in read(proofs["honest"] / "public.json")]
    assert posted.input_commitment == contract.input_commitment(public[:k])

    before = world.balance(world.prover.address)
    held = world.balance(world.settlement)
    r = _cli(world.prover.key.hex(), "fulfil", build, proofs["honest"], "--rpc-url", world.url, "--settlement",
             world.settlement, "--request", request_id, "--json")
    assert r.returncode == 0, r.stderr
    done = json.loads(r.stdout)
    assert done["payment"] == PAYMENT and done["prover"] == world.prover.address
    assert world.balance(world.prover.address) == before + PAYMENT - world.fee(done["tx_hash"])
    assert world.balance(world.settlement) == held - PAYMENT

    # Recorded and emitted: the output signals, which decode to what prove printed.
    recorded = contract.outputs_of(world.web3, world.settlement, request_id)
    assert recorded == public[k + 1:] == [int(v) for v in done["output_signals"]]
    (layout,) = output_layout(zkml.api.load_build(build).program)
    logits = unpack(recorded, layout.first_signal - (k + 1), layout.count, layout.bits)
    assert logits == read(proofs["honest"] / "output.json")["quantized"]["logits"][0]
    after = contract.read_request(world.web3, world.settlement, request_id)
    assert (after.status, after.prover) == ("fulfilled", world.prover.address)

    # A second fulfilment of the same request, even with the same valid proof.
    r = _cli(world.prover.key.hex(), "fulfil", build, proofs["honest"], "--rpc-url", world.url, "--settlement",
             world.settlement, "--request", request_id)
    assert_one_line_error(r, "AlreadyFulfilled", f"id={request_id}")


def test_a_wrong_proof_is_refused(world, proofs, tmp_path):
    request_id = world.post()
    out = tmp_path / "tampered"
    shutil.copytree(proofs["honest"], out)
    proof = read(out / "proof.json")
    proof["pi_c"], proof["pi_a"] = proof["pi_a"], proof["pi_c"]  # both on the curve, wrong places
    (out / "proof.json").write_text(json.dumps(proof))
    with pytest.raises(EvmError, match=rf"InvalidProof\(id={request_id}\)"):
        world.send_fulfil(world.prover, request_id, out)
    # A changed output signal: the inputs and the sender still match, the proof does not.
    public = [int(v) for v in read(proofs["honest"] / "public.json")]
    public[-1] ^= 1
    with pytest.raises(EvmError, match="InvalidProof"):
        world.send_fulfil(world.prover, request_id, proofs["honest"], signals=public)
    assert contract.read_request(world.web3, world.settlement, request_id).status == "open"


def test_a_proof_for_another_input_is_refused(world, proofs):
    request_id = world.post()
    with pytest.raises(EvmError, match=rf"InputMismatch\(id={request_id}"):
        world.send_fulfil(world.prover, request_id, proofs["other_input"])


def test_a_proof_for_another_model_is_refused(world, build, other_build, proofs):
    request_id = world.post()
    with pytest.raises(EvmError, match=rf"InvalidProof\(id={request_id}\)"):
        world.send_fulfil(world.prover, request_id, proofs["other_model"])
    # ...and the other way round: a request for the other model refuses this model's proof.
    other_id = world.post(build=other_build, verifier=world.other_verifier)
    with pytest.raises(EvmError, match="InvalidProof"):
        world.send_fulfil(world.prover, other_id, proofs["honest"])
    done = world.send_fulfil(world.prover, other_id, proofs["other_model"])
    assert done.payment == PAYMENT


def test_a_proof_copied_by_another_sender_is_refused(world, build, proofs):
    request_id = world.post()
    public = [int(v) for v in read(proofs["honest"] / "public.json")]
    k = read(build / "settings.json")["sender"]["signal"]
    with pytest.raises(EvmError, match=rf"WrongSender\(bound={hex(int(world.prover.address, 16))}, "
                                       rf"sender={world.thief.address}\)"):
        world.send_fulfil(world.thief, request_id, proofs["honest"])
    # Putting the thief's own address in the sender slot breaks the proof.
    public[k] = int(world.thief.address, 16)
    with pytest.raises(EvmError, match="InvalidProof"):
        world.send_fulfil(world.thief, request_id, proofs["honest"], signals=public)
    # The CLI says so before sending anything.
    r = _cli(world.thief.key.hex(), "fulfil", build, proofs["honest"], "--rpc-url", world.url, "--settlement",
             world.settlement, "--request", request_id)
    assert_one_line_error(r, "--sender " + world.thief.address)
    # The rightful prover is still paid.
    assert world.send_fulfil(world.prover, request_id, proofs["honest"]).prover == world.prover.address


def test_after_the_deadline_no_fulfilment_and_only_the_requester_reclaims(world, build, proofs):
    request_id = world.post(deadline_in=600)
    early = world.post(deadline_in=10**6)
    reclaim = ("reclaim", "--rpc-url", world.url, "--settlement", world.settlement, "--request")
    assert_one_line_error(_cli(world.requester.key.hex(), *reclaim, request_id), "DeadlineNotReached")
    world.warp(601)
    with pytest.raises(EvmError, match=rf"DeadlinePassed\(id={request_id}"):
        world.send_fulfil(world.prover, request_id, proofs["honest"])
    assert_one_line_error(_cli(world.thief.key.hex(), *reclaim, request_id), "NotRequester")

    before = world.balance(world.requester.address)
    r = _cli(world.requester.key.hex(), *reclaim, request_id, "--json")
    assert r.returncode == 0, r.stderr
    done = json.loads(r.stdout)
    assert done["payment"] == PAYMENT
    assert world.balance(world.requester.address) == before + PAYMENT - world.fee(done["tx_hash"])
    assert_one_line_error(_cli(world.requester.key.hex(), *reclaim, request_id), "AlreadyReclaimed")
    with pytest.raises(EvmError, match="AlreadyReclaimed"):
        world.send_fulfil(world.prover, request_id, proofs["honest"])
    # The long request is still open and can be fulfilled.
    assert world.send_fulfil(world.prover, early, proofs["honest"]).payment == PAYMENT


def test_unknown_requests_and_bad_requests_are_refused(world, build, digits_build, tmp_path):
    with pytest.raises(EvmError, match=r"UnknownRequest\(id=999\)"):
        contract.reclaim(signing_web3(world.url, world.requester), world.settlement, 999)
    nobody = Account.create().address
    with pytest.raises(EvmError, match=f"NotAContract\\(verifier={nobody}\\)"):
        world.post(verifier=nobody)
    with pytest.raises(EvmError, match="--bind-sender"):
        world.post(build=digits_build)
    committed = tmp_path / "committed"
    zkml.compile(DIGITS / "model.onnx", committed, calibration=DIGITS / "calibration.json", bind_sender=True,
                 weights="committed")
    with pytest.raises(EvmError, match="does not pin a weights commitment"):
        world.post(build=committed)
    r = _cli(world.requester.key.hex(), "request", build, DIGITS / "input.json", "--rpc-url", world.url,
             "--settlement", world.verifier, "--verifier", world.verifier, "--payment", 1)
    assert_one_line_error(r, "not zkml's settlement contract")


REENTRANT = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface ISettlement {
    function request(address, uint16, bytes32, uint64) external payable returns (uint256);
    function fulfil(uint256, uint256[8] calldata, uint256[] calldata) external;
    function reclaim(uint256) external;
}

/// Fulfils or reclaims, and when paid calls straight back in, trying both
/// again; it keeps each reentrant call's revert data.
contract Reenterer {
    ISettlement public immutable settlement;
    uint256 public id;
    uint256[8] public proof;
    uint256[] public signals;
    uint256 public received;
    uint256 public paidTimes;
    bool private inside;
    bytes public fulfilAgain;
    bytes public reclaimAgain;

    constructor(ISettlement s) { settlement = s; }

    function post(address verifier, uint16 k, bytes32 commitment, uint64 deadline) external payable {
        id = settlement.request{value: msg.value}(verifier, k, commitment, deadline);
    }

    function attackFulfil(uint256 requestId, uint256[8] calldata p, uint256[] calldata s) external {
        id = requestId;
        proof = p;
        signals = s;
        settlement.fulfil(requestId, p, s);
    }

    function attackReclaim() external {
        settlement.reclaim(id);
    }

    receive() external payable {
        received += msg.value;
        paidTimes += 1;
        if (inside) return;
        inside = true;
        fulfilAgain = "";
        reclaimAgain = "";
        try settlement.fulfil(id, proof, signals) {} catch (bytes memory e) { fulfilAgain = e; }
        try settlement.reclaim(id) {} catch (bytes memory e) { reclaimAgain = e; }
        inside = false;
    }
}
"""


@pytest.fixture(scope="module")
def reenterer(world):
    compiled = compile_verifier(REENTRANT, "Reenterer")
    web3 = world.web3
    factory = web3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    attacker = funded_account(web3)
    w3 = signing_web3(world.url, attacker)
    tx = w3.eth.send_transaction(factory.constructor(world.settlement).build_transaction({"from": attacker.address}))
    address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    return w3, w3.eth.contract(address=address, abi=compiled.abi)


def _error_name(data: bytes) -> str:
    return contract.describe_revert(bytes(data)).split("(")[0]


def test_a_prover_that_reenters_when_paid_is_paid_once(world, build, reenterer, tmp_path):
    w3, attacker = reenterer
    out = tmp_path / "for_contract"
    zkml.prove(build, DIGITS / "input.json", out, sender=attacker.address)  # bound to the contract's address
    request_id = world.post()
    second = world.post()  # another open request, with the same payment, that it must not reach
    held = world.balance(world.settlement)
    proof8, public = proof_calldata(read(out / "proof.json"), read(out / "public.json"))
    tx = attacker.functions.attackFulfil(request_id, proof8, public).transact()
    assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
    assert attacker.functions.paidTimes().call() == 1 and attacker.functions.received().call() == PAYMENT
    # Both calls back in were refused (and their refusal did not undo the payment).
    assert world.balance(world.settlement) == held - PAYMENT
    assert _error_name(attacker.functions.fulfilAgain().call()) == "AlreadyFulfilled"
    assert _error_name(attacker.functions.reclaimAgain().call()) == "AlreadyFulfilled"
    assert contract.read_request(world.web3, world.settlement, second).status == "open"


def test_a_requester_that_reenters_when_refunded_is_refunded_once(world, build, reenterer, proofs):
    w3, attacker = reenterer
    k = read(build / "settings.json")["sender"]["signal"]
    public = [int(v) for v in read(proofs["honest"] / "public.json")]
    deadline = world.web3.eth.get_block("latest")["timestamp"] + 60
    tx = attacker.functions.post(world.verifier, k, contract.input_commitment(public[:k]), deadline).transact(
        {"value": PAYMENT})
    assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
    request_id = attacker.functions.id().call()
    world.warp(61)
    paid_before = attacker.functions.received().call()
    times_before = attacker.functions.paidTimes().call()
    held = world.balance(world.settlement)
    tx = attacker.functions.attackReclaim().transact()
    assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
    assert attacker.functions.received().call() - paid_before == PAYMENT
    assert attacker.functions.paidTimes().call() == times_before + 1
    assert _error_name(attacker.functions.reclaimAgain().call()) == "AlreadyReclaimed"
    assert _error_name(attacker.functions.fulfilAgain().call()) == "AlreadyReclaimed"
    assert world.balance(world.settlement) == held - PAYMENT
    assert contract.read_request(world.web3, world.settlement, request_id).status == "reclaimed"


@pytest.mark.parametrize("command", ["deploy-settlement", "request", "fulfil", "reclaim"])
def test_settlement_commands_have_help_with_an_example_and_no_key_option(command):
    r = zkml_cli(command, "--help")
    assert r.returncode == 0 and "Example:" in r.stdout and "ZKML_PRIVATE_KEY" in r.stdout
    assert "--private-key" not in r.stdout


# --- a request for a hashed input (issue 13, item 4) ----------------------------


@pytest.fixture(scope="module")
def hashed_build(tmp_path_factory):
    """The digits model compiled with --bind-sender --visibility input=hashed: its
    input's one public signal is a salted Poseidon commitment."""
    build = tmp_path_factory.mktemp("settlement") / "hashed"
    r = zkml_cli("compile", DIGITS / "model.onnx", "-o", build, "--calibration", DIGITS / "calibration.json",
                 "--bind-sender", "--visibility", "input=hashed")
    assert r.returncode == 0, r.stderr
    zkml.api._seeded_setup_for_tests(build, seed=23)
    return build


def _words(values) -> list[bytes]:
    return [int(v).to_bytes(32, "big") for v in values]


def test_a_hashed_input_request_is_fulfilled_with_the_requesters_salts_and_never_shows_the_input(
        world, build, hashed_build, tmp_path):
    settings = read(hashed_build / "settings.json")
    assert settings["sender"]["signal"] == 1  # the commitment, then the sender
    verifier = onchain.deploy_verifier(hashed_build, world.url, world.requester).address

    # The CLI refuses a hashed-input request without a place for its salts, before sending anything.
    request = ("request", hashed_build, DIGITS / "input.json", "--rpc-url", world.url, "--settlement",
               world.settlement, "--verifier", verifier, "--payment", PAYMENT)
    assert_one_line_error(_cli(world.requester.key.hex(), *request), "--salts-out")
    assert_one_line_error(_cli(world.requester.key.hex(), "request", build, DIGITS / "input.json", "--rpc-url",
                               world.url, "--settlement", world.settlement, "--verifier", world.verifier,
                               "--payment", 1, "--salts-out", tmp_path / "x.json"), "no hashed input")
    assert not (tmp_path / "x.json").exists()

    salts_file = tmp_path / "request" / "salts.json"
    r = _cli(world.requester.key.hex(), *request, "--salts-out", salts_file, "--json")
    assert r.returncode == 0, r.stderr
    posted = json.loads(r.stdout)
    request_id = posted["id"]
    assert salts_file.stat().st_mode & 0o777 == 0o600
    doc = read(salts_file)
    assert doc["request"] == request_id and doc["input_commitment"] == posted["input_commitment"]
    (key,) = doc["salts"]
    assert key == "input:input"
    salt = int(doc["salts"][key])

    # On-chain: one input signal, keccak256 of the Poseidon commitment under the requester's salt.
    program = zkml.api.load_build(hashed_build).program
    commitment = input_signals(program, DIGITS / "input.json", [salt])
    assert len(commitment) == 1
    on_chain = contract.read_request(world.web3, world.settlement, request_id)
    assert (on_chain.input_signals, on_chain.input_commitment) == (1, contract.input_commitment(commitment))

    # The prover proves with the requester's salts, through the CLI, and is paid by `zkml fulfil`.
    out = tmp_path / "out"
    r = zkml_cli("prove", hashed_build, DIGITS / "input.json", "-o", out, "--sender", world.prover.address,
                 "--salts", salts_file)
    assert r.returncode == 0, r.stderr
    public = [int(v) for v in read(out / "public.json")]
    assert public[:1] == commitment
    before = world.balance(world.prover.address)
    r = _cli(world.prover.key.hex(), "fulfil", hashed_build, out, "--rpc-url", world.url, "--settlement",
             world.settlement, "--request", request_id, "--json")
    assert r.returncode == 0, r.stderr
    done = json.loads(r.stdout)
    assert world.balance(world.prover.address) == before + PAYMENT - world.fee(done["tx_hash"])
    assert contract.outputs_of(world.web3, world.settlement, request_id) == public[2:]

    # The input never went on-chain: no word of its public packing (what the
    # public-input build commits to) in either transaction's calldata or logs.
    packing = _words(input_signals(zkml.api.load_build(build).program, DIGITS / "input.json"))
    assert len(packing) == 5
    for tx_hash in (posted["tx_hash"], done["tx_hash"]):
        tx = world.web3.eth.get_transaction(tx_hash)
        receipt = world.web3.eth.get_transaction_receipt(tx_hash)
        seen = bytes(tx["input"]) + b"".join(bytes(log["data"]) + b"".join(bytes(t) for t in log["topics"])
                                             for log in receipt["logs"])
        assert not any(word in seen for word in packing)
    assert _words(commitment)[0] in bytes(world.web3.eth.get_transaction(done["tx_hash"])["input"])


def test_a_hashed_input_request_refuses_a_proof_under_another_salt_or_of_another_input(
        world, hashed_build, tmp_path):
    program = zkml.api.load_build(hashed_build).program
    verifier = onchain.deploy_verifier(hashed_build, world.url, world.requester).address
    posted = onchain.post_request(hashed_build, DIGITS / "input.json", world.url, world.requester, world.settlement,
                                  verifier, PAYMENT, 3600)  # salts drawn fresh, and returned
    (salt,) = posted.salts.values()
    assert list(posted.salts) == ["input:input"]
    chosen = onchain.post_request(hashed_build, DIGITS / "input.json", world.url, world.requester, world.settlement,
                                  verifier, PAYMENT, 3600, salts={"input:input": salt})
    assert chosen.salts == posted.salts and chosen.input_commitment == posted.input_commitment

    other_salt, other_input = tmp_path / "other_salt", tmp_path / "other_input"
    zkml.prove(hashed_build, DIGITS / "input.json", other_salt, sender=world.prover.address,
               salts={"input:input": (salt + 1) % FIELD_MODULUS})
    zkml.prove(hashed_build, _other_input(tmp_path), other_input, sender=world.prover.address, salts=posted.salts)
    for out in (other_salt, other_input):
        with pytest.raises(EvmError, match=rf"InputMismatch\(id={posted.id}"):
            world.send_fulfil(world.prover, posted.id, out)
        # Its proof with the request's commitment put in its place: the verifier refuses it.
        public = [int(v) for v in read(out / "public.json")]
        with pytest.raises(EvmError, match=rf"InvalidProof\(id={posted.id}\)"):
            world.send_fulfil(world.prover, posted.id, out, signals=[
                *input_signals(program, DIGITS / "input.json", posted.salts), *public[1:]])
    assert contract.read_request(world.web3, world.settlement, posted.id).status == "open"

    # The salts a request is made with must name every hashed input, and only those.
    with pytest.raises(ArgumentError, match="not a hashed input"):
        onchain.post_request(hashed_build, DIGITS / "input.json", world.url, world.requester, world.settlement,
                             verifier, PAYMENT, 3600, salts={"input:nope": 1})
    with pytest.raises(ArgumentError, match="no salt given"):
        input_signals(program, DIGITS / "input.json")
