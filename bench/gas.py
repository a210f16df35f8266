"""On-chain cost of every zoo model, beside snarkjs's own Groth16 verifier.

For each model (compiled with its calibration.json, `setup --dev`):

* our verifier (`export-verifier`'s contract) and snarkjs 0.7.6's
  `templates/verifier_groth16.sol.ejs` rendered by its own ejs with the same
  verification_key.json, both compiled by the pinned solc with zkml's fixed
  settings, deployed on one anvil node (the pinned npm package), and each sent
  one `verifyProof` transaction with the same valid proof: deployed (runtime)
  size, and execution gas = the receipt's gasUsed minus the intrinsic gas of
  its calldata (21,000 + 4/16 per zero/non-zero byte);
* the floor the issue sets, 181,150 + 6,150·n for n public inputs, and the
  ratio of our gas to it;
* eth_estimateGas of each verifyProof, and whether a call with exactly that
  gas limit answers true (snarkjs's verifier turns a pairing precompile that
  ran out of gas into `false`, so the estimate lands where it answers false);
* `fulfil` on ZkmlSettlement: the same model compiled with --bind-sender
  (one more public signal), a request posted, a proof made for the prover's
  address, and the fulfil transaction's gasUsed (whole transaction; its
  verifier call is inside it);
* the same model compiled with ``--visibility input=hashed`` (its input's
  public signals replaced by one salted Poseidon commitment, issue 13), set
  up, proved and sent to its own verifier the same way: its public signals,
  the whole transaction's gasUsed (21,000, calldata and execution: what the
  sender pays) and the execution gas, beside the same two figures of the
  public-input verifier above.

Prints a markdown table for bench/RESULTS.md (and --json FILE the raw figures).
Run: `.venv/bin/python bench/gas.py [--models digits_mlp,lenet5] [--workdir DIR]`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # anvil_node: the pinned anvil on a free port

from anvil_node import funded_account, running_anvil

import zkml
from zkml import onchain
from zkml.evm import (
    compile_verifier,
    encode_snarkjs_verify_call,
    encode_verify_call,
    proof_calldata,
    split_proof8,
)
from zkml.evm.chain import intrinsic_gas
from zkml.evm.rpc import deploy_contract, signing_web3, transact
from zkml.evm.tools import contracts_dir
from zkml.evm.verifier import render_verifier

ZOO = ["digits_mlp", "digits_cnn", "resnet_block", "sklearn_mlp", "tiny_transformer", "lenet5"]
SNARKJS_TEMPLATE = "node_modules/snarkjs/templates/verifier_groth16.sol.ejs"
# snarkjs renders its template with ejs.render(template, verificationKey)
# (src/zkey_export_solidityverifier.js); so does this, with its own ejs.
RENDER_JS = (
    "const ejs = require('ejs'); const fs = require('fs');"
    "process.stdout.write(ejs.render(fs.readFileSync(process.argv[1], 'utf8'),"
    " JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))));"
)


def snarkjs_verifier(vk_path: Path) -> str:
    return subprocess.run(["node", "-e", RENDER_JS, SNARKJS_TEMPLATE, str(vk_path)], cwd=contracts_dir(),
                          check=True, capture_output=True, text=True).stdout


def _build(model: str, work: Path, bind_sender: bool, visibility: dict | None = None) -> Path:
    src = REPO / "circuits" / model
    build = work / model / ("hashed" if visibility else "bound" if bind_sender else "plain")
    zkml.compile(src / "model.onnx", build, calibration=src / "calibration.json", bind_sender=bind_sender,
                 visibility=visibility)
    zkml.setup(build, dev=True)
    return build


def _verify_tx(w3, address: str, calldata: bytes) -> tuple[int, int, bool, int]:
    """Execution gas of one verifyProof transaction that answers true (sent
    with a gas limit well above its need), what happens at the limit
    eth_estimateGas picks (that limit, and the answer there), and the
    transaction's whole gasUsed (intrinsic gas included)."""
    call = {"to": address, "data": "0x" + calldata.hex()}
    answer = bytes(w3.eth.call(call))
    assert int.from_bytes(answer, "big") == 1, f"{address} did not accept the proof"
    receipt = transact(w3, {**call, "gas": 10_000_000})
    estimate = int(w3.eth.estimate_gas(call))
    at_estimate = int.from_bytes(bytes(w3.eth.call({**call, "gas": estimate})), "big") == 1
    return int(receipt["gasUsed"]) - intrinsic_gas(calldata), estimate, at_estimate, int(receipt["gasUsed"])


def input_values(build: Path) -> int:
    """How many values the model's inputs hold (the sender's limbs aside)."""
    from zkml.api import load_build
    from zkml.sender import model_inputs

    program = model_inputs(load_build(build).program)
    return sum(program.tensors[e.tensor].size for e in program.inputs)


def hashed_verify(model: str, work: Path, w3) -> dict:
    """The model with its input hashed: signals, and one verifyProof transaction's total and execution gas."""
    src = REPO / "circuits" / model
    build = _build(model, work, bind_sender=False, visibility={"input": "hashed"})
    out = work / model / "hashed_proof"
    zkml.prove(build, src / "input.json", out, device="cpu")
    proof8, public = proof_calldata(json.loads((out / "proof.json").read_text()),
                                    json.loads((out / "public.json").read_text()))
    vk = json.loads((build / "verification_key.json").read_text())
    contract = compile_verifier(render_verifier(vk))
    address = deploy_contract(w3, contract.bytecode, contract.deployed_bytecode).address
    gas, _estimate, _true, total = _verify_tx(w3, address, encode_verify_call(proof8, public))
    settings = json.loads((build / "settings.json").read_text())
    return {"hashed_public_inputs": len(public), "hashed_gas": gas, "hashed_tx_gas": total,
            "hashed_constraints": settings["constraints"], "input_values": input_values(build)}


