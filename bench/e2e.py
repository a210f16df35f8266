"""End-to-end `zkml prove` on the model zoo and a wide MLP: time per stage and peak memory.

Every measurement runs in a fresh child process (`python bench/e2e.py child ...`),
so its peak resident memory (VmHWM) is its own and not the harness's. For each
model: `zkml.compile` and `zkml.setup(dev=True)` (time, peak RSS), then a
single-shot `zkml.prove` (what `zkml prove` does: read the build and the key,
prove once, write the files), run `--rounds` times in fresh children (the run
of median wall time is reported, with the range of its share outside MSM+NTT
and the highest peak RSS of all), and a `zkml.Prover` made once and proving
`--rounds` times with the key resident. Prints a markdown table for
bench/RESULTS.md; `--json FILE` keeps the raw records.

"MSM+NTT" is the prover's `msm` stage plus its `quotient` stage (seven NTTs
and the pointwise division by Z); `evaluate` is the a·b = c check on the row values
A·z, B·z, C·z that the witness-only synthesis recorded (no matrices). The
issue-9 target is the share of wall time outside MSM+NTT (≤ 20%) and peak RSS
≤ 1.5 × (proving key + witness) bytes; the witness is `variables` × 32 bytes.

    .venv/bin/python bench/e2e.py                       # zoo without lenet5, MLP 256-1024-1024-10
    .venv/bin/python bench/e2e.py --full                # + lenet5, MLP 1024-4096-4096-10 (issue 9's)
    .venv/bin/python bench/e2e.py --mlp 1024,2048,2048,10 --models digits_mlp
    .venv/bin/python bench/e2e.py --mlp none            # zoo only

The wide MLP's weights are random (normal, He scale; `--seed`), its input and
calibration samples uniform in [0, 1]; files are made in the work folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ZOO = ["digits_mlp", "digits_cnn", "sklearn_mlp", "resnet_block", "tiny_transformer", "lenet5"]
LARGE = {"lenet5"}  # 1.7 M constraints, 2^21: only with --full
SMALL_MLP = (256, 1024, 1024, 10)
FULL_MLP = (1024, 4096, 4096, 10)  # issue 9's: 21 M weights, 2^19
STAGES = ("quantize_input", "synthesize", "load_key", "evaluate", "quotient", "msm")
MIB = 1 << 20


# --- the wide MLP --------------------------------------------------------------------


def mlp_name(widths: tuple[int, ...]) -> str:
    return "mlp_" + "-".join(str(w) for w in widths)


def write_wide_mlp(folder: Path, widths: tuple[int, ...], seed: int = 0, samples: int = 16) -> Path:
    """model.onnx (Gemm+Relu layers, Relu between them, none after the last),
    input.json (one sample) and calibration.json (`samples` samples) in `folder`.
    Skipped when the folder already holds them for the same widths and seed."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "made_by.json"
    recipe = {"widths": list(widths), "seed": seed, "samples": samples}
    if stamp.exists() and json.loads(stamp.read_text()) == recipe:
        return folder
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    x = "input"
    for i, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        w = rng.normal(0.0, (2.0 / n_in) ** 0.5, size=(n_out, n_in)).astype(np.float32)
        b = rng.normal(0.0, 0.01, size=(n_out,)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        last = i == len(widths) - 2
        y = "logits" if last else f"fc{i}"
        nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [y], transB=1, name=f"fc{i}"))
        if not last:
            nodes.append(helper.make_node("Relu", [y], [f"h{i}"], name=f"relu{i}"))
            y = f"h{i}"
        x = y
    graph = helper.make_graph(
        nodes, mlp_name(widths),
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, widths[0]])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, widths[-1]])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="bench/e2e.py")
    onnx.checker.check_model(model)
    onnx.save(model, folder / "model.onnx")
    data = rng.uniform(0.0, 1.0, size=(samples + 1, widths[0])).round(4)
    (folder / "input.json").write_text(json.dumps({"input_data": [data[0].tolist()]}))
    (folder / "calibration.json").write_text(json.dumps({"input_data": [data[1:].reshape(-1).tolist()]}))
    stamp.write_text(json.dumps(recipe))
    return folder


# --- measuring in a child process ----------------------------------------------------


def _memory() -> tuple[int, int]:
    """(VmHWM, VmRSS) of this process in bytes."""
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmHWM", "VmRSS")):
                key, value = line.split(":")
                fields[key] = int(value.split()[0]) * 1024
    return fields["VmHWM"], fields["VmRSS"]


