"""The Ethereum Python libraries zkml relies on, imported only when needed.

Keccak-256 comes from eth-hash, ABI encoding and decoding from eth-abi,
function selectors from eth-utils, and RPC, signing and receipts from web3.py
(all installed by ``pip install 'zkml[evm]'``). The core install (compile,
setup, prove, verify, export-verifier's Solidity source) does not need them,
so nothing here is imported at ``import zkml`` time.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from zkml.errors import EvmError, ToolMissingError

INSTALL_HINT = "pip install 'zkml[evm]'"


def require(module: str) -> Any:
    """Import ``module`` (one of the Ethereum libraries) or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ToolMissingError(
            f"the Python package that provides `{module}` is not installed: zkml's on-chain "
            f"commands use web3.py, eth-abi and eth-hash; {INSTALL_HINT}"
        ) from err


def keccak256(data: bytes) -> bytes:
    """Ethereum's Keccak-256 (the original padding, not SHA3-256)."""
    return require("eth_hash.auto").keccak(bytes(data))


def selector(signature: str) -> bytes:
    """The 4-byte function (or error) selector of a canonical signature such as
    ``verifyProof(uint256[8],uint256[3])``."""
    return bytes(require("eth_utils").function_signature_to_4byte_selector(signature))


def abi_encode(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """ABI-encode ``values`` as ``types``; a value that does not fit is an :class:`EvmError`."""
    eth_abi = require("eth_abi")
    try:
        return bytes(eth_abi.encode(list(types), list(values)))
    except (eth_abi.exceptions.EncodingError, TypeError, ValueError) as err:
        raise EvmError(f"calldata: {err}") from err


def abi_decode(types: Sequence[str], data: bytes) -> tuple:
    eth_abi = require("eth_abi")
    try:
        return tuple(eth_abi.decode(list(types), bytes(data)))
    except (eth_abi.exceptions.DecodingError, TypeError, ValueError) as err:
        raise EvmError(f"cannot decode {list(types)} from {bytes(data).hex() or 'empty data'}: {err}") from err
