"""The on-chain half of the Python API: what `zkml export-verifier`, `calldata`,
`deploy` and `verify --onchain` do, over a build and a proof directory.

    from zkml import onchain
    export = onchain.export_contract("build", "Verifier.sol")   # + .abi.json, .bin, cost
    data = onchain.calldata("out")                              # verifyProof calldata
    account = onchain.load_account()                            # $ZKML_PRIVATE_KEY
    deployed = onchain.deploy_verifier("build", "http://127.0.0.1:8545", account)
    verdict = onchain.verify_onchain("build", "out", "http://127.0.0.1:8545", deployed.address)
    layout = onchain.output_layout("build")   # where outputs sit in the signals (ZkmlOutputs.sol)

    # Settlement (a build compiled with bind_sender=True; contracts/ZkmlSettlement.sol):
    settlement = onchain.deploy_settlement(url, account).address
    posted = onchain.post_request("build", "input.json", url, requester, settlement, verifier, payment_wei,
                                  deadline_in_s=3600)
    zkml.prove("build", "input.json", "out", sender=prover.address, salts=posted.salts)  # salts: hashed input
    paid = onchain.fulfil("build", "out", url, prover, settlement, posted.id)
    onchain.reclaim(url, requester, settlement, request_id)   # after the deadline, if nobody fulfilled it

Needs ``pip install 'zkml[evm]'`` (web3.py, pyrevm) and node with the pinned
npm packages in ``contracts/`` (solc).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from zkml import artifacts
from zkml.artifacts import check_hash, read_json, require_dir
from zkml.errors import EvmError, InputFileError
from zkml.evm.calldata import encode_verify_call, proof_calldata
from zkml.evm.export import VerifierExport, export_verifier_files
from zkml.evm.outputs import OutputLayout
from zkml.evm.outputs import output_layout as layout_of
from zkml.evm.rpc import Deployment, OnchainVerdict, call_verifier, deploy_contract, load_account, signing_web3
from zkml.evm.verifier import CONTRACT_NAME, compile_verifier, render_verifier

if TYPE_CHECKING:
    from zkml.evm.settlement import Fulfilment, Posted, Reclaim

__all__ = [
    "calldata",
    "deploy_settlement",
    "deploy_verifier",
    "export_contract",
    "fulfil",
    "load_account",
    "output_layout",
    "post_request",
    "reclaim",
    "verify_onchain",
]


def _verification_key(build_dir: str | Path) -> dict:
    d = require_dir(Path(build_dir), "build directory", "run `zkml compile` and `zkml setup` first")
    vk = read_json(d / artifacts.VERIFICATION_KEY, "verification key")
    if not isinstance(vk, dict):
        raise InputFileError(f"{d / artifacts.VERIFICATION_KEY} must be a JSON object")
    return vk


def _proof_and_public(out_dir: str | Path, vk: dict | None = None) -> tuple[dict, Any]:
    out = require_dir(Path(out_dir), "proof directory", "run `zkml prove` first")
    proof = read_json(out / artifacts.PROOF, "proof")
    public = read_json(out / artifacts.PUBLIC, "public inputs")
    if not isinstance(proof, dict):
        raise InputFileError(f"{out / artifacts.PROOF} must be a JSON object")
    if vk is not None:
        expected = vk.get("circuit_hash")
        if expected is not None:
            check_hash(proof.get("circuit_hash"), expected, f"proof {out / artifacts.PROOF}")
        n_public = len(vk.get("IC", [])) - 1
        if isinstance(public, list) and len(public) != n_public:
            raise InputFileError(f"{out / artifacts.PUBLIC} holds {len(public)} public signals; "
                                 f"this build's verifier takes {n_public}")
    return proof, public


def export_contract(
    build_dir: str | Path,
    output: str | Path,
    name: str = CONTRACT_NAME,
    *,
    source_only: bool = False,
) -> VerifierExport:
    """Write ``output`` (Solidity), ``<stem>.abi.json`` and ``<stem>.bin``
    (creation bytecode, hex) for the build's verifying key, and measure the
    contract's size and gas (``source_only``: the Solidity file alone)."""
    return export_verifier_files(_verification_key(build_dir), output, name, source_only=source_only)


def output_layout(build_dir: str | Path) -> list[OutputLayout]:
    """Where each model output sits in the public signals: the arguments of
    ``ZkmlOutputs.unpack`` (contracts/ZkmlOutputs.sol) and its scale."""
    from zkml.api import load_build

    return layout_of(load_build(build_dir).program)


def calldata(out_dir: str | Path) -> bytes:
    """ABI calldata of ``verifyProof(uint256[8], uint256[N])`` for OUT's proof."""
    proof, public = _proof_and_public(out_dir)
    return encode_verify_call(*proof_calldata(proof, public))