def _child(job: dict) -> dict:
    """One measured job in this (fresh) process; returns its record."""
    import zkml

    base_rss = _memory()[1]  # the interpreter with zkml imported
    kind = job["kind"]
    record: dict = {"kind": kind, "base_rss": base_rss}
    device = job.get("device", "cpu")
    t = time.perf_counter()
    if kind == "compile":
        zkml.compile(job["model"], job["build"], calibration=job["calibration"])
    elif kind == "setup":
        zkml.setup(job["build"], dev=True)
    elif kind == "prove":
        r = zkml.prove(job["build"], job["input"], job["out"], device=device)
        record["timings"] = r.timings
        record["device"] = r.device
    elif kind == "prover":
        prover = zkml.Prover(job["build"], device=device)
        record["construct"] = time.perf_counter() - t
        record["key_bytes"] = prover.key_bytes
        record["construct_hwm"], record["construct_rss"] = _memory()  # build + key held, before any proof
        runs = []
        for i in range(job["rounds"]):
            t1 = time.perf_counter()
            r = prover.prove(job["input"], Path(job["out"]) / str(i))
            runs.append({"wall": time.perf_counter() - t1, "timings": r.timings})
        record["runs"] = runs
        record["device"] = r.device
    elif kind == "verify":
        if not zkml.verify(job["build"], job["out"]):
            raise SystemExit("proof did not verify")
    else:
        raise SystemExit(f"unknown job {kind}")
    record["wall"] = time.perf_counter() - t
    record["peak_rss"] = _memory()[0]
    return record


