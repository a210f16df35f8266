"""`zkml export-verifier`: the Solidity source, its ABI and bytecode, and what
the contract costs, written together or not at all.

The gas figure is measured, not estimated: the compiled contract is deployed
in pyrevm and called with a well-formed proof made of the group generators.
Such a proof fails the pairing check but takes exactly the path of a valid
one (every precompile on BN254 charges a fixed price whatever its operands,
EIP-1108, and the contract branches on nothing else), so its execution gas is
the gas of every valid proof. tests/evm/test_evm.py checks that equality.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from zkml.artifacts import Staging
from zkml.errors import EvmError, InputFileError
from zkml.evm.bn254 import G2_GENERATOR, R
from zkml.evm.calldata import encode_verify_call
from zkml.evm.verifier import (
    CONTRACT_NAME,
    EIP170_LIMIT,
    CompiledContract,
    compile_verifier,
    render_verifier,
)

#: Intrinsic gas of a transaction (EIP-2028 prices) on top of execution gas.
TX_BASE_GAS = 21_000
CALLDATA_NONZERO_BYTE_GAS = 16


@dataclass(frozen=True)
class VerifierCost:
    """What one verifier costs on chain."""

    deployed_bytes: int
    """Runtime code size; EIP-170 caps it at 24,576 bytes."""
    n_public: int
    execution_gas: int
    """verifyProof's own gas (code and precompiles) for any valid proof."""

    @property
    def calldata_bytes(self) -> int:
        return 4 + 32 * (8 + self.n_public)

    @property
    def max_transaction_gas(self) -> int:
        """A verifyProof transaction's gas when no calldata byte is zero (the most it can be)."""
        return TX_BASE_GAS + CALLDATA_NONZERO_BYTE_GAS * self.calldata_bytes + self.execution_gas


@dataclass(frozen=True)
class VerifierExport:
    source: Path
    abi: Path | None
    bytecode: Path | None
    contract_name: str
    cost: VerifierCost | None


def generator_proof() -> list:
    """``[A, B, C]`` as the eight words of ``verifyProof``: A = C = G1's generator
    (1, 2), B = G2's generator (imaginary parts first)."""
    (x_re, x_im), (y_re, y_im) = G2_GENERATOR
    return [1, 2, x_im, x_re, y_im, y_re, 1, 2]


def measure_verifier(contract: CompiledContract, n_public: int) -> VerifierCost:
    """Deploy ``contract`` in pyrevm and measure one verifyProof's execution gas."""
    from zkml.evm.chain import InProcessChain

    chain = InProcessChain()
    address = chain.deploy(contract.bytecode)
    result = chain.call(address, encode_verify_call(generator_proof(), [R - 1] * n_public))
    if not result.success or len(result.output) != 32:
        raise EvmError(f"the compiled verifier did not answer a well-formed proof: {result.failure or result.output.hex()}")
    return VerifierCost(len(contract.deployed_bytecode), n_public, result.execution_gas)


def companion_paths(source: Path) -> tuple[Path, Path]:
    """``Verifier.sol`` -> (``Verifier.abi.json``, ``Verifier.bin``), beside it."""
    return source.with_name(f"{source.stem}.abi.json"), source.with_name(f"{source.stem}.bin")


def export_verifier_files(
    vk: dict,
    output: str | os.PathLike,
    contract_name: str = CONTRACT_NAME,
    *,
    source_only: bool = False,
) -> VerifierExport:
    """Write the verifier for ``vk`` to ``output`` and, unless ``source_only``,
    its ABI (``<stem>.abi.json``) and creation bytecode as hex (``<stem>.bin``),
    compiled with the pinned solc. Everything is rendered, compiled and
    measured before the first byte is written; then the files are renamed
    into place together, so a failure leaves none of them (and no folder
    that this call created).
    """
    output = Path(output)
    source = render_verifier(vk, contract_name)
    n_public = len(vk["IC"]) - 1  # render_verifier checked the key
    files = {output.name: source.encode()}
    abi_path = bin_path = None
    cost = None
    if not source_only:
        contract = compile_verifier(source, contract_name)
        size = len(contract.deployed_bytecode)
        if size > EIP170_LIMIT:
            raise EvmError(f"the compiled verifier is {size:,} bytes, over EIP-170's {EIP170_LIMIT:,}-byte limit")
        cost = measure_verifier(contract, n_public)
        abi_path, bin_path = companion_paths(output)
        if output in (abi_path, bin_path):
            raise InputFileError(f"{output}: name the Solidity file *.sol", output)
        files[abi_path.name] = (json.dumps(contract.abi, indent=2) + "\n").encode()
        files[bin_path.name] = contract.bytecode.hex().encode()
    with Staging(output.parent) as staging:
        for name, data in files.items():
            staging.write_bytes(name, data)
    return VerifierExport(output, abi_path, bin_path, contract_name, cost)