def deploy_verifier(build_dir: str | Path, rpc_url: str, account, name: str = CONTRACT_NAME) -> Deployment:
    """Compile the build's verifier and deploy it from ``account`` through ``rpc_url``."""
    contract = compile_verifier(render_verifier(_verification_key(build_dir), name), name)
    return deploy_contract(signing_web3(rpc_url, account), contract.bytecode, contract.deployed_bytecode)


def verify_onchain(build_dir: str | Path, out_dir: str | Path, rpc_url: str, address: str) -> OnchainVerdict:
    """OUT's proof checked by the verifier deployed at ``address`` (eth_call), and its gas."""
    from zkml.evm.rpc import connect

    proof, public = _proof_and_public(out_dir, _verification_key(build_dir))
    return call_verifier(connect(rpc_url), address, encode_verify_call(*proof_calldata(proof, public)))



# --- settlement ------------------------------------------------------------------


def deploy_settlement(rpc_url: str, account) -> Deployment:
    """Deploy ZkmlSettlement (contracts/ZkmlSettlement.sol) from ``account``; one serves every model."""
    from zkml.evm.settlement import deploy_settlement as deploy

    return deploy(signing_web3(rpc_url, account))


def _bound_build(build_dir: str | Path):
    from zkml.api import load_build
    from zkml.sender import binds_sender

    build = load_build(build_dir)
    if not binds_sender(build.program):
        raise EvmError(f"{build.dir} does not bind the prover's address: the settlement contract needs a build "
                       "compiled with `zkml compile --bind-sender`")
    if build.program.weight_bits is not None:
        # A request pins the verifier (the architecture) and the input, not the
        # weights commitment (the last signal): a prover could fulfil it with any weights.
        raise EvmError(f"{build.dir} has committed weights, and ZkmlSettlement does not pin a weights "
                       "commitment: a prover could fulfil a request with weights of its choosing. Settle a build "
                       "whose weights are constants (the verifier then fixes them)")
    return build


def post_request(build_dir: str | Path, inputs: Any, rpc_url: str, account, settlement: str, verifier: str,
                 payment_wei: int, deadline_in_s: int, salts: dict | str | Path | None = None) -> Posted:
    """Post a request for one inference of BUILD's model (its verifier at ``verifier``)
    on ``inputs``, paying ``payment_wei`` to whoever fulfils it within ``deadline_in_s``
    seconds of the latest block.

    For a build whose input is hashed (``visibility={"input": "hashed"}``) the
    request commits to the input's salted Poseidon commitment, not to its
    values, which never go on-chain: the requester chooses each salt, from
    ``salts`` (a dict keyed ``"input:NAME"``, or a salts file's path) or fresh
    from the OS's CSPRNG where it names none, and must hand the result's
    ``salts`` to the prover with the input (``zkml.prove(..., salts=)``).
    Keep them from anyone who should not learn the input: a salt lets its
    holder test guesses of the input against the commitment."""
    from dataclasses import replace

    from zkml.evm.settlement import post_request as post
    from zkml.sender import input_salts, input_signals

    build = _bound_build(build_dir)
    if isinstance(deadline_in_s, bool) or not isinstance(deadline_in_s, int) or deadline_in_s <= 0:
        raise EvmError(f"the deadline must be a positive number of seconds, got {deadline_in_s!r}")
    chosen = input_salts(build.program, salts)
    signals = input_signals(build.program, inputs, chosen)
    if not signals:
        raise EvmError(f"{build.dir}'s model inputs are all private: a request must commit to its input, so it "
                       "needs a public or hashed input (compile with --visibility input=hashed)")
    w3 = signing_web3(rpc_url, account)
    deadline = int(w3.eth.get_block("latest")["timestamp"]) + deadline_in_s
    return replace(post(w3, settlement, verifier, signals, payment_wei, deadline), salts=chosen)


def fulfil(build_dir: str | Path, out_dir: str | Path, rpc_url: str, account, settlement: str,
           request_id: int) -> Fulfilment:
    """Fulfil request ``request_id`` with OUT's proof (made with ``sender=account.address``)
    from ``account``; it is paid the request's payment."""
    from zkml.evm.settlement import fulfil as send_fulfil

    build = _bound_build(build_dir)
    proof, public = _proof_and_public(out_dir, _verification_key(build_dir))
    proof8, signals = proof_calldata(proof, public)
    k = build.settings["sender"]["signal"]
    if signals[k] != int(account.address, 16):
        raise EvmError(f"{Path(out_dir) / artifacts.PUBLIC} was proved for sender {signals[k]:#042x}, not for "
                       f"{account.address}, which would submit it: prove again with --sender {account.address}")
    return send_fulfil(signing_web3(rpc_url, account), settlement, request_id, proof8, signals)


def reclaim(rpc_url: str, account, settlement: str, request_id: int) -> Reclaim:
    """After the deadline, take back the payment of a request nobody fulfilled (the requester only)."""
    from zkml.evm.settlement import reclaim as send_reclaim

    return send_reclaim(signing_web3(rpc_url, account), settlement, request_id)
