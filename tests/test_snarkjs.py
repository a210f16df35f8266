"""snarkjs (pinned in contracts/package.json) and the py_ecc verifier as oracles.

Our fixtures, files and calldata must mean to snarkjs what they mean to us,
and the two independent verifiers (snarkjs, tests/pairing_check.py) must agree.
"""

from __future__ import annotations

import shutil

import pytest

from evm_fixtures import R, groth16_instance, tampered, write_instance
from pairing_check import check_with_py_ecc, verify_with_py_ecc
from snarkjs_cli import snarkjs, snarkjs_verify, write_instance_files
from zkml.evm import contracts_dir, snarkjs_calldata

N = 3

if not (contracts_dir() / "node_modules" / "snarkjs").is_dir() or shutil.which("node") is None:
    # Not a skip: these checks are part of what "tests pass" means. `make test`
    # installs node's packages; a bare pytest run without them must fail loudly.
    raise RuntimeError("these tests need node and `npm ci` in contracts/ (`make test` does both)")


@pytest.fixture(scope="session")
def instance():
    return groth16_instance(N)


def test_snarkjs_accepts_a_fixture_and_py_ecc_agrees(tmp_path, instance):
    folder = write_instance_files(tmp_path, instance["vk"], instance["proof"], instance["public"])
    assert snarkjs_verify(folder)
    assert check_with_py_ecc(instance["vk"], instance["proof"], instance["public"]) is None


def test_snarkjs_rejects_a_tampered_proof_and_py_ecc_agrees(tmp_path, instance):
    proof = tampered(instance["proof"], ("pi_c",), groth16_instance(N, seed=1)["proof"]["pi_c"])
    folder = write_instance_files(tmp_path, instance["vk"], proof, instance["public"])
    assert not snarkjs_verify(folder)
    assert check_with_py_ecc(instance["vk"], proof, instance["public"]) == "the pairing equation does not hold"


def test_snarkjs_rejects_a_changed_public_input_and_py_ecc_agrees(tmp_path, instance):
    public = [str((int(instance["public"][0]) + 1) % R)] + instance["public"][1:]
    folder = write_instance_files(tmp_path, instance["vk"], instance["proof"], public)
    assert not snarkjs_verify(folder)
    assert not verify_with_py_ecc(instance["vk"], instance["proof"], public)


def test_py_ecc_rejects_what_a_verifier_must_reject(instance):
    vk, proof, public = instance["vk"], instance["proof"], instance["public"]
    assert "expected 3 public inputs" in check_with_py_ecc(vk, proof, public[:-1])
    assert "out of range" in check_with_py_ecc(vk, proof, [str(int(public[0]) + R)] + public[1:])
    assert "not on the curve" in check_with_py_ecc(vk, tampered(proof, ("pi_a",), ["1", "3", "1"]), public)
    other = groth16_instance(N, seed=1)
    assert not verify_with_py_ecc(vk, other["proof"], other["public"])


def test_our_calldata_text_is_what_snarkjs_prints(tmp_path, instance):
    write_instance(tmp_path, N)
    done = snarkjs("zkey", "export", "soliditycalldata", str(tmp_path / "public.json"), str(tmp_path / "proof.json"))
    assert done.returncode == 0, done.stderr
    assert snarkjs_calldata(instance["proof"], instance["public"]) == done.stdout.strip()
