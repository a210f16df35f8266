"""`zkml estimate` against the measured cost, for every zoo model.

For each model: the estimate (before any setup), then the real thing —
`zkml compile`, `zkml setup --dev`, and `zkml prove --device cpu` run as a
child process three times (the native stages' time from its own report, its
peak resident memory from the OS), and the verifier deployed in the
in-process EVM (gas of one verifyProof transaction). Prints a markdown table
for bench/RESULTS.md. Run: `.venv/bin/python bench/estimate.py`.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ZOO = ["digits_mlp", "digits_cnn", "resnet_block", "sklearn_mlp", "tiny_transformer", "lenet5"]
STAGES = ("synthesize", "load_key", "evaluate", "quotient", "msm")


def _prove(build: Path, inputs: Path, out: Path) -> tuple[float, int]:
    code = (
        "import json, sys, zkml\n"
        "r = zkml.prove(sys.argv[1], sys.argv[2], sys.argv[3], device='cpu')\n"
        f"t = sum(r.timings[k] for k in {STAGES!r})\n"
        # VmHWM: this process's own peak (ru_maxrss would include the parent's peak before exec)
        "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]\n"
        "print(json.dumps({'seconds': t, 'rss': int(hwm)}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(build), str(inputs), str(out)],
                            capture_output=True, text=True, check=True)
    doc = json.loads(result.stdout.strip().splitlines()[-1])
    return doc["seconds"], doc["rss"] * 1024


def main() -> None:
    import zkml
    from zkml.estimate import estimate
    from zkml.evm import InProcessChain, compile_verifier, proof_calldata, render_verifier

    rows = []
    for name in ZOO:
        folder = REPO / "circuits" / name
        e = estimate(folder / "model.onnx", folder / "calibration.json")
        with tempfile.TemporaryDirectory() as tmp:
            build, out = Path(tmp) / "build", Path(tmp) / "out"
            zkml.compile(folder / "model.onnx", build, calibration=folder / "calibration.json")
            zkml.setup(build, dev=True)
            runs = [_prove(build, folder / "input.json", out) for _ in range(3)]
            seconds = sorted(r[0] for r in runs)[1]
            rss = max(r[1] for r in runs)
            pk = os.path.getsize(build / "proving_key.bin")
            settings = json.loads((build / "settings.json").read_text())
            chain = InProcessChain()
            vk = json.loads((build / "verification_key.json").read_text())
            address = chain.deploy(compile_verifier(render_verifier(vk)).bytecode)
            proof8, inputs = proof_calldata(json.loads((out / "proof.json").read_text()),
                                            json.loads((out / "public.json").read_text()))
            ok, gas = chain.verify(address, proof8, inputs)
            assert ok
        assert (e.constraints, e.variables, e.public_inputs) == (
            settings["constraints"], settings["variables"], settings["public_inputs"])
        rows.append((name, e, seconds, rss, pk, gas))
    print("| model | constraints | proving key est./real | prove s est./real (ratio) | "
          "peak MiB est./real (ratio) | gas est./real (ratio) | estimate took |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, e, seconds, rss, pk, gas in rows:
        print(f"| {name} | {e.constraints:,} | {e.proving_key_bytes / 2**20:.1f} / {pk / 2**20:.1f} MiB | "
              f"{e.prove_seconds:.2f} / {seconds:.2f} ({e.prove_seconds / seconds:.2f}) | "
              f"{e.peak_memory_bytes / 2**20:.0f} / {rss / 2**20:.0f} ({e.peak_memory_bytes / rss:.2f}) | "
              f"{e.verify_gas:,} / {gas:,} ({e.verify_gas / gas:.3f}) | {e.seconds:.1f} s |")


if __name__ == "__main__":
    main()
