"""Killing `zkml setup` or `zkml prove` at any moment leaves no half-written
artifact in view, the build directory keeps working, and two `prove` runs on
one build at once do not corrupt each other."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import zkml
from conftest import DIGITS

CLI = [sys.executable, "-m", "zkml.cli"]


def _start(*args) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _temporaries(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.endswith((".staging", ".tmp")))


def _json_files_parse(d: Path) -> None:
    for p in d.glob("*.json"):
        json.loads(p.read_text())  # a torn JSON file would raise


def test_killing_setup_at_any_moment_keeps_the_build_usable(digits_build, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(digits_build, build)
    # Kill times spread over interpreter start, key generation and the commit.
    for delay in (0.05, 0.3, 0.5, 0.7, 0.9, 1.1, 1.4, 1.8):
        p = _start("setup", build, "--dev")
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        _json_files_parse(build)
        out = tmp_path / f"out-{delay}"
        r = subprocess.run([*CLI, "prove", str(build), str(DIGITS / "input.json"), "-o", str(out), "--device", "cpu"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            assert zkml.verify(build, out)
        else:
            # Only a clear, one-line refusal is allowed, and it says what to do.
            assert r.returncode == 2 and r.stderr.count("\n") == 1 and "setup" in r.stderr, r.stderr
            assert not out.exists()
    # A completed setup afterwards leaves no temporary file behind, and works.
    zkml.setup(build, dev=True)
    assert _temporaries(build) == []
    zkml.prove(build, DIGITS / "input.json", tmp_path / "final", device="cpu")
    assert zkml.verify(build, tmp_path / "final")


def test_killing_prove_leaves_the_old_proof_or_a_new_complete_one(digits_build, tmp_path):
    out = tmp_path / "out"
    zkml.prove(digits_build, DIGITS / "input.json", out, device="cpu")
    for delay in (0.05, 0.4, 0.6, 0.8, 1.0, 1.3):
        p = _start("prove", digits_build, DIGITS / "input.json", "-o", out, "--device", "cpu")
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        _json_files_parse(out)
        # proof.json and public.json are renamed separately: a kill between the
        # two leaves a new proof beside old public signals. Both are complete
        # files; the pair then fails verification instead of passing wrongly.
        assert isinstance(zkml.verify(digits_build, out), bool)
    zkml.prove(digits_build, DIGITS / "input.json", out, device="cpu")
    assert _temporaries(out) == [] and zkml.verify(digits_build, out)


def test_two_proves_into_one_directory_at_once_leave_a_valid_proof(digits_build, tmp_path):
    out = tmp_path / "out"
    procs = [_start("prove", digits_build, DIGITS / "input.json", "-o", out, "--device", "cpu") for _ in range(3)]
    assert [p.wait() for p in procs] == [0, 0, 0]
    assert _temporaries(out) == []
    assert zkml.verify(digits_build, out)


def test_a_stale_temporary_of_a_dead_process_is_removed_and_a_live_one_kept(digits_build, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / f".proof.json.{dead.pid}.abcd1234.staging").write_text("{ half")
    (out / f".proof.json.{os.getppid()}.abcd1234.staging").write_text("{ someone else's")
    zkml.prove(digits_build, DIGITS / "input.json", out, device="cpu")
    assert _temporaries(out) == [f".proof.json.{os.getppid()}.abcd1234.staging"]


def test_a_verification_key_from_another_setup_is_caught_before_proving(digits_build, tmp_path):
    # What a setup killed between its two renames would leave: a new proving
    # key beside the old verification key.
    build = tmp_path / "build"
    shutil.copytree(digits_build, build)
    old_vk = (build / "verification_key.json").read_bytes()
    zkml.setup(build, dev=True)
    (build / "verification_key.json").write_bytes(old_vk)
    try:
        zkml.prove(build, DIGITS / "input.json", tmp_path / "out", device="cpu")
    except zkml.CircuitMismatchError as e:
        assert "interrupted" in str(e) and "zkml setup" in str(e)
    else:
        raise AssertionError("a mismatched key pair was used")
    assert not (tmp_path / "out").exists()


def _scaled_model(tmp_path: Path) -> Path:
    """The digits model with its weights scaled by 1.01: another circuit, other constants."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(DIGITS / "model.onnx")
    for init in model.graph.initializer:
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 1.01, init.name))
    path = tmp_path / "other.onnx"
    onnx.save(model, path)
    return path


