"""The settlement contract (``zkml/data/ZkmlSettlement.sol``, linked from
``contracts/``) through JSON-RPC: deploy it, post a request, fulfil it with a
proof, reclaim an expired one, and read what it recorded.

Calldata and logs are encoded and decoded with eth-abi; a transaction that
would revert is stopped at ``eth_estimateGas`` and reported by the contract's
own error name and arguments (``AlreadyFulfilled(id=1)``), decoded with the
compiled ABI.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from zkml.errors import EvmError
from zkml.evm.eth import abi_decode, abi_encode, keccak256, require, selector
from zkml.evm.rpc import (
    Deployment,
    _rpc_message,
    checksum_address,
    deploy_contract,
    revert_data,
    transact,
)
from zkml.evm.verifier import CompiledContract, compile_verifier

CONTRACT_NAME = "ZkmlSettlement"
SOURCE_FILE = "ZkmlSettlement.sol"
ARTIFACT_FILE = "ZkmlSettlement.json"
STATUS = ("none", "open", "fulfilled", "reclaimed")
REQUEST_TYPES = ("address", "uint64", "uint16", "uint8", "address", "uint96", "bytes32", "address")
REQUESTED_EVENT = "Requested(uint256,address,address,bytes32,uint16,uint256,uint64)"
FULFILLED_EVENT = "Fulfilled(uint256,address,uint256[])"
# Errors a fulfil can carry up from the verifier it calls.
VERIFIER_ERRORS = ("PrecompileFailed()",)


def settlement_source() -> str:
    from zkml.resources import data_file

    return data_file(SOURCE_FILE).read_text(encoding="utf-8")


def compile_settlement() -> CompiledContract:
    """ZkmlSettlement compiled now, with the solc that zkml.solc finds."""
    return compile_verifier(settlement_source(), CONTRACT_NAME)


def _artifact(contract: CompiledContract) -> dict:
    return {"contractName": CONTRACT_NAME, "abi": contract.abi, "bytecode": contract.bytecode.hex(),
            "deployedBytecode": contract.deployed_bytecode.hex(), "compiler": contract.compiler}


@lru_cache(maxsize=1)
def settlement_contract() -> CompiledContract:
    """ZkmlSettlement as compiled by the pinned solc with zkml's fixed settings,
    shipped beside its source (ZkmlSettlement.json), so that deploying and
    using it needs no compiler. tests/evm/test_settlement.py checks that the
    pinned solc still gives exactly these bytes; `python -m zkml.evm.settlement`
    writes them again."""
    from zkml.resources import data_file

    doc = json.loads(data_file(ARTIFACT_FILE).read_text(encoding="utf-8"))
    return CompiledContract(abi=doc["abi"], bytecode=bytes.fromhex(doc["bytecode"]),
                            deployed_bytecode=bytes.fromhex(doc["deployedBytecode"]), compiler=doc["compiler"])


def input_commitment(input_signals: Sequence[int]) -> bytes:
    """What a request commits to: keccak256 of the input signals as 32-byte
    big-endian words (Solidity's ``keccak256(abi.encodePacked(uint256[]))``)."""
    return keccak256(b"".join(int(v).to_bytes(32, "big") for v in input_signals))


def _error_table() -> dict[bytes, tuple[str, list[str], list[str]]]:
    table = {}
    for entry in settlement_contract().abi:
        if entry.get("type") == "error":
            types = [i["type"] for i in entry["inputs"]]
            table[selector(f"{entry['name']}({','.join(types)})")] = (
                entry["name"], [i["name"] for i in entry["inputs"]], types)
    for signature in VERIFIER_ERRORS:
        table[selector(signature)] = (signature.split("(")[0], [], [])
    return table


def describe_revert(data: bytes) -> str:
    """``Name(arg=value, ...)`` for revert data of the settlement contract (or of
    the verifier it called); the raw hex for anything else."""
    known = _error_table().get(bytes(data[:4]))
    if known is None:
        return f"revert data 0x{bytes(data).hex()}" if data else "a revert without data"
    name, names, types = known
    try:
        values = abi_decode(types, bytes(data[4:]))
    except EvmError:
        return name
    shown = []
    for arg, kind, value in zip(names, types, values):
        if kind == "address":
            value = require("web3").Web3.to_checksum_address(value)
        elif kind == "bytes32":
            value = "0x" + bytes(value).hex()
        elif kind == "uint256" and value >= 2**64:
            value = hex(value)
        shown.append(f"{arg}={value}")
    return f"{name}({', '.join(shown)})"


def _send(w3, to: str, data: bytes, value: int = 0) -> Any:
    """Estimate (naming the contract's error if it would revert), then send and wait for the receipt."""
    exceptions = require("web3.exceptions")
    tx = {"to": to, "data": "0x" + data.hex(), "value": int(value), "from": w3.eth.default_account}
    try:
        tx["gas"] = int(w3.eth.estimate_gas(tx))
    except exceptions.ContractLogicError as err:
        raise EvmError(f"the settlement contract refuses: {describe_revert(revert_data(err))}") from None
    except (exceptions.Web3Exception, ValueError, OSError) as err:
        raise EvmError(f"the node refused the transaction: {_rpc_message(err)}") from None
    return transact(w3, tx)


def _call(w3, to: str, data: bytes) -> bytes:
    exceptions = require("web3.exceptions")
    try:
        return bytes(w3.eth.call({"to": to, "data": "0x" + data.hex()}))
    except exceptions.ContractLogicError as err:
        raise EvmError(f"the settlement contract refuses: {describe_revert(revert_data(err))}") from None
    except (exceptions.Web3Exception, ValueError, OSError) as err:
        raise EvmError(f"the node could not run the call: {_rpc_message(err)}") from None


def _settlement_at(w3, address: str) -> str:
    address = checksum_address(address)
    code = bytes(w3.eth.get_code(address))
    if code != settlement_contract().deployed_bytecode:
        what = "no contract" if not code else "another contract"
        raise EvmError(f"{address} holds {what}, not zkml's settlement contract (zkml deploy-settlement)")
    return address


def deploy_settlement(w3) -> Deployment:
    contract = settlement_contract()
    return deploy_contract(w3, contract.bytecode, contract.deployed_bytecode)


@dataclass(frozen=True)
class SettlementRequest:
    id: int
    requester: str
    deadline: int
    input_signals: int
    status: str
    verifier: str
    payment: int
    input_commitment: bytes
    prover: str | None


def read_request(w3, settlement: str, request_id: int) -> SettlementRequest:
    settlement = _settlement_at(w3, settlement)
    answer = _call(w3, settlement, selector("requestOf(uint256)") + abi_encode(["uint256"], [request_id]))
    fields = abi_decode(list(REQUEST_TYPES), answer)
    requester, deadline, k, status, verifier, payment, commitment, prover = fields
    web3 = require("web3")
    return SettlementRequest(int(request_id), web3.Web3.to_checksum_address(requester), int(deadline), int(k),
                             STATUS[status], web3.Web3.to_checksum_address(verifier), int(payment), bytes(commitment),
                             None if int(prover, 16) == 0 else web3.Web3.to_checksum_address(prover))


def outputs_of(w3, settlement: str, request_id: int) -> list[int]:
    """The output signals that the fulfilment of ``request_id`` recorded."""
    settlement = _settlement_at(w3, settlement)
    answer = _call(w3, settlement, selector("outputsOf(uint256)") + abi_encode(["uint256"], [request_id]))
    return list(abi_decode(["uint256[]"], answer)[0])


def _log_of(receipt, settlement: str, event: str):
    topic = keccak256(event.encode())
    for log in receipt["logs"]:
        if log["address"] == settlement and bytes(log["topics"][0]) == topic:
            return log
    raise EvmError(f"transaction {receipt['transactionHash'].hex()} emitted no {event.split('(')[0]} event")


@dataclass(frozen=True)
class Posted:
    id: int
    deadline: int
    input_commitment: bytes
    tx_hash: str
    gas_used: int
    # The salts of the model's hashed inputs ("input:NAME" -> salt) that the
    # request's commitment was made with: the prover needs them (zkml.onchain.post_request).
    salts: dict[str, int] = field(default_factory=dict)


def post_request(w3, settlement: str, verifier: str, input_signals: Sequence[int], payment: int,
                 deadline: int) -> Posted:
    """Post a request for the model whose verifier is at ``verifier``, on the
    input whose public signals are ``input_signals``, paying ``payment`` wei to
    whoever fulfils it by unix time ``deadline``."""
    settlement = _settlement_at(w3, settlement)
    verifier = checksum_address(verifier)
    if not 0 < len(input_signals) < 2**16:
        raise EvmError(f"a request takes 1 to 65,535 input signals, got {len(input_signals)}")
    if isinstance(payment, bool) or not isinstance(payment, int) or not 0 <= payment < 2**96:
        raise EvmError(f"payment must be a whole number of wei in [0, 2^96), got {payment!r}")
    commitment = input_commitment(input_signals)
    data = selector("request(address,uint16,bytes32,uint64)") + abi_encode(
        ["address", "uint16", "bytes32", "uint64"], [verifier, len(input_signals), commitment, int(deadline)])
    receipt = _send(w3, settlement, data, payment)
    log = _log_of(receipt, settlement, REQUESTED_EVENT)
    return Posted(int.from_bytes(bytes(log["topics"][1]), "big"), int(deadline), commitment,
                  receipt["transactionHash"].hex(), int(receipt["gasUsed"]))


@dataclass(frozen=True)
class Fulfilment:
    id: int
    prover: str
    payment: int
    output_signals: list
    tx_hash: str
    gas_used: int


def fulfil(w3, settlement: str, request_id: int, proof8: Sequence[int], signals: Sequence[int]) -> Fulfilment:
    """Fulfil ``request_id`` from the signing account with a proof made for its address."""
    settlement = _settlement_at(w3, settlement)
    request = read_request(w3, settlement, request_id)
    data = selector("fulfil(uint256,uint256[8],uint256[])") + abi_encode(
        ["uint256", "uint256[8]", "uint256[]"], [int(request_id), list(proof8), list(signals)])
    receipt = _send(w3, settlement, data)
    log = _log_of(receipt, settlement, FULFILLED_EVENT)
    (outputs,) = abi_decode(["uint256[]"], bytes(log["data"]))
    return Fulfilment(int(request_id), w3.eth.default_account, request.payment, list(outputs),
                      receipt["transactionHash"].hex(), int(receipt["gasUsed"]))


@dataclass(frozen=True)
class Reclaim:
    id: int
    payment: int
    tx_hash: str
    gas_used: int


def reclaim(w3, settlement: str, request_id: int) -> Reclaim:
    """Take back the payment of an expired, unfulfilled request (the requester's account only)."""
    settlement = _settlement_at(w3, settlement)
    request = read_request(w3, settlement, request_id)
    receipt = _send(w3, settlement, selector("reclaim(uint256)") + abi_encode(["uint256"], [int(request_id)]))
    return Reclaim(int(request_id), request.payment, receipt["transactionHash"].hex(), int(receipt["gasUsed"]))


if __name__ == "__main__":  # python -m zkml.evm.settlement: write ZkmlSettlement.json from the source
    from zkml.artifacts import write_atomic
    from zkml.resources import data_dir

    write_atomic(data_dir() / ARTIFACT_FILE, (json.dumps(_artifact(compile_settlement()), indent=1) + "\n").encode())
