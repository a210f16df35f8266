"""Every visibility mode and committed weights, end to end on the model zoo:
compile, setup (--dev), prove, then three verifiers on the same proof:
zkml's native verifier, snarkjs (the pinned npm package), and the Solidity
verifier in an in-process EVM (pyrevm), plus the EVM rejecting the proof with
its first public signal changed.

    .venv/bin/python bench/privacy_zoo.py [--models digits_mlp,...] [--modes hashed,private,committed]

Modes: ``hashed`` (input hashed, output public), ``private`` (input private,
output hashed), ``committed`` (weights committed, input and output public).
Prints one markdown row per (model, mode): constraints, public signals,
seconds per stage and the three verdicts. Slow models (lenet5 with committed
weights: 4.2M constraints) are left out unless named.
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
ZOO = ["digits_mlp", "digits_cnn", "resnet_block", "sklearn_mlp", "tiny_transformer", "lenet5"]
MODES = {
    "hashed": {"visibility": {"input": "hashed"}},
    "private": {"visibility": {"input": "private", "output": "hashed"}},
    "committed": {"weights": "committed"},
}
SKIP_BY_DEFAULT = {("lenet5", "committed")}


def _snarkjs_verify(build: Path, out: Path) -> bool:
    from zkml.evm import contracts_dir
    from zkml.evm.tools import node_executable

    cli = contracts_dir() / "node_modules" / "snarkjs" / "build" / "cli.cjs"
    done = subprocess.run([node_executable(), str(cli), "groth16", "verify", str(build / "verification_key.json"),
                           str(out / "public.json"), str(out / "proof.json")],
                          capture_output=True, text=True, timeout=600, cwd=contracts_dir())
    return done.returncode == 0


def _evm_verdicts(build: Path, out: Path) -> tuple[bool, bool]:
    from zkml.evm import InProcessChain, compile_verifier, proof_calldata, render_verifier

    chain = InProcessChain()
    address = chain.deploy(compile_verifier(render_verifier(json.loads((build / "verification_key.json").read_text())))
                           .bytecode)
    proof8, inputs = proof_calldata(json.loads((out / "proof.json").read_text()),
                                    json.loads((out / "public.json").read_text()))
    good = chain.verify(address, proof8, inputs)[0]
    changed = [(inputs[0] + 1) % 21888242871839275222246405745257275088548364400416034343698204186575808495617,
               *inputs[1:]]
    return good, chain.verify(address, proof8, changed)[0]


def run(model: str, mode: str, root: Path) -> dict:
    import zkml

    folder = REPO / "circuits" / model
    build, out = root / f"{model}-{mode}" / "build", root / f"{model}-{mode}" / "out"
    times = {}
    t = time.perf_counter()
    settings = zkml.compile(folder / "model.onnx", build, calibration=folder / "calibration.json",
                            **MODES[mode]).settings
    times["compile"] = time.perf_counter() - t
    t = time.perf_counter()
    zkml.setup(build, dev=True)
    times["setup"] = time.perf_counter() - t
    t = time.perf_counter()
    zkml.prove(build, folder / "input.json", out, device="cpu")
    times["prove"] = time.perf_counter() - t
    native = zkml.verify(build, out)
    snarkjs = _snarkjs_verify(build, out)
    evm, evm_changed = _evm_verdicts(build, out)
    return {"model": model, "mode": mode, "constraints": settings["constraints"],
            "public": settings["public_inputs"], "seconds": times, "native": native, "snarkjs": snarkjs,
            "evm": evm, "evm_rejects_changed_signal": not evm_changed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(ZOO))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    named = args.models != ",".join(ZOO)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            for mode in args.modes.split(","):
                if (model, mode) in SKIP_BY_DEFAULT and not named:
                    continue
                row = run(model, mode, Path(tmp))
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    print("| model | mode | constraints | signals | compile s | setup s | prove s | native | snarkjs | EVM | "
          "EVM rejects a changed signal |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|---|---|")
    for r in rows:
        s = r["seconds"]
        print(f"| {r['model']} | {r['mode']} | {r['constraints']:,} | {r['public']} | {s['compile']:.1f} | "
              f"{s['setup']:.1f} | {s['prove']:.1f} | {'valid' if r['native'] else 'INVALID'} | "
              f"{'valid' if r['snarkjs'] else 'INVALID'} | {'valid' if r['evm'] else 'INVALID'} | "
              f"{'yes' if r['evm_rejects_changed_signal'] else 'NO'} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all(r["native"] and r["snarkjs"] and r["evm"] and r["evm_rejects_changed_signal"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
