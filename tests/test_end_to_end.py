"""Our real proofs judged by verifiers that share no code with our Rust:
snarkjs (npm), py_ecc's pairing, and the exported Solidity contract in an
in-process EVM."""

from __future__ import annotations

import json

import numpy as np
import pytest
from eth_hash.auto import keccak as keccak256
from onnx import TensorProto, helper

import zkml
from conftest import DIGITS, read
from onnx_models import const, save_model, value
from pairing_check import verify_with_py_ecc
from snarkjs_cli import snarkjs_verify
from zkml.demo import run_demo
from zkml.errors import EvmError
from zkml.evm import InProcessChain, compile_verifier, encode_verify_call, proof_calldata, render_verifier

R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583


def test_snarkjs_accepts_our_key_public_signals_and_proof(digits_build, digits_proof, tmp_path):
    # Our files exactly as written, extra keys (circuit_hash, zkml_setup) and all.
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "verification_key.json").write_bytes((digits_build / "verification_key.json").read_bytes())
    for name in ("proof.json", "public.json"):
        (folder / name).write_bytes((digits_proof / name).read_bytes())
    assert snarkjs_verify(folder)
    public = read(folder / "public.json")
    public[-1] = str(int(public[-1]) ^ 1)
    (folder / "public.json").write_text(json.dumps(public))
    assert not snarkjs_verify(folder)


def test_py_ecc_pairing_accepts_our_proof(digits_build, digits_proof):
    vk = read(digits_build / "verification_key.json")
    proof, public = read(digits_proof / "proof.json"), read(digits_proof / "public.json")
    assert verify_with_py_ecc(vk, proof, public)


@pytest.fixture(scope="module")
def verifier(digits_build):
    chain = InProcessChain()
    contract = compile_verifier(render_verifier(read(digits_build / "verification_key.json")))
    return chain, chain.deploy(contract.bytecode)


@pytest.fixture(scope="module")
def calldata(digits_proof):
    return proof_calldata(read(digits_proof / "proof.json"), read(digits_proof / "public.json"))


def test_solidity_verifier_accepts_our_proof_with_both_overloads(verifier, calldata):
    chain, address = verifier
    proof8, inputs = calldata
    ok, gas = chain.verify(address, proof8, inputs)
    assert ok and 200_000 < gas < 300_000
    a, b, c = proof8[0:2], [proof8[2:4], proof8[4:6]], proof8[6:8]
    assert chain.verify_snarkjs(address, a, b, c, inputs)[0]


@pytest.mark.parametrize("word", range(8))
def test_solidity_verifier_rejects_a_tampered_proof_word(verifier, calldata, word):
    """A tampered A or C word is a `false`; a tampered B word puts B off the
    twist, which the pairing precompile refuses: a PrecompileFailed revert."""
    chain, address = verifier
    proof8, inputs = calldata
    bad = list(proof8)
    bad[word] = (bad[word] + 1) % Q
    if word in (2, 3, 4, 5):
        result = chain.call(address, encode_verify_call(bad, inputs))
        assert not result.success and result.output == keccak256(b"PrecompileFailed()")[:4]
    else:
        assert chain.verify(address, bad, inputs)[0] is False


def test_solidity_verifier_rejects_a_changed_public_input(verifier, calldata):
    chain, address = verifier
    proof8, inputs = calldata
    for i in range(len(inputs)):
        changed = list(inputs)
        changed[i] += 1
        assert chain.verify(address, proof8, changed)[0] is False


def test_solidity_verifier_rejects_a_public_input_plus_r(verifier, calldata):
    chain, address = verifier
    proof8, inputs = calldata
    aliased = list(inputs)
    aliased[0] += R  # still < 2^256, equal modulo r
    assert chain.verify(address, proof8, aliased)[0] is False


def test_solidity_verifier_rejects_a_proof_made_for_another_model(verifier, tmp_path):
    # Another model with the digits model's public layout: 64 inputs, 10 outputs.
    rng = np.random.default_rng(3)
    model = save_model(
        tmp_path / "other.onnx",
        [helper.make_node("Flatten", ["input"], ["f"], axis=1), helper.make_node("Gemm", ["f", "w"], ["logits"])],
        [value("input", [1, 8, 8], TensorProto.FLOAT)],
        [value("logits", [1, 10], TensorProto.FLOAT)],
        [const("w", rng.normal(size=(64, 10)) * 0.1, dtype="float32")],
    )
    digits = DIGITS
    build, out = tmp_path / "build", tmp_path / "out"
    zkml.compile(model, build, calibration=digits / "calibration.json")
    zkml.api._seeded_setup_for_tests(build, seed=5)
    zkml.prove(build, digits / "input.json", out)
    proof8, inputs = proof_calldata(read(out / "proof.json"), read(out / "public.json"))
    chain, address = verifier
    assert len(inputs) == 6
    assert chain.verify(address, proof8, inputs)[0] is False


def test_solidity_verifier_refuses_the_wrong_number_of_inputs(verifier, calldata):
    chain, address = verifier
    proof8, inputs = calldata
    with pytest.raises(EvmError):
        chain.verify(address, proof8, inputs[:-1])


def test_demo_runs_the_whole_path_and_reports_gas(tmp_path):
    lines: list[str] = []
    result = run_demo(tmp_path / "demo", echo=lines.append)
    assert result.valid and result.predicted == 7 and result.proof_bytes == 256
    assert 200_000 < result.gas < 300_000
    summary = lines[-1]
    assert summary.startswith("summary: digits_mlp") and "gas" in summary and "constraints" in summary