def _check(build: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "prove", str(build), str(DIGITS / "input.json"), "--check"],
                          capture_output=True, text=True)


def test_killing_compile_never_leaves_a_circuit_with_another_circuit_s_constants(digits_build, tmp_path):
    # circuit.json, constants.bin and settings.json are renamed one after the
    # other: whatever moment a kill hits, the build either works (old or new
    # circuit, each with its own constants) or is refused in one line.
    other = _scaled_model(tmp_path)
    build = tmp_path / "build"
    shutil.copytree(digits_build, build)
    # Kill times spread over interpreter start, quantization and the commit
    # (a compile of this model takes about half a second).
    for delay in (0.05, 0.15, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.8):
        p = _start("compile", other, "-o", build, "--calibration", DIGITS / "calibration.json")
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        _json_files_parse(build)
        r = _check(build)
        if r.returncode != 0:
            assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    zkml.compile(other, build, calibration=DIGITS / "calibration.json")
    assert _temporaries(build) == [] and _check(build).returncode == 0


def test_a_torn_compile_is_refused_naming_the_file_that_does_not_belong(digits_build, tmp_path):
    # The states a kill between the renames of a compile could leave (a new
    # circuit.json beside the old constants.bin, the old settings.json), built
    # directly since the window is too short to hit by timing.
    other = tmp_path / "other"
    zkml.compile(_scaled_model(tmp_path), other, calibration=DIGITS / "calibration.json")
    assert (other / "constants.bin").read_bytes() != (digits_build / "constants.bin").read_bytes()
    new_circuit = tmp_path / "new_circuit"
    shutil.copytree(digits_build, new_circuit)
    shutil.copy(other / "circuit.json", new_circuit / "circuit.json")
    r = _check(new_circuit)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "constants.bin" in r.stderr, r.stderr
    with_settings = tmp_path / "new_settings"
    shutil.copytree(new_circuit, with_settings)
    shutil.copy(other / "settings.json", with_settings / "settings.json")
    r = _check(with_settings)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "constants.bin" in r.stderr, r.stderr
    new_pair = tmp_path / "new_pair"
    shutil.copytree(new_circuit, new_pair)
    shutil.copy(other / "constants.bin", new_pair / "constants.bin")
    r = _check(new_pair)  # the old settings.json describes another circuit
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "circuit hash" in r.stderr, r.stderr


def test_losing_the_race_to_create_the_output_directory_is_not_an_error(tmp_path, monkeypatch):
    """Another command creates the directory between our existence check and
    our mkdir: we write into it, and on failure we do not remove it (it is not
    ours)."""
    from zkml.artifacts import Staging

    target = tmp_path / "out"
    real_mkdir = Path.mkdir

    def racing_mkdir(self, *args, **kwargs):
        real_mkdir(self, *args, **kwargs)  # the other process wins
        raise FileExistsError(17, "File exists", str(self))

    monkeypatch.setattr(Path, "mkdir", racing_mkdir)
    with Staging(target) as stage:
        stage.write_bytes("a.txt", b"ok")
    assert (target / "a.txt").read_bytes() == b"ok"
    try:
        with Staging(tmp_path / "other") as stage:
            stage.write_bytes("b.txt", b"x")
            raise RuntimeError("fails after the race")
    except RuntimeError:
        pass
    assert (tmp_path / "other").is_dir()  # not removed: another command made it
