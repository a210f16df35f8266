"""Progress on long work (issue 9 item 4): the stages that compile, setup and
prove go through, named by the native pipeline where it does the work; a bar
with those names on a terminal after about 2 s, nothing otherwise (not a
terminal, --quiet, --json); each stage's seconds and peak RSS in --json."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

import zkml
from conftest import DIGITS
from test_ceremony import ptau  # noqa: F401 (the session fixture: a prepared power-12 ptau, cached)
from zkml import _native, progress

PROVE_NATIVE = ["synthesize", "evaluate", "quotient", "msm"]


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100, color_system=None), out


def _two_stages(rec: progress.Recorder, seconds: float) -> None:
    rec.begin("first_stage")
    time.sleep(seconds)
    rec.begin("second_stage")
    time.sleep(seconds)


def test_a_long_stage_on_a_terminal_shows_the_bar_and_each_stage_name():
    console, out = _terminal()
    with progress.shown("prove", console=console, delay=0.05, interval=0.01) as rec:
        _two_stages(rec, 0.15)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())  # cursor moves, if any
    assert "first_stage" in text and "second_stage" in text
    assert "prove" in text and "━" in text  # the bar, with the command's name
    # A line per finished stage stays: its seconds and the peak memory so far.
    assert any(line.strip().startswith("✓ first_stage") and " s " in line and "peak" in line and "iB" in line
               for line in text.replace("\r", "\n").splitlines()), text
    assert [s.name for s in rec.stages] == ["first_stage", "second_stage"]


def test_short_work_shows_nothing_even_on_a_terminal():
    console, out = _terminal()
    with progress.shown("prove", console=console) as rec:  # the default delay: about 2 s
        _two_stages(rec, 0.01)
    assert out.getvalue() == ""
    assert len(rec.stages) == 2


@pytest.mark.parametrize("how", ["not a terminal", "quiet"])
def test_no_progress_when_not_a_terminal_or_quiet(how):
    out = io.StringIO()
    console = Console(file=out) if how == "not a terminal" else Console(file=out, force_terminal=True)
    with progress.shown("prove", enabled=how != "quiet", console=console, delay=0.0, interval=0.01) as rec:
        _two_stages(rec, 0.05)
    assert out.getvalue() == ""
    assert [s.name for s in rec.stages] == ["first_stage", "second_stage"]  # still recorded


def test_the_default_console_needs_stdout_and_stderr_on_a_terminal(monkeypatch, capsys):
    started = []
    monkeypatch.setattr(progress._Display, "run", lambda self: started.append(self))
    monkeypatch.setattr(progress, "on_terminal", lambda: False)
    with progress.shown("prove"):
        pass
    assert started == []
    monkeypatch.setattr(progress, "on_terminal", lambda: True)
    with progress.shown("prove"):
        pass
    assert len(started) == 1
    assert capsys.readouterr() == ("", "")


def test_stage_records_hold_seconds_and_a_growing_peak_rss():
    rec = progress.Recorder()
    rec.begin("a")
    blob = bytearray(64 << 20)  # 64 MiB, touched
    blob[::4096] = b"\1" * len(blob[::4096])
    rec.begin("b")
    rec.end()
    a, b = rec.stages
    assert (a.name, b.name) == ("a", "b") and a.seconds >= 0 and b.seconds >= 0
    assert a.peak_rss_bytes >= 64 << 20 and b.peak_rss_bytes >= a.peak_rss_bytes
    assert a.to_json() == {"name": "a", "seconds": round(a.seconds, 6), "peak_rss_bytes": a.peak_rss_bytes}
    del blob


def test_native_prove_reports_its_stages_in_order(digits_build):
    """A real prove of digits_mlp: the native pipeline names its stages at their
    boundaries, a watcher on another thread sees them in that order, and each
    ends with its seconds and the peak RSS."""
    build = zkml.api.load_build(digits_build)
    loading = _native.Progress()
    prover = _native.Prover(build.data, build.constants, str(digits_build / "proving_key.bin"), "cpu", None, loading)
    assert [s[0] for s in loading.stages()] == ["load_circuit", "load_key"] and loading.current() is None

    handle = _native.Progress()
    seen: list[str] = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            current = handle.current()
            if current is not None and (not seen or seen[-1] != current[0]):
                seen.append(current[0])
            time.sleep(0.0005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        quantized = zkml.program.quantize_inputs(build.program, zkml.api._float_inputs(build, DIGITS / "input.json",
                                                                                       None))
        out = prover.prove([q.reshape(-1).tolist() for q in quantized], None, [], handle)
    finally:
        done.set()
        watcher.join()
    stages = handle.stages()
    assert [s[0] for s in stages] == PROVE_NATIVE
    assert seen and seen == [n for n in PROVE_NATIVE if n in seen], seen  # observed live, in order
    assert handle.current() is None
    assert all(seconds >= 0 and rss > 0 for _, seconds, rss in stages)
    assert [rss for _, _, rss in stages] == sorted(rss for _, _, rss in stages)
    # The timings the proof reports measure the same stages.
    timings = dict(out["timings"])
    for name, seconds, _ in stages[1:]:
        assert abs(seconds - timings[name]) < 0.05 + 0.5 * timings[name], (name, seconds, timings[name])


def test_native_calls_without_a_handle_report_nothing_and_still_work(digits_build):
    build = zkml.api.load_build(digits_build)
    info = _native.circuit_info(build.data, build.constants)
    handle = _native.Progress()
    assert _native.circuit_info(build.data, build.constants, handle) == info
    assert [s[0] for s in handle.stages()] == ["load_circuit", "synthesize"]


def test_api_results_carry_the_stages_of_each_command(tmp_path, digits_build):
    build = tmp_path / "build"
    compiled = zkml.compile(DIGITS / "model.onnx", build, calibration=DIGITS / "calibration.json")
    assert [s.name for s in compiled.stages] == list(progress.PLANS["compile"])
    keys = zkml.setup(build, dev=True)
    assert [s.name for s in keys.stages] == list(progress.PLANS["setup"])
    proved = zkml.prove(digits_build, DIGITS / "input.json", tmp_path / "out", device="cpu")
    assert [s.name for s in proved.stages] == list(progress.PLANS["prove"])
    # A Prover reports its loading with the first proof only.
    prover = zkml.Prover(digits_build, device="cpu")
    first = prover.prove(DIGITS / "input.json", tmp_path / "o1")
    second = prover.prove(DIGITS / "input.json", tmp_path / "o2")
    assert [s.name for s in first.stages] == list(progress.PLANS["Prover"])
    assert [s.name for s in second.stages] == list(progress.PLANS["Prover"])[3:]


def _cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zkml.cli", *map(str, args)], capture_output=True, text=True)


def _stages_ok(doc: dict, plan: str) -> None:
    stages = doc["stages"]
    assert [s["name"] for s in stages] == list(progress.PLANS[plan])
    for s in stages:
        assert set(s) == {"name", "seconds", "peak_rss_bytes"}
        assert isinstance(s["seconds"], float) and s["seconds"] >= 0
        assert isinstance(s["peak_rss_bytes"], int) and s["peak_rss_bytes"] > 1 << 20
    assert [s["peak_rss_bytes"] for s in stages] == sorted(s["peak_rss_bytes"] for s in stages)


def test_json_of_compile_setup_and_prove_has_each_stage(tmp_path):
    build, out = tmp_path / "build", tmp_path / "out"
    r = _cli("compile", DIGITS / "model.onnx", "-o", build, "--calibration", DIGITS / "calibration.json", "--json")
    assert r.returncode == 0, r.stderr
    _stages_ok(json.loads(r.stdout), "compile")
    r = _cli("setup", build, "--dev", "--json")
    assert r.returncode == 0, r.stderr
    _stages_ok(json.loads(r.stdout), "setup")
    r = _cli("prove", build, DIGITS / "input.json", "-o", out, "--device", "cpu", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    _stages_ok(doc, "prove")
    native = {s["name"]: s["seconds"] for s in doc["stages"]}
    assert set(PROVE_NATIVE) <= set(doc["timings"]) and set(PROVE_NATIVE) <= set(native)
    # Not a terminal: nothing but the warnings on stderr.
    assert all(line.startswith("warning: ") for line in r.stderr.splitlines()), r.stderr


def test_setup_from_a_ptau_records_its_stages_too(tmp_path, ptau):  # noqa: F811
    from click.testing import CliRunner

    from zkml.cli import main

    build = tmp_path / "build"
    zkml.compile(DIGITS / "model.onnx", build, calibration=DIGITS / "calibration.json")
    r = CliRunner().invoke(main, ["setup", str(build), "--ptau", str(ptau["prepared"]), "--json"])
    assert r.exit_code == 0, r.output
    _stages_ok(json.loads(r.stdout), "setup --ptau")  # zkml.setup(build, ptau=...) records the same


@pytest.mark.parametrize("flags", [[], ["-q"], ["--quiet"], ["--json"]])
def test_quiet_and_json_turn_the_indicator_off(monkeypatch, tmp_path, digits_build, flags):
    from click.testing import CliRunner

    from zkml.cli import main

    asked: list[bool] = []
    real = progress.shown

    def spy(command, enabled=True, **kw):
        asked.append(enabled)
        return real(command, enabled=False)

    monkeypatch.setattr(progress, "shown", spy)
    runner = CliRunner()
    build = tmp_path / "build"
    for args in (["compile", str(DIGITS / "model.onnx"), "-o", str(build), "--calibration",
                  str(DIGITS / "calibration.json")],
                 ["setup", str(build), "--dev"],
                 ["prove", str(build), str(DIGITS / "input.json"), "-o", str(tmp_path / "out"), "--device", "cpu"]):
        r = runner.invoke(main, [*args, *flags])
        assert r.exit_code == 0, r.output
    assert asked == [not flags] * 3


@pytest.mark.skipif(not hasattr(os, "openpty") or sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_short_command_on_a_real_terminal_prints_nothing_extra(digits_build, tmp_path):
    import pty

    def run_on_pty(*args: str) -> str:
        pid, fd = pty.fork()
        if pid == 0:  # the child: stdin, stdout and stderr are the terminal
            os.execv(sys.executable, [sys.executable, "-m", "zkml.cli", *args])
        chunks = []
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, b"".join(chunks)
        return b"".join(chunks).decode()

    shown = run_on_pty("prove", str(digits_build), str(DIGITS / "input.json"), "-o", str(tmp_path / "out"),
                       "--device", "cpu")
    assert "argmax" in shown and "━" not in shown and "✓" not in shown, shown
