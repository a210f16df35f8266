"""zkml prove beside snarkjs groth16 prove on the identical key and witness.

For each zoo model: compile, `setup --dev`, then `zkml export-zkey` and
`zkml witness` write the build's key and the witness of its input.json as
snarkjs files; `snarkjs groth16 prove KEY.zkey W.wtns` (the pinned snarkjs,
node) and `zkml prove` (the CLI, same machine, same run) each prove from
them, in a fresh process, three times; the median wall time and the peak RSS
(the process tree's, from wait4) are printed as a Markdown table. Both
proofs are checked with `zkml verify`.

    .venv/bin/python bench/vs_snarkjs.py [model ...]      # default: every zoo model
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ZOO = ["digits_mlp", "sklearn_mlp", "digits_cnn", "resnet_block", "tiny_transformer", "lenet5"]
RUNS = 3


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one process and its children."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err[-500:]}")
    return seconds, usage.ru_maxrss * 1024


def main() -> None:
    models = sys.argv[1:] or ZOO
    zkml = [sys.executable, "-m", "zkml.cli"]
    snarkjs = ["node", str(REPO / "contracts/node_modules/snarkjs/build/cli.cjs")]
    print("| model | constraints | snarkjs prove (s) | zkml prove (s) | snarkjs / zkml | snarkjs peak RSS | zkml peak RSS | both proofs verify |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name in models:
        model = REPO / "circuits" / name
        with tempfile.TemporaryDirectory(prefix=f"zkml-vs-snarkjs-{name}-") as tmp:
            t = Path(tmp)
            build = t / "build"
            subprocess.run([*zkml, "compile", str(model / "model.onnx"), "-o", str(build),
                            "--calibration", str(model / "calibration.json")], check=True, capture_output=True)
            subprocess.run([*zkml, "setup", str(build), "--dev"], check=True, capture_output=True)
            subprocess.run([*zkml, "export-zkey", str(build), "-o", str(t / "k.zkey")], check=True, capture_output=True)
            subprocess.run([*zkml, "witness", str(build), str(model / "input.json"), "-o", str(t / "w.wtns")],
                           check=True, capture_output=True)
            constraints = json.loads((build / "settings.json").read_text())["constraints"]
            ours, theirs = [], []
            for i in range(RUNS):
                out = t / f"snarkjs{i}"
                out.mkdir()
                theirs.append(timed([*snarkjs, "groth16", "prove", str(t / "k.zkey"), str(t / "w.wtns"),
                                     str(out / "proof.json"), str(out / "public.json")]))
                ours.append(timed([*zkml, "prove", str(build), str(model / "input.json"), "-o", str(t / f"zkml{i}"),
                                   "--device", "cpu"]))
            ok = all(subprocess.run([*zkml, "verify", str(build), str(t / d)], capture_output=True).returncode == 0
                     for d in ("snarkjs0", "zkml0"))
            s_t = statistics.median(x[0] for x in theirs)
            z_t = statistics.median(x[0] for x in ours)
            s_m = max(x[1] for x in theirs)
            z_m = max(x[1] for x in ours)
            print(f"| {name} | {constraints} | {s_t:.2f} | {z_t:.2f} | {s_t / z_t:.1f}× | {s_m / 2**20:.0f} MiB | "
                  f"{z_m / 2**20:.0f} MiB | {ok} |", flush=True)
            shutil.rmtree(t, ignore_errors=True)


if __name__ == "__main__":
    main()
