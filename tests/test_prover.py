"""zkml.Prover: the build and proving key loaded once (on a GPU, the key's
points uploaded once) for many proofs, each what zkml.prove would give."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import zkml
from conftest import DIGITS, read
from zkml import device as zdevice

AUTO = zdevice.describe("auto")
HAS_GPU = AUTO.startswith("cuda")
gpu = pytest.mark.skipif(not HAS_GPU, reason=f"needs a usable NVIDIA GPU; here: {AUTO}")


def _inputs():
    x = np.asarray(read(DIGITS / "input.json")["input_data"], dtype=np.float64)
    rng = np.random.default_rng(3)
    return [
        DIGITS / "input.json",
        [np.round(rng.uniform(0, 1, x.shape) * 16) / 16],
        [np.zeros_like(x)],
    ]


@pytest.fixture
def own_build(digits_build, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(digits_build, build)
    return build


def _same_statement(a: zkml.api.ProveResult, b: zkml.api.ProveResult) -> None:
    assert a.public == b.public
    assert a.outputs.keys() == b.outputs.keys()
    for k in a.outputs:
        np.testing.assert_array_equal(a.outputs[k], b.outputs[k])
        np.testing.assert_array_equal(a.quantized_outputs[k], b.quantized_outputs[k])
    assert a.backend == b.backend
    assert set(a.timings) == set(b.timings)
    assert read(a.out_dir / "output.json") == read(b.out_dir / "output.json")
    assert read(a.out_dir / "public.json") == read(b.out_dir / "public.json")
    assert set(read(a.out_dir / "proof.json")) == set(read(b.out_dir / "proof.json"))


def test_one_prover_proves_three_inputs_each_as_zkml_prove_does(own_build, tmp_path):
    prover = zkml.Prover(own_build, device="cpu")
    assert prover.device.startswith("cpu (asked for")
    publics = []
    for i, x in enumerate(_inputs()):
        r = prover.prove(x, tmp_path / f"p{i}")
        assert r.device == prover.device and r.backend == "cpu"
        assert zkml.verify(own_build, tmp_path / f"p{i}")
        single = zkml.prove(own_build, x, tmp_path / f"s{i}", device="cpu")
        assert zkml.verify(own_build, tmp_path / f"s{i}")
        _same_statement(r, single)
        publics.append(r.public)
    assert len({tuple(p) for p in publics}) == 3, "the three inputs should be three statements"
    # A proof of one input does not verify against another's public signals.
    shutil.copy(tmp_path / "p1" / "public.json", tmp_path / "p0" / "public.json")
    assert not zkml.verify(own_build, tmp_path / "p0")


def test_the_key_is_read_once_and_a_new_prover_on_a_corrupted_key_fails(own_build, tmp_path):
    pk = own_build / "proving_key.bin"
    prover = zkml.Prover(own_build, device="cpu")
    first = prover.prove(DIGITS / "input.json", tmp_path / "a")
    assert first.timings["load_key"] > 0
    data = bytearray(pk.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pk.write_bytes(bytes(data))
    second = prover.prove(DIGITS / "input.json", tmp_path / "b")
    assert second.timings["load_key"] == 0.0
    assert zkml.verify(own_build, tmp_path / "b")
    with pytest.raises(zkml.ProofFormatError, match="checksum mismatch"):
        zkml.Prover(own_build, device="cpu")
    # zkml.prove reads the key without its checksum: the proof verifies itself
    # with the key's verifying key, and when it fails the checksum names the
    # corruption. A corrupted point that this proof does not use (its scalar
    # is zero) leaves the proof valid; one that every proof uses does not.
    made = None
    try:
        made = zkml.prove(own_build, DIGITS / "input.json", tmp_path / "c", device="cpu")
    except zkml.ProofFormatError as e:
        assert "checksum mismatch" in str(e)
        assert not (tmp_path / "c").exists()
    if made is not None:
        assert zkml.verify(own_build, tmp_path / "c")
    data[len(data) // 2] ^= 0xFF
    data[104] ^= 0x40  # alpha_1's x, the body's first point: in every proof
    pk.write_bytes(bytes(data))
    with pytest.raises(zkml.ProofFormatError, match="checksum mismatch"):
        zkml.prove(own_build, DIGITS / "input.json", tmp_path / "e", device="cpu")
    assert not (tmp_path / "e").exists()
    pk.unlink()
    prover.prove(DIGITS / "input.json", tmp_path / "d")
    assert zkml.verify(own_build, tmp_path / "d")
    with pytest.raises(zkml.InputFileError, match="zkml setup"):
        zkml.Prover(own_build, device="cpu")


def test_a_key_of_an_older_format_asks_for_setup_again_and_nothing_is_written(own_build, tmp_path):
    pk = own_build / "proving_key.bin"
    data = bytearray(pk.read_bytes())
    assert data[:8] == b"ZKMLPK\x00\x03"
    data[7] = 2
    pk.write_bytes(bytes(data))
    with pytest.raises(zkml.ProofFormatError, match=r"older zkml \(key format 2\); run setup again"):
        zkml.prove(own_build, DIGITS / "input.json", tmp_path / "out", device="cpu")
    assert not (tmp_path / "out").exists()


def test_key_bytes_counts_the_key_held_in_memory(digits_build):
    prover = zkml.Prover(digits_build, device="cpu")
    # The points as held in memory (affine points of 72 and 136 bytes, a
    # little over the file's 64 and 128), so between the file size and 1.2x.
    size = (digits_build / "proving_key.bin").stat().st_size
    assert size <= prover.key_bytes <= 1.2 * size, (prover.key_bytes, size)
    assert prover.device_bytes == 0


def test_cuda_without_a_usable_gpu_is_a_device_error_at_construction(digits_build, tmp_path, monkeypatch):
    monkeypatch.setenv("ZKML_CUDA_DRIVER", "/nonexistent/libcuda.so.1")
    with pytest.raises(zkml.DeviceError, match="no CUDA driver found"):
        zkml.Prover(digits_build, device="cuda")
    with pytest.raises(zkml.DeviceError, match="auto, cpu or cuda"):
        zkml.Prover(digits_build, device="tpu")
    auto = zkml.Prover(digits_build, device="auto")
    assert auto.device.startswith("cpu (no usable GPU") and auto.device_bytes == 0
    r = auto.prove(DIGITS / "input.json", tmp_path / "out")
    assert r.device == auto.device and zkml.verify(digits_build, tmp_path / "out")
    assert not (tmp_path / "nothing").exists()


def test_bad_input_is_the_same_error_as_zkml_prove_and_writes_nothing(digits_build, tmp_path):
    prover = zkml.Prover(digits_build, device="cpu")
    bad = read(DIGITS / "input.json")
    bad["input_data"][0][5] = 1e6
    errors = []
    for call in (lambda: prover.prove(bad, tmp_path / "p"), lambda: zkml.prove(digits_build, bad, tmp_path / "s", device="cpu")):
        with pytest.raises(zkml.QuantizationError) as e:
            call()
        errors.append(str(e.value))
    assert errors[0] == errors[1]
    with pytest.raises(zkml.InputShapeError):
        prover.prove([np.zeros((1, 3))], tmp_path / "p")
    assert not (tmp_path / "p").exists() and not (tmp_path / "s").exists()
    # The prover still works after a refused input.
    prover.prove(DIGITS / "input.json", tmp_path / "ok")
    assert zkml.verify(digits_build, tmp_path / "ok")


def test_a_verification_key_that_does_not_match_is_refused(own_build, tmp_path):
    vk = read(own_build / "verification_key.json")
    vk["vk_alpha_1"] = vk["IC"][0]
    (own_build / "verification_key.json").write_text(__import__("json").dumps(vk))
    with pytest.raises(zkml.CircuitMismatchError, match="does not match the proving key"):
        zkml.Prover(own_build, device="cpu")


@gpu
def test_a_cuda_prover_proves_three_inputs_with_the_key_resident(digits_build, tmp_path):
    prover = zkml.Prover(digits_build, device="cuda")
    assert prover.device.startswith("cuda (") and prover.device_bytes > 0
    assert prover.key_bytes > 0
    for i, x in enumerate(_inputs()):
        r = prover.prove(x, tmp_path / f"g{i}")
        assert r.backend == "cuda" and r.device == prover.device
        assert zkml.verify(digits_build, tmp_path / f"g{i}")
        cpu = zkml.prove(digits_build, x, tmp_path / f"c{i}", device="cpu")
        assert r.public == cpu.public


@gpu
def test_auto_with_a_resident_key_finishes_a_failed_proof_on_the_cpu(digits_build, tmp_path):
    from zkml import _native

    prover = zkml.Prover(digits_build, device="auto")
    assert prover.device.startswith("cuda (")
    _native._cuda_inject_failure_for_tests()
    r = prover.prove(DIGITS / "input.json", tmp_path / "a")
    assert r.backend == "cpu" and "the GPU failed during the proof" in r.device
    assert zkml.verify(digits_build, tmp_path / "a")
    r = prover.prove(DIGITS / "input.json", tmp_path / "b")
    assert r.backend == "cuda" and zkml.verify(digits_build, tmp_path / "b")


@gpu
def test_cuda_with_a_resident_key_reports_a_gpu_failure_and_writes_nothing(digits_build, tmp_path):
    from zkml import _native

    prover = zkml.Prover(digits_build, device="cuda")
    _native._cuda_inject_failure_for_tests()
    with pytest.raises(zkml.DeviceError, match="injected failure"):
        prover.prove(DIGITS / "input.json", tmp_path / "a")
    assert not (tmp_path / "a").exists()
    prover.prove(DIGITS / "input.json", tmp_path / "b")
    assert zkml.verify(digits_build, tmp_path / "b")


def test_an_input_outside_the_calibration_range_is_proved_with_a_warning(digits_build, tmp_path):
    image = np.zeros((1, 8, 8))
    inside = zkml.prove(digits_build, [image], tmp_path / "in", device="cpu")
    assert inside.warnings == []
    image[0, 0, 0] = 1.5  # pixels were calibrated in [0, 1]; 1.5 is still representable
    outside = zkml.prove(digits_build, [image], tmp_path / "out", device="cpu")
    assert zkml.verify(digits_build, tmp_path / "out")
    [warning] = outside.warnings
    assert "input 'input' leaves its calibration range [0, 1] at 1 of 64 values (by up to 0.5)" in warning
    assert "certified error bound" in warning


def test_the_cli_prints_the_calibration_warning_on_stderr(digits_build, tmp_path):
    import json as _json
    import subprocess
    import sys

    doc = {"input_data": [[1.5] + [0.0] * 63]}  # representable, outside [0, 1]
    (tmp_path / "input.json").write_text(_json.dumps(doc))
    result = subprocess.run([sys.executable, "-m", "zkml.cli", "prove", str(digits_build),
                             str(tmp_path / "input.json"), "-o", str(tmp_path / "out"), "--device", "cpu"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "warning: input 'input' leaves its calibration range" in result.stderr
    assert "warning" not in result.stdout


def test_compiling_without_calibration_warns_on_stderr(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "zkml.cli", "compile", str(DIGITS / "model.onnx"),
                             "-o", str(tmp_path / "b")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "warning: no calibration data: every input is assumed to lie in [-1, 1]" in result.stderr


def test_work_that_cannot_fit_this_machine_is_refused_before_it_starts(own_build, tmp_path, monkeypatch):
    """setup and prove each need at least their memory floor at once (the
    matrices and the key; the key, the QAP rows and the witness): on a machine
    with less memory than that, a MemoryLimitError that says so, and nothing
    written, instead of a process killed halfway."""
    from zkml import estimate

    settings = read(own_build / "settings.json")
    setup_floor = estimate.memory_floor_bytes("setup", settings)
    prove_floor = estimate.memory_floor_bytes("prove", settings)
    # The floors sit below what the work really takes (measured on the zoo in
    # bench/RESULTS.md), and above what the key alone takes.
    key = (own_build / "proving_key.bin").stat().st_size
    assert key < prove_floor and key < setup_floor
    assert estimate.machine_memory_bytes() > max(setup_floor, prove_floor)
    before = (own_build / "proving_key.bin").read_bytes()

    monkeypatch.setattr(estimate, "machine_memory_bytes", lambda: min(setup_floor, prove_floor) - 1)
    with pytest.raises(zkml.MemoryLimitError, match="needs at least") as info:
        zkml.setup(own_build, dev=True)
    assert info.value.kind == "memory" and info.value.details["work"] == "setup"
    assert (own_build / "proving_key.bin").read_bytes() == before
    for make in (lambda: zkml.prove(own_build, DIGITS / "input.json", tmp_path / "out", device="cpu"),
                 lambda: zkml.Prover(own_build, device="cpu")):
        with pytest.raises(zkml.MemoryLimitError, match="prove of .* needs at least"):
            make()
    assert not (tmp_path / "out").exists()

    # The escape hatch, for a machine whose memory the check misjudges.
    monkeypatch.setenv(estimate.SKIP_MEMORY_CHECK, "1")
    assert zkml.prove(own_build, DIGITS / "input.json", tmp_path / "out", device="cpu").outputs
    assert zkml.verify(own_build, tmp_path / "out")
