"""zkml against ezkl (PyPI `ezkl`, the bench extra) on the same ONNX models and inputs.

For each model of the zoo (circuits/<name>/{model.onnx, calibration.json,
input.json}), each step of each tool runs in its own fresh child process, in
the same run on the same machine, one after the other (never side by side):
its wall time around the one library call (the interpreter's start and
imports excluded) and its peak resident memory (VmHWM, imports included).

    ours   zkml.compile (with the calibration samples) → zkml.setup(dev=True)
           → zkml.prove (witness + Groth16 proof) → zkml.verify
    ezkl   gen_settings → calibrate_settings("resources") → compile_circuit
           → gen_srs (a local SRS: there is no network for a ceremony file,
              so it is generated here — fine for timing, not for production;
              our `setup --dev` likewise makes its own tau) → setup
           → gen_witness → prove → verify

Both make every input and output public and bake the weights into the
circuit (ezkl 23's defaults: input/output "public", params "fixed";
check_mode left at its default). The proof systems differ: ours is Groth16
on BN254 (256-byte proof, per-circuit setup), ezkl's halo2 with KZG
(universal SRS, larger proofs); so each side's proof size, key sizes and
verify time are reported too.

    .venv/bin/python bench/vs_ezkl.py                         # digits_mlp digits_cnn sklearn_mlp resnet_block
    .venv/bin/python bench/vs_ezkl.py --models tiny_transformer --timeout 900
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e

REPO = e2e.REPO
DEFAULT = ["digits_mlp", "digits_cnn", "sklearn_mlp", "resnet_block"]
MIB = 1 << 20


# --- ezkl steps, one per child -------------------------------------------------------


def _onnx_dim_params(model: str) -> list[str]:
    import onnx

    m = onnx.load(model, load_external_data=False)
    names = []
    for value in m.graph.input:
        for d in value.type.tensor_type.shape.dim:
            if d.HasField("dim_param") and d.dim_param not in names:
                names.append(d.dim_param)
    return names


def _ezkl_child(job: dict) -> dict:
    import asyncio
    import inspect

    import ezkl

    base_rss = e2e._memory()[1]
    d = Path(job["dir"])
    m = job["model"]
    step = job["step"]

    def call(f, *args, **kwargs):
        result = f(*args, **kwargs)
        # Some ezkl releases make calibrate_settings/get_srs coroutines.
        return asyncio.run(result) if inspect.isawaitable(result) else result

    t = time.perf_counter()
    if step == "gen_settings":
        args = ezkl.PyRunArgs()
        # A symbolic batch dimension (e.g. "batch") is fixed at 1, as our compile does.
        args.variables = [(name, 1) for name in _onnx_dim_params(m)] or [("batch_size", 1)]
        ok = call(ezkl.gen_settings, m, str(d / "settings.json"), py_run_args=args)
    elif step == "calibrate_settings":
        ok = call(ezkl.calibrate_settings, job["calibration"], m, str(d / "settings.json"), "resources")
    elif step == "compile_circuit":
        ok = call(ezkl.compile_circuit, m, str(d / "model.compiled"), str(d / "settings.json"))
    elif step == "gen_srs":
        logrows = json.loads((d / "settings.json").read_text())["run_args"]["logrows"]
        call(ezkl.gen_srs, str(d / "kzg.srs"), logrows)
        ok = True
    elif step == "setup":
        ok = call(ezkl.setup, str(d / "model.compiled"), str(d / "vk.key"), str(d / "pk.key"),
                  srs_path=str(d / "kzg.srs"))
    elif step == "gen_witness":
        ok = call(ezkl.gen_witness, job["input"], str(d / "model.compiled"), str(d / "witness.json")) is not None
    elif step == "prove":
        ok = call(ezkl.prove, str(d / "witness.json"), str(d / "model.compiled"), str(d / "pk.key"),
                  str(d / "proof.json"), srs_path=str(d / "kzg.srs")) is not None
    elif step == "verify":
        ok = call(ezkl.verify, str(d / "proof.json"), str(d / "settings.json"), str(d / "vk.key"),
                  srs_path=str(d / "kzg.srs"))
    else:
        raise SystemExit(f"unknown step {step}")
    wall = time.perf_counter() - t
    if ok is not True:
        raise SystemExit(f"ezkl.{step} returned {ok!r}")
    return {"step": step, "wall": wall, "peak_rss": e2e._memory()[0], "base_rss": base_rss}


def run_ezkl_step(job: dict, timeout: float) -> dict:
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "child", json.dumps(job)],
                              capture_output=True, text=True, timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"step": job["step"], "error": f"stopped after {timeout:.0f} s (--timeout)"}
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        return {"step": job["step"], "error": (lines[-1] if lines else f"exit {proc.returncode}")[:300]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


EZKL_STEPS = ["gen_settings", "calibrate_settings", "compile_circuit", "gen_srs", "setup", "gen_witness", "prove",
              "verify"]


def run_ezkl(name: str, work: Path, timeout: float) -> dict:
    folder = REPO / "circuits" / name
    d = work / name / "ezkl"
    d.mkdir(parents=True, exist_ok=True)
    job = {"dir": str(d), "model": str(folder / "model.onnx"), "calibration": str(folder / "calibration.json"),
           "input": str(folder / "input.json")}
    steps = {}
    for step in EZKL_STEPS:
        steps[step] = run_ezkl_step({**job, "step": step}, timeout)
        print(f"  ezkl {step}: {steps[step].get('wall', steps[step].get('error'))}", file=sys.stderr, flush=True)
        if "error" in steps[step]:
            break
    record: dict = {"steps": steps}
    if (d / "settings.json").exists():
        settings = json.loads((d / "settings.json").read_text())
        record["logrows"] = settings["run_args"]["logrows"]
        record["num_rows"] = settings.get("num_rows")
    for f in ("pk.key", "vk.key", "kzg.srs", "proof.json"):
        if (d / f).exists():
            record[f] = (d / f).stat().st_size
    if (d / "proof.json").exists():
        record["proof_raw_bytes"] = len(json.loads((d / "proof.json").read_text())["proof"])
    return record


# --- ours ------------------------------------------------------------------------------


def run_ours(name: str, work: Path) -> dict:
    folder = REPO / "circuits" / name
    build = work / name / "zkml" / "build"
    record = e2e.prepare(folder, build)
    record["prove"] = e2e.run_child({"kind": "prove", "build": str(build), "input": str(folder / "input.json"),
                                     "out": str(build.parent / "out"), "device": "cpu"})
    record["verify"] = e2e.run_child({"kind": "verify", "build": str(build), "out": str(build.parent / "out")})
    settings = json.loads((build / "settings.json").read_text())
    record["constraints"] = settings["constraints"]
    record["domain"] = settings["qap_domain_size"]
    record["pk"] = (build / "proving_key.bin").stat().st_size
    record["vk"] = (build / "verification_key.json").stat().st_size
    record["proof.json"] = (build.parent / "out" / "proof.json").stat().st_size
    return record


# --- report ----------------------------------------------------------------------------


def _cell(rec: dict | None) -> str:
    if rec is None:
        return "—"
    if "error" in rec:
        return "failed"
    return f"{_time(rec['wall'])}, {rec['peak_rss'] / MIB:,.0f} MiB"


def _time(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def _sum(recs: list) -> str:
    if any(r is None or "error" in r for r in recs):
        return "—"
    return f"{_time(sum(r['wall'] for r in recs))}, {max(r['peak_rss'] for r in recs) / MIB:,.0f} MiB"


def _ok(recs: list) -> bool:
    return all(r is not None and "error" not in r for r in recs)


def summary(results: list[dict]) -> str:
    """One line per model: proving (ezkl: witness + prove) and the whole pipeline, ezkl/ours."""
    out = ["| model | ours: prove | ezkl: witness + prove | ezkl/ours time | ezkl/ours peak RSS"
           " | ours: compile → verify | ezkl: settings → verify (SRS included) | ezkl/ours time |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        ours, s = r["ours"], r["ezkl"]["steps"]
        mine = [ours[k] for k in ("compile", "setup", "prove", "verify")]
        proving = [s.get("gen_witness"), s.get("prove")]
        theirs = [s.get(k) for k in EZKL_STEPS]
        row = f"| {r['model']} | {_cell(ours['prove'])} | {_sum(proving)} | "
        if _ok(proving):
            t = sum(x["wall"] for x in proving) / ours["prove"]["wall"]
            m = max(x["peak_rss"] for x in proving) / ours["prove"]["peak_rss"]
            row += f"{t:,.0f}× | {m:.1f}× | "
        else:
            row += "— | — | "
        row += f"{_sum(mine)} | {_sum(theirs)} | "
        row += f"{sum(x['wall'] for x in theirs) / sum(x['wall'] for x in mine):,.0f}× |" if _ok(theirs) else "— |"
        out.append(row)
    return "\n".join(out)


def report(results: list[dict]) -> str:
    out = [summary(results), ""]
    for r in results:
        ours, ez = r["ours"], r["ezkl"]
        s = ez["steps"]
        g = s.get
        out.append(f"**{r['model']}** — ours: {ours['constraints']:,} constraints, domain 2^{ours['domain'].bit_length() - 1};"
                   f" ezkl: logrows {ez.get('logrows', '?')}, {ez.get('num_rows', '?')} rows\n")
        out.append("| step | ours (time, peak RSS) | ezkl (time, peak RSS) |")
        out.append("|---|---:|---:|")
        out.append(f"| compile (ezkl: gen_settings + calibrate_settings + compile_circuit) | {_cell(ours['compile'])}"
                   f" | {_sum([g('gen_settings'), g('calibrate_settings'), g('compile_circuit')])} |")
        out.append(f"| &nbsp; ezkl calibrate_settings alone | | {_cell(g('calibrate_settings'))} |")
        out.append(f"| SRS (ezkl: gen_srs, local) | in setup | {_cell(g('gen_srs'))} |")
        out.append(f"| setup (ours: --dev) | {_cell(ours['setup'])} | {_cell(g('setup'))} |")
        out.append(f"| witness (ezkl: gen_witness) | in prove | {_cell(g('gen_witness'))} |")
        out.append(f"| prove | {_cell(ours['prove'])} | {_cell(g('prove'))} |")
        out.append(f"| **witness + prove** | **{_cell(ours['prove'])}** | **{_sum([g('gen_witness'), g('prove')])}** |")
        out.append(f"| verify | {_cell(ours['verify'])} | {_cell(g('verify'))} |")
        raw = ez.get("proof_raw_bytes")
        out.append(f"| proof size (raw; JSON file) | 256 B; {ours['proof.json']:,} B | "
                   f"{f'{raw:,} B; ' if raw else ''}{ez['proof.json']:,} B |" if "proof.json" in ez else
                   f"| proof size (raw; JSON file) | 256 B; {ours['proof.json']:,} B | — |")
        out.append(f"| proving key | {ours['pk'] / MIB:,.1f} MiB | "
                   f"{ez['pk.key'] / MIB:,.1f} MiB |" if "pk.key" in ez else
                   f"| proving key | {ours['pk'] / MIB:,.1f} MiB | — |")
        out.append(f"| verifying key (+ SRS for ezkl) | {ours['vk']:,} B | "
                   + (f"{ez['vk.key']:,} B + {ez['kzg.srs'] / MIB:,.1f} MiB |" if "vk.key" in ez else "— |"))
        errors = [f"ezkl {k} failed: `{v['error']}`" for k, v in s.items() if "error" in v]
        if errors:
            out.append("\n" + "; ".join(errors))
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(DEFAULT))
    p.add_argument("--timeout", type=float, default=600, help="seconds allowed to one ezkl step (default 600)")
    p.add_argument("--work", type=Path, default=None)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    import ezkl  # noqa: F401  (fail early, with the install hint below)

    results = []
    with tempfile.TemporaryDirectory(prefix="zkml-vs-ezkl-") as tmp:
        work = args.work or Path(tmp)
        for name in [m for m in args.models.split(",") if m]:
            print(f"{name}:", file=sys.stderr, flush=True)
            ours = run_ours(name, work)
            ez = run_ezkl(name, work, args.timeout)
            results.append({"model": name, "ours": ours, "ezkl": ez})
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    from importlib.metadata import version

    command = "bench/vs_ezkl.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"Command: `.venv/bin/python {command.strip()}` ({stamp}; {e2e.machine()}; "
          f"zkml {version('zkml')}, ezkl {version('ezkl')}; CPU only)\n")
    print(report(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"command": command, "date": stamp, "results": results}, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "child":
        print(json.dumps(_ezkl_child(json.loads(sys.argv[2]))))
    else:
        try:
            main()
        except ModuleNotFoundError as e:
            if e.name != "ezkl":
                raise
            sys.exit("ezkl is not installed: `.venv/bin/python -m pip install -r bench/requirements.lock`")
