"""`--device auto|cpu|cuda`: the GPU backend chosen, refused or failing, as a
user meets it. The tests marked `gpu` need an NVIDIA GPU and skip elsewhere,
saying why; the rest run everywhere (CI has no GPU)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import zkml
from conftest import DIGITS, read
from zkml import _native
from zkml import device as zdevice

AUTO = zdevice.describe("auto")
HAS_GPU = AUTO.startswith("cuda")
gpu = pytest.mark.skipif(not HAS_GPU, reason=f"needs a usable NVIDIA GPU; here: {AUTO}")
no_gpu = pytest.mark.skipif(HAS_GPU, reason="checks the behaviour without a GPU")


def cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zkml.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "RUST_BACKTRACE": "0", **(env or {})},
    )


def test_an_unknown_device_is_a_device_error(digits_build, tmp_path):
    with pytest.raises(zkml.DeviceError, match="auto, cpu or cuda"):
        zkml.prove(digits_build, DIGITS / "input.json", tmp_path / "out", device="tpu")
    assert not (tmp_path / "out").exists()


def test_cpu_is_reported_when_asked_for(digits_build, tmp_path):
    result = zkml.prove(digits_build, DIGITS / "input.json", tmp_path / "out", device="cpu")
    assert result.backend == "cpu" and result.device.startswith("cpu (asked for")
    assert zkml.verify(digits_build, tmp_path / "out")


def test_cuda_without_a_usable_gpu_is_one_line_exit_2_and_writes_nothing(digits_build, tmp_path):
    # A driver path that cannot exist makes CUDA unusable on any machine.
    r = cli("prove", digits_build, DIGITS / "input.json", "-o", tmp_path / "out", "--device", "cuda",
            env={"ZKML_CUDA_DRIVER": "/nonexistent/libcuda.so.1"})
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: device error: no CUDA driver found"), r.stderr
    assert not (tmp_path / "out").exists()


def test_auto_without_a_usable_gpu_proves_on_the_cpu_and_says_why(digits_build, tmp_path):
    r = cli("prove", digits_build, DIGITS / "input.json", "-o", tmp_path / "out",
            env={"ZKML_CUDA_DRIVER": "/nonexistent/libcuda.so.1"})
    assert r.returncode == 0, r.stderr
    assert "device: cpu (no usable GPU: no CUDA driver found" in r.stdout
    assert zkml.verify(digits_build, tmp_path / "out")


@no_gpu
def test_auto_here_is_the_cpu_with_a_reason():
    assert AUTO.startswith("cpu (no usable GPU: ")
    with pytest.raises(zkml.DeviceError):
        zdevice.describe("cuda")


@gpu
def test_gpu_proof_verifies_and_so_does_a_cpu_proof_of_the_same_input(digits_build, tmp_path):
    g = zkml.prove(digits_build, DIGITS / "input.json", tmp_path / "gpu", device="cuda")
    c = zkml.prove(digits_build, DIGITS / "input.json", tmp_path / "cpu", device="cpu")
    assert g.backend == "cuda" and g.device.startswith("cuda (")
    assert zkml.verify(digits_build, tmp_path / "gpu") and zkml.verify(digits_build, tmp_path / "cpu")
    assert g.public == c.public
    # Fresh randomness per proof: same statement, different proof points.
    assert read(tmp_path / "gpu" / "proof.json")["pi_a"] != read(tmp_path / "cpu" / "proof.json")["pi_a"]


@gpu
def test_gpu_msms_equal_the_cpu_msms():
    lines = _native.cuda_msm_check([10, 12], 5)
    assert any("g1 2^12 witness: equal to CPU" in line for line in lines), lines
    assert any("g2 2^10 edge: equal to CPU" in line for line in lines), lines


@gpu
def test_a_failure_in_the_device_path_is_a_python_exception(digits_build, tmp_path):
    _native._cuda_inject_failure_for_tests()
    # The injected failure is consumed by the first GPU MSM of this process's backend.
    with pytest.raises(zkml.DeviceError, match="injected failure"):
        _native.cuda_msm_check([10], 1)
    assert not (tmp_path / "out").exists()


@gpu
def test_auto_finishes_on_the_cpu_when_the_gpu_fails_mid_proof(digits_build, tmp_path):
    _native._cuda_inject_failure_for_tests()
    result = zkml.prove(digits_build, DIGITS / "input.json", tmp_path / "out", device="auto")
    assert result.backend == "cpu" and "the GPU failed during the proof" in result.device, result.device
    assert zkml.verify(digits_build, tmp_path / "out")


@gpu
def test_cuda_reports_a_gpu_failure_mid_proof_and_writes_nothing(digits_build, tmp_path):
    _native._cuda_inject_failure_for_tests()
    with pytest.raises(zkml.DeviceError, match="injected failure"):
        zkml.prove(digits_build, DIGITS / "input.json", tmp_path / "out", device="cuda")
    assert not (tmp_path / "out").exists()