def measure(model: str, work: Path, url: str, web3) -> dict:
    started = time.perf_counter()
    src = REPO / "circuits" / model
    deployer, requester, prover = (funded_account(web3) for _ in range(3))
    w3 = signing_web3(url, deployer)

    plain = _build(model, work, bind_sender=False)
    out = work / model / "proof"
    zkml.prove(plain, src / "input.json", out, device="cpu")
    vk_path = plain / "verification_key.json"
    vk = json.loads(vk_path.read_text())
    proof8, public = proof_calldata(json.loads((out / "proof.json").read_text()),
                                    json.loads((out / "public.json").read_text()))
    n = len(public)

    ours = compile_verifier(render_verifier(vk))
    ours_at = deploy_contract(w3, ours.bytecode, ours.deployed_bytecode).address
    ours_gas, ours_estimate, ours_true, ours_tx_gas = _verify_tx(w3, ours_at, encode_verify_call(proof8, public))
    theirs = compile_verifier(snarkjs_verifier(vk_path), "Groth16Verifier")
    theirs_at = deploy_contract(w3, theirs.bytecode, theirs.deployed_bytecode).address
    theirs_gas, theirs_estimate, theirs_true, _ = _verify_tx(w3, theirs_at,
                                                          encode_snarkjs_verify_call(*split_proof8(proof8), public))

    bound = _build(model, work, bind_sender=True)
    verifier = onchain.deploy_verifier(bound, url, deployer).address
    settlement = onchain.deploy_settlement(url, deployer).address
    posted = onchain.post_request(bound, src / "input.json", url, requester, settlement, verifier, 10**15, 3600)
    bound_out = work / model / "bound_proof"
    zkml.prove(bound, src / "input.json", bound_out, device="cpu", sender=prover.address)
    done = onchain.fulfil(bound, bound_out, url, prover, settlement, posted.id)
    hashed = hashed_verify(model, work, w3)

    floor = 181_150 + 6_150 * n
    return {
        "model": model,
        "public_inputs": n,
        "ours_bytes": len(bytes(web3.eth.get_code(ours_at))),
        "ours_gas": ours_gas,
        "ours_tx_gas": ours_tx_gas,
        "constraints": json.loads((plain / "settings.json").read_text())["constraints"],
        "floor": floor,
        "ratio_to_floor": ours_gas / floor,
        "snarkjs_bytes": len(bytes(web3.eth.get_code(theirs_at))),
        "snarkjs_gas": theirs_gas,
        "ours_estimate_gas": ours_estimate,
        "ours_true_at_estimate": ours_true,
        "snarkjs_estimate_gas": theirs_estimate,
        "snarkjs_true_at_estimate": theirs_true,
        "fulfil_signals": n + 1,
        "fulfil_tx_gas": done.gas_used,
        "request_tx_gas": posted.gas_used,
        **hashed,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def table(rows: list) -> str:
    lines = [
        ("| model | public inputs n | ours: deployed bytes | ours: verifyProof gas | floor 181,150 + 6,150·n "
         "| ours / floor | snarkjs: deployed bytes | snarkjs: verifyProof gas | fulfil tx gas (n + 1 signals) "
         "| true at eth_estimateGas: ours / snarkjs |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['public_inputs']} | {r['ours_bytes']:,} | {r['ours_gas']:,} | {r['floor']:,} "
            f"| {r['ratio_to_floor']:.4f} | {r['snarkjs_bytes']:,} | {r['snarkjs_gas']:,} | {r['fulfil_tx_gas']:,} "
            f"| {_yes(r['ours_true_at_estimate'])} ({r['ours_estimate_gas']:,}) / "
            f"{_yes(r['snarkjs_true_at_estimate'])} ({r['snarkjs_estimate_gas']:,}) |")
    return "\n".join(lines)


def hashed_table(rows: list) -> str:
    lines = [
        ("| model | input values | public input: signals | public input: verifyProof tx gas (total) "
         "| public input: execution gas | hashed input: signals | hashed input: verifyProof tx gas (total) "
         "| hashed input: execution gas | hashed: floor 181,150 + 6,150·n | hashed: ours / floor | total saved "
         "| constraints public / hashed |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        floor = 181_150 + 6_150 * r["hashed_public_inputs"]
        lines.append(
            f"| {r['model']} | {r['input_values']:,} | {r['public_inputs']} | {r['ours_tx_gas']:,} | {r['ours_gas']:,} "
            f"| {r['hashed_public_inputs']} | {r['hashed_tx_gas']:,} | {r['hashed_gas']:,} | {floor:,} "
            f"| {r['hashed_gas'] / floor:.4f} | {r['ours_tx_gas'] - r['hashed_tx_gas']:,} "
            f"| {r['constraints']:,} / {r['hashed_constraints']:,} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(ZOO), help="comma-separated zoo models (default: all)")
    parser.add_argument("--workdir", type=Path, help="where builds go (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, running_anvil() as (url, web3):
        work = args.workdir or Path(tmp)
        for model in args.models.split(","):
            rows.append(measure(model, work, url, web3))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(table(rows))
    print()
    print(hashed_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