def run_child(job: dict, timeout: float = 3600) -> dict:
    """Runs `job` in a fresh interpreter; its JSON record, or RuntimeError with its stderr."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "child", json.dumps(job)],
        capture_output=True, text=True, timeout=timeout, cwd=REPO,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{job['kind']} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- one model ------------------------------------------------------------------------


def model_files(name: str, work: Path, mlp: tuple[int, ...] | None, seed: int) -> Path:
    if name.startswith("mlp_"):
        assert mlp is not None
        return write_wide_mlp(work / name / "model", mlp, seed)
    return REPO / "circuits" / name


def prepare(folder: Path, build: Path) -> dict:
    """compile + setup --dev, each in its own child; their records."""
    compiled = run_child({"kind": "compile", "model": str(folder / "model.onnx"),
                          "calibration": str(folder / "calibration.json"), "build": str(build)})
    setup = run_child({"kind": "setup", "build": str(build)})
    return {"compile": compiled, "setup": setup}


def measure(name: str, folder: Path, build: Path, rounds: int, device: str = "cpu") -> dict:
    """Single-shot prove `rounds` times (the run of median wall time is
    reported, every wall kept), verify, and a resident Prover proving
    `rounds` times; all in children."""
    out = build.parent / "out"
    singles = [run_child({"kind": "prove", "build": str(build), "input": str(folder / "input.json"),
                          "out": str(out / "single"), "device": device}) for _ in range(max(rounds, 1))]
    single = dict(sorted(singles, key=lambda r: r["wall"])[(len(singles) - 1) // 2])
    single["walls"] = [r["wall"] for r in singles]
    single["outside_shares"] = [shares(r["wall"], r["timings"])["outside_msm_ntt"] for r in singles]
    single["peak_rss_max"] = max(r["peak_rss"] for r in singles)
    verified = run_child({"kind": "verify", "build": str(build), "out": str(out / "single")})
    resident = run_child({"kind": "prover", "build": str(build), "input": str(folder / "input.json"),
                          "out": str(out / "prover"), "rounds": rounds, "device": device})
    settings = json.loads((build / "settings.json").read_text())
    return {
        "model": name,
        "constraints": settings["constraints"],
        "variables": settings["variables"],
        "domain": settings["qap_domain_size"],
        "pk_file_bytes": (build / "proving_key.bin").stat().st_size,
        "proof_bytes": (out / "single" / "proof.json").stat().st_size,
        "single": single,
        "verify": verified,
        "prover": resident,
    }


def shares(wall: float, timings: dict) -> dict:
    msm_ntt = timings["msm"] + timings["quotient"]
    crypto = msm_ntt + timings["evaluate"]
    return {"outside_msm_ntt": 1 - msm_ntt / wall, "outside_crypto": 1 - crypto / wall}


def median_run(runs: list[dict]) -> dict:
    """The run with the median wall time (the lower middle one of an even
    count), in steady state: the first proof, which also reports the key's
    load, is left out when there are more than two."""
    steady = runs[1:] if len(runs) > 2 else runs
    return sorted(steady, key=lambda r: r["wall"])[(len(steady) - 1) // 2]


# --- report ----------------------------------------------------------------------------


def _ms(x: float) -> str:
    return f"{x * 1000:,.0f}" if x >= 1 else f"{x * 1000:,.1f}"


def _log2(n: int) -> str:
    return f"2^{n.bit_length() - 1}"


def table(results: list[dict]) -> str:
    lines = [
        "| model | constraints | domain | `zkml.prove` wall (ms) | quantize_input + load build | synthesize | load_key"
        " | evaluate | quotient (NTT) | msm | other (Python, files) | **outside MSM+NTT** (range over runs)"
        " | outside MSM+NTT+evaluate"
        " | Prover.prove, key resident (ms) | its outside MSM+NTT |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s = r["single"]
        t = s["timings"]
        wall = s["wall"]
        other = wall - sum(t[k] for k in STAGES)
        sh = shares(wall, t)
        run = median_run(r["prover"]["runs"])
        rsh = shares(run["wall"], run["timings"])
        lines.append(
            f"| {r['model']} | {r['constraints']:,} | {_log2(r['domain'])} | {_ms(wall)} | {_ms(t['quantize_input'])}"
            f" | {_ms(t['synthesize'])} | {_ms(t['load_key'])} | {_ms(t['evaluate'])} | {_ms(t['quotient'])}"
            f" | {_ms(t['msm'])} | {_ms(other)} | **{sh['outside_msm_ntt']:.1%}** ({_range(s)})"
            f" | {sh['outside_crypto']:.0%}"
            f" | {_ms(run['wall'])} | {rsh['outside_msm_ntt']:.0%} |"
        )
    return "\n".join(lines)


def _range(single: dict) -> str:
    got = single.get("outside_shares", [])
    return f"{min(got):.1%}–{max(got):.1%} of {len(got)}" if got else "one run"


def memory_table(results: list[dict]) -> str:
    lines = [
        "| model | proving key file (MiB) | key in memory (MiB) | witness (MiB) | `zkml.prove` peak RSS (MiB)"
        " | of which interpreter + zkml imported | Prover made, before a proof: RSS (MiB)"
        " | **peak / (key + witness)** | compile: s, peak MiB | setup --dev: s, peak MiB"
        " | proof.json bytes | verify (ms, child) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s = r["single"]
        witness = r["variables"] * 32
        key = r["prover"]["key_bytes"]
        peak = s.get("peak_rss_max", s["peak_rss"])
        comp, setup = r.get("compile"), r.get("setup")
        lines.append(
            f"| {r['model']} | {r['pk_file_bytes'] / MIB:,.1f} | {key / MIB:,.1f} | {witness / MIB:,.1f}"
            f" | {peak / MIB:,.0f} | {s['base_rss'] / MIB:,.0f} | {r['prover']['construct_rss'] / MIB:,.0f}"
            f" | **{peak / (key + witness):.2f}×**"
            f" | {comp['wall']:.1f}, {comp['peak_rss'] / MIB:,.0f} | {setup['wall']:.1f}, {setup['peak_rss'] / MIB:,.0f}"
            f" | {r['proof_bytes']} | {_ms(r['verify']['wall'])} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="add lenet5 and use the issue's MLP 1024-4096-4096-10")
    p.add_argument("--mlp", default=None, help="widths of the wide MLP, e.g. 1024,4096,4096,10; 'none' to skip it")
    p.add_argument("--models", default=None, help="comma-separated zoo models (default: all, lenet5 only with --full)")
    p.add_argument("--rounds", type=int, default=4,
                   help="single-shot proofs, and proofs by the resident Prover (default 4; the Prover's first is not "
                        "counted)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--work", type=Path, default=None, help="folder for builds (default: a temporary one)")
    p.add_argument("--json", type=Path, default=None, help="write the raw records here")
    args = p.parse_args(argv)

    if args.models is not None:
        names = [m for m in args.models.split(",") if m]
    else:
        names = [m for m in ZOO if args.full or m not in LARGE]
    mlp: tuple[int, ...] | None = FULL_MLP if args.full else SMALL_MLP
    if args.mlp is not None:
        mlp = None if args.mlp == "none" else tuple(int(w) for w in args.mlp.split(","))
    if mlp is not None:
        names.append(mlp_name(mlp))

    with tempfile.TemporaryDirectory(prefix="zkml-e2e-") as tmp:
        work = args.work or Path(tmp)
        results = []
        for name in names:
            started = time.perf_counter()
            folder = model_files(name, work, mlp, args.seed)
            build = work / name / "build"
            prepared = prepare(folder, build)
            record = measure(name, folder, build, args.rounds, args.device)
            record.update(prepared)
            results.append(record)
            print(f"{name}: done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    command = "bench/e2e.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"Command: `.venv/bin/python {command.strip()}` ({stamp}; {machine()}; device {args.device})\n")
    print(table(results))
    print()
    print(memory_table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"command": command, "date": stamp, "machine": machine(), "results": results},
                                        indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "child":
        print(json.dumps(_child(json.loads(sys.argv[2]))))
    else:
        main()
