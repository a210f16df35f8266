"""A real chain through JSON-RPC (web3.py): deploy the verifier, call it, and
send the settlement contract's transactions.

Transactions are signed here, by web3's signing middleware, with a key taken
from ``$ZKML_PRIVATE_KEY`` or from an encrypted keystore file (the password is
asked for, never passed as an argument); the node never holds the key.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkml.errors import EvmError, InputFileError
from zkml.evm.eth import abi_decode, require, selector

PRIVATE_KEY_ENV = "ZKML_PRIVATE_KEY"
RECEIPT_TIMEOUT_S = 120
RPC_TIMEOUT_S = 60

#: Revert data of the verifier's ``error PrecompileFailed()``.
PRECOMPILE_FAILED = "PrecompileFailed()"


def connect(rpc_url: str):
    """A :class:`web3.Web3` for ``rpc_url`` (http(s)://...), checked to answer."""
    web3 = require("web3")
    if not isinstance(rpc_url, str) or not rpc_url.startswith(("http://", "https://")):
        raise EvmError(f"--rpc-url {rpc_url!r}: expected an http:// or https:// JSON-RPC endpoint")
    w3 = web3.Web3(web3.Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": RPC_TIMEOUT_S}))
    if not w3.is_connected():
        raise EvmError(f"no JSON-RPC node answers at {rpc_url}")
    return w3


def checksum_address(address: str) -> str:
    web3 = require("web3")
    if not isinstance(address, str) or not web3.Web3.is_address(address):
        raise EvmError(f"{address!r} is not an Ethereum address (0x and 40 hex digits, checksummed if mixed-case)")
    return web3.Web3.to_checksum_address(address)


def load_account(keystore: Path | None = None, password: Callable[[], str] | None = None):
    """The signing account: decrypted from ``keystore`` with ``password()``, or,
    without a keystore, from ``$ZKML_PRIVATE_KEY`` (hex, 0x optional). Error
    messages never contain the key."""
    account_cls = require("eth_account").Account
    if keystore is not None:
        keystore = Path(keystore)
        try:
            document = keystore.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputFileError(f"keystore not found: {keystore}", keystore) from None
        except (OSError, UnicodeDecodeError) as err:
            raise InputFileError(f"cannot read keystore {keystore}: {err}", keystore) from None
        secret = password() if password is not None else ""
        try:
            key = account_cls.decrypt(document, secret)
        except ValueError as err:
            text = str(err)
            reason = "wrong password" if "MAC mismatch" in text else f"not a keystore file ({text})"
            raise InputFileError(f"cannot decrypt keystore {keystore}: {reason}", keystore) from None
        return account_cls.from_key(key)
    value = os.environ.get(PRIVATE_KEY_ENV, "").strip()
    if not value:
        raise EvmError(f"no signing key: set {PRIVATE_KEY_ENV} (hex private key) or pass --keystore FILE")
    try:
        return account_cls.from_key(value)
    except (ValueError, TypeError):
        raise EvmError(f"{PRIVATE_KEY_ENV} is not a 32-byte hex private key") from None


def signing_web3(rpc_url: str, account):
    """``connect(rpc_url)`` with transactions from ``account.address`` signed locally."""
    middleware = require("web3.middleware")
    w3 = connect(rpc_url)
    w3.middleware_onion.inject(middleware.SignAndSendRawMiddlewareBuilder.build(account), layer=0)
    w3.eth.default_account = account.address
    return w3


def _rpc_message(err: Exception) -> str:
    message = getattr(err, "message", None) or (err.args[0] if err.args else str(err))
    if isinstance(message, dict):
        message = message.get("message", str(message))
    return str(message).splitlines()[0] if str(message) else type(err).__name__


def revert_data(err: Exception) -> bytes:
    """The revert data a :class:`web3.exceptions.ContractLogicError` carries."""
    data = getattr(err, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return b""
    return bytes(data) if isinstance(data, (bytes, bytearray)) else b""


def transact(w3, tx: dict) -> Any:
    """Send ``tx`` from the signing account, wait for its receipt, and insist it succeeded."""
    exceptions = require("web3.exceptions")
    try:
        tx_hash = w3.eth.send_transaction(tx)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S)
    except exceptions.ContractLogicError as err:
        raise EvmError(f"the transaction would revert: {_rpc_message(err)}") from None
    except exceptions.TimeExhausted:
        raise EvmError(f"no receipt within {RECEIPT_TIMEOUT_S} s") from None
    except (exceptions.Web3Exception, ValueError, OSError) as err:
        raise EvmError(f"the node refused the transaction: {_rpc_message(err)}") from None
    if receipt["status"] != 1:
        raise EvmError(f"transaction {receipt['transactionHash'].hex()} reverted (gas used {receipt['gasUsed']:,})")
    return receipt


@dataclass(frozen=True)
class Deployment:
    address: str
    tx_hash: str
    gas_used: int
    chain_id: int
    deployer: str


def deploy_contract(w3, bytecode: bytes, runtime: bytes | None = None) -> Deployment:
    """Deploy creation ``bytecode`` from ``w3.eth.default_account``; with
    ``runtime``, check that the code left at the new address is exactly it."""
    receipt = transact(w3, {"data": "0x" + bytes(bytecode).hex()})
    address = receipt["contractAddress"]
    if not address:
        raise EvmError("the deployment transaction created no contract")
    code = bytes(w3.eth.get_code(address))
    if runtime is not None and code != bytes(runtime):
        raise EvmError(f"the code at {address} is not the compiled verifier's ({len(code)} bytes)")
    return Deployment(address, receipt["transactionHash"].hex(), int(receipt["gasUsed"]), int(w3.eth.chain_id),
                      w3.eth.default_account)


@dataclass(frozen=True)
class OnchainVerdict:
    valid: bool
    gas: int
    """eth_estimateGas of the verifyProof transaction (intrinsic gas included)."""
    chain_id: int


def call_verifier(w3, address: str, calldata: bytes) -> OnchainVerdict:
    """``verifyProof`` at ``address`` with eth_call, and its eth_estimateGas.

    A PrecompileFailed revert (B not in G2: the pairing precompile cannot
    check it) is an :class:`EvmError` saying so, not a verdict.
    """
    exceptions = require("web3.exceptions")
    address = checksum_address(address)
    if not bytes(w3.eth.get_code(address)):
        raise EvmError(f"there is no contract at {address} on chain {w3.eth.chain_id}")
    call = {"to": address, "data": "0x" + bytes(calldata).hex()}
    try:
        answer = bytes(w3.eth.call(call))
        gas = int(w3.eth.estimate_gas(call))
    except exceptions.ContractLogicError as err:
        if revert_data(err)[:4] == selector(PRECOMPILE_FAILED):
            raise EvmError(
                "the verifier reverted with PrecompileFailed(): the pairing precompile refused the proof "
                "(B is not a point of G2)"
            ) from None
        raise EvmError(f"the call to {address} reverted: {_rpc_message(err)} (is it this build's verifier?)") from None
    except (exceptions.Web3Exception, ValueError, OSError) as err:
        raise EvmError(f"the node could not run the call: {_rpc_message(err)}") from None
    if len(answer) != 32 or int.from_bytes(answer, "big") > 1:
        raise EvmError(f"{address} answered {answer.hex() or 'nothing'}, not a bool: is it a verifier?")
    (valid,) = abi_decode(["bool"], answer)
    return OnchainVerdict(bool(valid), gas, int(w3.eth.chain_id))
