"""An in-process EVM (pyrevm) to deploy the verifier and measure real gas.

Gas figures are what a transaction receipt's ``gasUsed`` would say on a
Shanghai-rules chain: pyrevm 0.3.7 runs every ``message_call`` as a full
transaction through revm and reports ``ExecutionResult.gas_used``, which is the
transaction's gas *including* the 21,000 intrinsic cost and the calldata cost
(4 gas per zero byte, 16 per non-zero byte), after refunds (a verifier has
none). :attr:`CallResult.execution_gas` subtracts that intrinsic part, which
we compute from the calldata with the same rules, leaving what the contract's
code and the precompiles it calls spent. Nothing here is an estimate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from zkml.errors import EvmError, ToolMissingError
from zkml.evm.calldata import encode_snarkjs_verify_call, encode_verify_call

TX_BASE_GAS = 21_000
CALLDATA_ZERO_BYTE_GAS = 4
CALLDATA_NONZERO_BYTE_GAS = 16

#: Ethereum mainnet's block gas limit, a realistic cap for one call: a failing
#: precompile burns all the gas it was given (63/64 of what is left), so with
#: pyrevm's default of 2^64 - 1 a rejected proof would "cost" 10^19 gas.
DEFAULT_GAS_LIMIT = 30_000_000

_DEFAULT_SENDER = "0x" + "5a" * 20
_OUTPUT = re.compile(r"output: 0x([0-9a-fA-F]*)")


def intrinsic_gas(calldata: bytes) -> int:
    """The gas a call transaction pays before any code runs (no access list)."""
    zeros = calldata.count(0)
    return TX_BASE_GAS + CALLDATA_ZERO_BYTE_GAS * zeros + CALLDATA_NONZERO_BYTE_GAS * (len(calldata) - zeros)


@dataclass(frozen=True)
class CallResult:
    """One call, run as a transaction."""

    success: bool  # False when the call reverted or halted (out of gas, bad opcode...)
    output: bytes  # return data, or revert data when it reverted
    gas_used: int  # transaction gas, intrinsic included (a receipt's gasUsed)
    intrinsic_gas: int
    failure: str = ""  # pyrevm's description of the revert or halt

    @property
    def execution_gas(self) -> int:
        """Gas spent by the code (and the precompiles it called), intrinsic cost excluded."""
        return self.gas_used - self.intrinsic_gas


def _bytes(code: bytes | str) -> bytes:
    if isinstance(code, str):
        try:
            return bytes.fromhex(code[2:] if code.startswith("0x") else code)
        except ValueError as err:
            raise EvmError(f"bytecode is not hex: {err}") from err
    return bytes(code)


def _decode_bool(output: bytes) -> bool:
    if len(output) != 32 or int.from_bytes(output, "big") not in (0, 1):
        raise EvmError(f"the verifier returned {output.hex() or 'nothing'}, not an ABI bool")
    return output[-1] == 1


class InProcessChain:
    """A throw-away chain in this process. Each call is its own transaction."""

    def __init__(self, gas_limit: int = DEFAULT_GAS_LIMIT, spec_id: str = "SHANGHAI"):
        try:
            import pyrevm
        except ImportError as err:
            raise ToolMissingError(
                "pyrevm is not installed: it runs the in-process EVM; pip install 'zkml[evm]'"
            ) from err
        self.gas_limit = gas_limit
        self.sender = _DEFAULT_SENDER
        self._evm = pyrevm.EVM(spec_id=spec_id)
        self._evm.set_balance(self.sender, 10**24)
        self._deployment_gas: dict[str, int] = {}

    def deploy(self, bytecode: bytes | str) -> str:
        """Deploy creation ``bytecode``; returns the new contract's address (0x-hex)."""
        try:
            address = self._evm.deploy(self.sender, _bytes(bytecode), gas=self.gas_limit)
        except RuntimeError as err:
            raise EvmError(f"deployment failed: {err}") from err
        if not self._evm.get_code(address):
            raise EvmError("deployment ran but left no code at the new address")
        result = self._evm.result
        self._deployment_gas[address] = result.gas_used if result is not None else 0
        return address

    def deployment_gas(self, address: str) -> int:
        """Transaction gas of the deployment of ``address`` (intrinsic and code deposit included)."""
        return self._deployment_gas[address]

    def call(self, address: str, calldata: bytes, gas: int | None = None) -> CallResult:
        """Run ``calldata`` against ``address`` as a transaction with ``gas``
        (default: the chain's limit) and report its gas."""
        intrinsic = intrinsic_gas(calldata)
        try:
            output = self._evm.message_call(self.sender, address, calldata, gas=self.gas_limit if gas is None else gas)
        except RuntimeError as err:
            text = str(err)
            if not text.startswith(("Revert", "Halt")):
                raise EvmError(f"the EVM could not run the call: {text}") from err
            match = _OUTPUT.search(text)
            return CallResult(
                success=False,
                output=bytes.fromhex(match.group(1)) if match else b"",
                gas_used=self._gas_used(),
                intrinsic_gas=intrinsic,
                failure=text,
            )
        return CallResult(True, bytes(output), self._gas_used(), intrinsic)

    def _gas_used(self) -> int:
        """Gas of the message call just made."""
        result = self._evm.result
        assert result is not None, "pyrevm records the result of every message call"
        return result.gas_used

    def _verify(self, address: str, calldata: bytes) -> tuple[bool, int]:
        result = self.call(address, calldata)
        if not result.success:
            raise EvmError(f"the verifier call failed instead of returning a bool: {result.failure}")
        return _decode_bool(result.output), result.gas_used

    def verify(self, address: str, proof8: Sequence[int], inputs: Sequence[int]) -> tuple[bool, int]:
        """``verifyProof(uint256[8], uint256[N])``: (the verdict, transaction gas).

        A verifier reverts only when a precompile call fails (out of gas, or
        B not in G2) or for a call it has no function for (another number of
        inputs); a revert raises :class:`EvmError`.
        """
        return self._verify(address, encode_verify_call(proof8, inputs))

    def verify_snarkjs(
        self,
        address: str,
        a: Sequence[int],
        b: Sequence[Sequence[int]],
        c: Sequence[int],
        inputs: Sequence[int],
    ) -> tuple[bool, int]:
        """The snarkjs-style overload; ``b`` is ``[[x_c1, x_c0], [y_c1, y_c0]]``."""
        return self._verify(address, encode_snarkjs_verify_call(a, b, c, inputs))
