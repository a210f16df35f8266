"""circomlibjs's Solidity Poseidon contracts: creation bytecode and ABI.

circomlibjs (npm, pinned in ``contracts/package.json``) generates, for n
inputs, an EVM contract answering ``poseidon(uint256[n]) returns (uint256)``
that hashes exactly as circomlib's ``Poseidon(n)`` template and
:func:`zkml.poseidon.poseidon` do. ``contracts/poseidon_contract.js`` prints
them; this module runs it once per process (``node``, ``contracts/`` and the
installed package are found as for the npm solc, :mod:`zkml.evm.tools`).

circomlibjs 0.1.7 accepts n = 1..8 but its generator keeps the state on the
EVM stack and needs DUP17 from n = 7 on, so it can only build n = 1..6
(iden3/circomlibjs#17): :data:`MAX_INPUTS` is 6 here, and
``zkml/data/ZkmlCommitment.sol`` hashes at most 6 inputs per call.

    contract = poseidon_contract(2)
    address = chain.deploy(contract.bytecode)
    chain.call(address, contract.calldata([1, 2]))  # -> poseidon([1, 2]), 32 bytes
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from zkml.errors import EvmError, ToolMissingError

SCRIPT = "poseidon_contract.js"
PACKAGE = "circomlibjs"
PINNED_VERSION = "0.1.7"
"""The circomlibjs version that ``contracts/package.json`` pins (a test keeps them equal)."""
MAX_INPUTS = 6
"""The most inputs a circomlibjs Poseidon contract can take (see the module's docstring)."""
TIMEOUT_S = 120


@dataclass(frozen=True)
class PoseidonContract:
    """circomlibjs's Poseidon contract for ``n_inputs`` field elements."""

    n_inputs: int
    bytecode: bytes
    """Creation bytecode: deploy it as it is (no constructor arguments)."""
    abi: list[dict[str, Any]] = field(default_factory=list)
    """circomlibjs's ABI: ``poseidon(uint256[n])`` and ``poseidon(bytes32[n])``, both pure."""

    @property
    def signature(self) -> str:
        return f"poseidon(uint256[{self.n_inputs}])"

    def calldata(self, values: Sequence[int]) -> bytes:
        """The call of ``poseidon(uint256[n])`` on ``values`` (n field elements in [0, r))."""
        from zkml.evm.eth import abi_encode, selector

        if len(values) != self.n_inputs:
            raise ValueError(f"the {self.n_inputs}-input Poseidon contract takes {self.n_inputs} values, "
                             f"not {len(values)}")
        return selector(self.signature) + abi_encode([f"uint256[{self.n_inputs}]"], [list(values)])


def poseidon_contract(n_inputs: int) -> PoseidonContract:
    """circomlibjs's Poseidon contract for ``n_inputs`` (1 to :data:`MAX_INPUTS`) inputs."""
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, int) or not 1 <= n_inputs <= MAX_INPUTS:
        raise ValueError(f"circomlibjs builds Poseidon contracts for 1 to {MAX_INPUTS} inputs, not {n_inputs!r}")
    return poseidon_contracts()[n_inputs]


def poseidon_contracts() -> dict[int, PoseidonContract]:
    """Every contract, ``{n: PoseidonContract}`` for n = 1..:data:`MAX_INPUTS`
    (one run of the node script per process)."""
    return dict(_generate()[1])


def circomlibjs_version() -> str:
    """The version of the installed circomlibjs that generated the contracts."""
    return _generate()[0]


@cache
def _generate() -> tuple[str, dict[int, PoseidonContract]]:
    from zkml.evm.tools import contracts_dir, contracts_file, node_executable, require_node_package

    script = contracts_file(SCRIPT)
    require_node_package(PACKAGE)
    command = [node_executable(), str(script), *map(str, range(1, MAX_INPUTS + 1))]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, cwd=str(contracts_dir()),
                                   timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as err:
        raise EvmError(f"{SCRIPT} did not finish within {TIMEOUT_S} s") from err
    except OSError as err:
        raise ToolMissingError(f"cannot run {command[0]}: {err}") from err
    if completed.returncode == 3:
        raise ToolMissingError(completed.stderr.strip())
    if completed.returncode != 0:
        raise EvmError(f"{SCRIPT} failed:\n{completed.stderr.strip()}")
    try:
        printed = json.loads(completed.stdout)
        contracts = {
            int(n): PoseidonContract(
                n_inputs=int(entry["nInputs"]),
                bytecode=bytes.fromhex(str(entry["bytecode"]).removeprefix("0x")),
                abi=list(entry["abi"]),
            )
            for n, entry in printed["contracts"].items()
        }
        version = str(printed["circomlibjs"])
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise EvmError(f"{SCRIPT} printed something that is not its JSON result: {err}") from err
    if sorted(contracts) != list(range(1, MAX_INPUTS + 1)) or any(n != c.n_inputs for n, c in contracts.items()):
        raise EvmError(f"{SCRIPT} printed contracts for {sorted(contracts)} inputs, not 1..{MAX_INPUTS}")
    return version, contracts


LIBRARY_FILE = "ZkmlCommitment.sol"


def library_source() -> str:
    """The Solidity source of ``library ZkmlCommitment``, which recomputes a
    tensor's salted commitment by calling these contracts (package data;
    ``contracts/`` links to it)."""
    from zkml.resources import data_file

    return data_file(LIBRARY_FILE).read_text(encoding="utf-8")
