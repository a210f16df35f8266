"""Finding and running the Solidity compiler.

Where solc comes from, first match wins:

1. ``$ZKML_SOLC``: a solc executable (the native ``solc`` or npm's ``solcjs``);
2. a checkout's pinned npm package (``contracts/node_modules/solc``, put there
   by ``npm ci``), run through ``node contracts/compile.js``;
3. ``solc`` or ``solcjs`` on ``PATH`` (``npm install -g solc@0.8.37`` gives
   ``solcjs``): what an installed wheel uses.

Every route compiles through solc's standard-JSON interface with the same
fixed settings as ``contracts/compile.js`` (optimizer on, 200 runs, EVM
version "paris") and the same source name, so the pinned version gives the
same bytecode on every route. Another solc version still works; its version
is reported in the result's ``compiler`` field.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from typing import Any

from zkml.errors import EvmError, ToolMissingError

PINNED_VERSION = "0.8.37"
"""The solc version that ``contracts/package.json`` pins (a test keeps them equal)."""
SOLC_ENV = "ZKML_SOLC"
EVM_VERSION = "paris"
OPTIMIZER_RUNS = 200
SOURCE_NAME = "<stdin>.sol"  # compile.js's name for a source read from stdin
TIMEOUT_S = 300

HOW_TO_GET_SOLC = (
    f"install it with `npm install -g solc@{PINNED_VERSION}` (puts `solcjs` on PATH; needs Node.js), "
    f"or set {SOLC_ENV} to a solc {PINNED_VERSION} executable; in a checkout, `npm ci` in contracts/ "
    "(or `make install`) installs the pinned one"
)


@dataclass(frozen=True)
class Solc:
    """A way to run solc: ``command`` reads standard JSON on stdin (``--standard-json``),
    or, for the checkout's npm package, is ``node compile.js``."""

    command: tuple[str, ...]
    origin: str
    """Where it was found: "$ZKML_SOLC", "contracts/node_modules" or "PATH"."""
    via_compile_js: bool = False


def find_solc() -> Solc:
    """The solc to use (see the module's docstring for the order), or a
    :class:`ToolMissingError` that says how to get one."""
    from zkml.evm.tools import contracts_dir, contracts_file, node_executable

    override = os.environ.get(SOLC_ENV)
    if override:
        resolved = shutil.which(override)
        if resolved is None:
            raise ToolMissingError(f"{SOLC_ENV}={override} is not an executable solc or solcjs; {HOW_TO_GET_SOLC}")
        return Solc((resolved, "--standard-json"), f"${SOLC_ENV}")
    if (contracts_dir() / "node_modules" / "solc" / "package.json").is_file():
        return Solc((node_executable(), str(contracts_file("compile.js"))), "contracts/node_modules", True)
    for name in ("solc", "solcjs"):
        found = shutil.which(name)
        if found is not None:
            return Solc((found, "--standard-json"), "PATH")
    raise ToolMissingError(f"solc (the Solidity compiler) not found: {HOW_TO_GET_SOLC}")


def compile_solidity(source: str, contract_name: str) -> dict[str, Any]:
    """Compile one self-contained Solidity source and return
    ``{contractName, abi, bytecode, deployedBytecode, methodIdentifiers, compiler}``
    (what ``contracts/compile.js`` prints). Compile errors are an
    :class:`EvmError` carrying solc's messages."""
    solc = find_solc()
    if solc.via_compile_js:
        return _run_compile_js(solc, source, contract_name)
    return _run_standard_json(solc, source, contract_name)


def _run(command: tuple[str, ...], stdin: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(list(command), input=stdin, capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as err:
        raise EvmError(f"solc did not finish within {TIMEOUT_S} s") from err
    except OSError as err:
        raise ToolMissingError(f"cannot run {command[0]}: {err}; {HOW_TO_GET_SOLC}") from err


def _run_compile_js(solc: Solc, source: str, contract_name: str) -> dict[str, Any]:
    from zkml.evm.tools import contracts_dir

    completed = _run((*solc.command, "--contract", contract_name, "-"), source, cwd=str(contracts_dir()))
    if completed.returncode == 3:
        raise ToolMissingError(completed.stderr.strip())
    if completed.returncode != 0:
        raise EvmError(f"solc failed to compile {contract_name}:\n{completed.stderr.strip()}")
    try:
        return json.loads(completed.stdout)
    except ValueError as err:
        raise EvmError(f"compile.js printed something that is not its JSON result: {err}") from err


def _standard_input(source: str) -> dict[str, Any]:
    return {
        "language": "Solidity",
        "sources": {SOURCE_NAME: {"content": source}},
        "settings": {
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "evmVersion": EVM_VERSION,
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"]}
            },
        },
    }


def _run_standard_json(solc: Solc, source: str, contract_name: str) -> dict[str, Any]:
    completed = _run(solc.command, json.dumps(_standard_input(source)))
    text = completed.stdout
    try:
        output = json.loads(text[text.index("{"):])
    except ValueError:
        detail = (completed.stderr.strip() or text.strip() or f"exit status {completed.returncode}").splitlines()[0]
        raise EvmError(f"{solc.command[0]} ({solc.origin}) gave no standard-JSON output: {detail}") from None
    messages = [d.get("formattedMessage") or d.get("message", "") for d in output.get("errors", [])]
    if any(d.get("severity") == "error" for d in output.get("errors", [])):
        raise EvmError(f"solc failed to compile {contract_name}:\n" + "\n".join(m.strip() for m in messages))
    contract = output.get("contracts", {}).get(SOURCE_NAME, {}).get(contract_name)
    if contract is None:
        found = ", ".join(output.get("contracts", {}).get(SOURCE_NAME, {})) or "none"
        raise EvmError(f"solc: no contract named {contract_name} in the source (found: {found})")
    if not contract["evm"]["bytecode"]["object"]:
        raise EvmError(f"solc: {contract_name} is abstract or an interface; it has no bytecode")
    return {
        "contractName": contract_name,
        "abi": contract["abi"],
        "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
        "methodIdentifiers": contract["evm"].get("methodIdentifiers", {}),
        "compiler": {
            "solc": _version(solc.command[0]),
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "found": solc.origin,
        },
    }


@cache
def _version(executable: str) -> str:
    completed = _run((executable, "--version"), "")
    match = re.search(r"\d+\.\d+\.\d+\S*", completed.stdout)
    return match.group(0) if match else "unknown"
