"""pytest-benchmark: end-to-end proving on each zoo model and a wide MLP (CPU).

Not part of `make test` (pytest's testpaths is tests/); `make bench` runs it:

    .venv/bin/python -m pytest bench/test_bench_prove.py --benchmark-json=target/bench/prove.json

Two benchmarks per model: `zkml.Prover.prove` with the key resident (what a
server proving many inferences pays per proof) and single-shot `zkml.prove`
(what `zkml prove` pays: read the build and the proving key, prove, write the
files). Each keeps in its `extra_info` the median time of every prover stage
(`ProveResult.timings`), the share of wall time outside MSM+NTT (the
`msm` and `quotient` stages), and, for the single shot, the peak resident
memory of one proof run in a fresh child process against
proving key + witness bytes.

Knobs (environment): ZKML_BENCH_FULL=1 adds lenet5 (2^21) and makes the wide
MLP issue 9's 1024-4096-4096-10 (2^19); ZKML_BENCH_MLP=1024,2048,2048,10 picks
other widths ("none": no MLP; default 256-1024-1024-10);
ZKML_BENCH_MODELS=digits_mlp,... picks zoo models; ZKML_BENCH_ROUNDS (default 5)
caps the timed rounds (a model whose proof takes over 2 s gets 3).
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import e2e  # bench/e2e.py (pytest puts this folder on sys.path)
import pytest

import zkml

FULL = os.environ.get("ZKML_BENCH_FULL") == "1"
ROUNDS = int(os.environ.get("ZKML_BENCH_ROUNDS", "5"))


def _models() -> list[str]:
    chosen = os.environ.get("ZKML_BENCH_MODELS")
    names = chosen.split(",") if chosen else [m for m in e2e.ZOO if FULL or m not in e2e.LARGE]
    widths = os.environ.get("ZKML_BENCH_MLP")
    if widths != "none":
        mlp = tuple(int(w) for w in widths.split(",")) if widths else (e2e.FULL_MLP if FULL else e2e.SMALL_MLP)
        names.append(e2e.mlp_name(mlp))
    return [n for n in names if n]


class Built:
    def __init__(self, name: str, folder: Path, build: Path, prepared: dict):
        self.name, self.folder, self.build, self.prepared = name, folder, build, prepared
        self.input = folder / "input.json"
        self.settings = zkml.api.load_build(build).settings


@pytest.fixture(scope="module", params=_models())
def built(request, tmp_path_factory) -> Built:
    name = request.param
    work = tmp_path_factory.mktemp(name)
    mlp = tuple(int(w) for w in name[4:].split("-")) if name.startswith("mlp_") else None
    folder = e2e.model_files(name, work, mlp, seed=0)
    build = work / "build"
    return Built(name, folder, build, e2e.prepare(folder, build))


def _median_stages(results: list) -> dict:
    return {k: statistics.median(r.timings.get(k, 0.0) for r in results) for k in e2e.STAGES}


def _record(benchmark, built: Built, results: list, walls: list) -> None:
    stages = _median_stages(results)
    wall = statistics.median(walls)
    benchmark.extra_info.update({
        "constraints": built.settings["constraints"],
        "domain_log2": built.settings["qap_domain_size"].bit_length() - 1,
        "stages_median_s": stages,
        "outside_msm_ntt_share": 1 - (stages["msm"] + stages["quotient"]) / wall,
        "outside_msm_ntt_evaluate_share": 1 - (stages["msm"] + stages["quotient"] + stages["evaluate"]) / wall,
        "compile_s": built.prepared["compile"]["wall"],
        "setup_s": built.prepared["setup"]["wall"],
    })


def _rounds(seconds: float) -> int:
    return min(ROUNDS, 3) if seconds > 2 else ROUNDS


def test_prover_prove_key_resident(benchmark, built, tmp_path):
    prover = zkml.Prover(built.build, device="cpu")
    t = time.perf_counter()
    prover.prove(built.input, tmp_path / "warm")  # reads nothing more, but checks the key's R1CS digest once
    first = time.perf_counter() - t
    results, walls = [], []

    def one():
        t = time.perf_counter()
        results.append(prover.prove(built.input, tmp_path / f"p{len(results)}"))
        walls.append(time.perf_counter() - t)

    benchmark.group = built.name
    benchmark.pedantic(one, rounds=_rounds(first), iterations=1)
    benchmark.extra_info["key_bytes"] = prover.key_bytes
    _record(benchmark, built, results, walls)


def test_single_shot_prove(benchmark, built, tmp_path):
    results, walls = [], []

    def one():
        t = time.perf_counter()
        results.append(zkml.prove(built.build, built.input, tmp_path / f"s{len(results)}", device="cpu"))
        walls.append(time.perf_counter() - t)

    one()  # warm: the first call in a process also pays zkml's lazy imports
    first = walls[0]
    results.clear()
    walls.clear()
    benchmark.group = built.name
    benchmark.pedantic(one, rounds=_rounds(first), iterations=1)
    _record(benchmark, built, results, walls)

    # Peak memory of one `zkml.prove` in a fresh process (this one holds pytest and the other benchmarks).
    child = e2e.run_child({"kind": "prove", "build": str(built.build), "input": str(built.input),
                           "out": str(tmp_path / "child"), "device": "cpu"})
    key = zkml.Prover(built.build, device="cpu").key_bytes
    witness = built.settings["variables"] * 32
    benchmark.extra_info.update({
        "child_wall_s": child["wall"],
        "child_peak_rss_bytes": child["peak_rss"],
        "child_base_rss_bytes": child["base_rss"],
        "key_bytes": key,
        "witness_bytes": witness,
        "peak_rss_over_key_plus_witness": child["peak_rss"] / (key + witness),
    })
