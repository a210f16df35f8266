"""Findings of the outside review (the soundness issue), each reproduced: a
seeded setup is no longer public API, and a degenerate verifying key is
refused by `verify` as it already was by `export-verifier`."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys

import pytest

import zkml
from conftest import DIGITS, read


def test_neither_setup_nor_prove_can_be_seeded_through_the_public_api():
    assert "seed" not in inspect.signature(zkml.setup).parameters
    assert "seed" not in inspect.signature(zkml.prove).parameters
    with pytest.raises(TypeError):
        zkml.setup("build", dev=True, seed=1)  # type: ignore[call-arg]


def test_the_test_suite_s_seeded_key_says_what_it_is(digits_build):
    setup = read(digits_build / "verification_key.json")["zkml_setup"]
    assert setup["kind"] == "seeded-test-only" and "forge" in setup["note"]


def test_a_fresh_dev_setup_differs_every_time(digits_build, tmp_path):
    keys = []
    for i in range(2):
        build = tmp_path / f"b{i}"
        shutil.copytree(digits_build, build)
        zkml.setup(build, dev=True)
        vk = read(build / "verification_key.json")
        assert vk["zkml_setup"]["kind"] == "local-dev"
        keys.append(vk["vk_delta_2"])
    assert keys[0] != keys[1]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda vk: vk.__setitem__("vk_delta_2", vk["vk_gamma_2"]), "vk_delta_2 equals vk_gamma_2"),
        (
            lambda vk: vk.__setitem__(
                "vk_delta_2",
                [
                    [
                        "10857046999023057135944570762232829481370756359578518086990519993285655852781",
                        "11559732032986387107991004021392285783925812861821192530917403151452391805634",
                    ],
                    [
                        "8495653923123431417604973247489272438418190587263600148770280649306958101930",
                        "4082367875863433681332203403145435568316851327593401208105741076214120093531",
                    ],
                    ["1", "0"],
                ],
            ),
            "G2 generator",
        ),
    ],
    ids=["delta-equals-gamma", "delta-is-the-generator"],
)
def test_verify_refuses_a_degenerate_key_for_which_proofs_can_be_forged(digits_build, digits_proof, tmp_path, edit, message):
    build = tmp_path / "build"
    shutil.copytree(digits_build, build)
    vk = read(build / "verification_key.json")
    edit(vk)
    (build / "verification_key.json").write_text(json.dumps(vk))
    with pytest.raises(zkml.ProofFormatError, match=message):
        zkml.verify(build, digits_proof)
    r = subprocess.run(
        [sys.executable, "-m", "zkml.cli", "verify", str(build), str(digits_proof)],
        capture_output=True,
        text=True,
        env={**os.environ, "RUST_BACKTRACE": "0"},
    )
    assert r.returncode == 2 and r.stderr.startswith("error: unsafe verification key"), (r.stdout, r.stderr)


def test_prove_never_writes_through_a_planted_symlink(digits_build, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    # The predictable staging names of earlier versions, and the final names.
    for name in ("proof.json", "public.json", "output.json"):
        (out / f".{name}.staging-{os.getpid()}").symlink_to(victim)
    (out / "proof.json").symlink_to(victim)
    zkml.prove(digits_build, DIGITS / "input.json", out, device="cpu")
    assert victim.read_text() == "precious"
    assert not (out / "proof.json").is_symlink() and zkml.verify(digits_build, out)


def test_setup_never_writes_the_key_through_a_planted_symlink(digits_build, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(digits_build, build)
    victim = tmp_path / "victim.bin"
    victim.write_bytes(b"precious")
    (build / f".proving_key.bin.staging-{os.getpid()}").symlink_to(victim)
    (build / f".verification_key.json.staging-{os.getpid()}").symlink_to(victim)
    zkml.setup(build, dev=True)
    assert victim.read_bytes() == b"precious"


def test_verify_prints_the_outputs_decoded_from_the_public_signals_not_output_json(digits_build, tmp_path):
    out = tmp_path / "out"
    result = zkml.prove(digits_build, DIGITS / "input.json", out, device="cpu")
    # A prover's lie in output.json changes nothing a verifier sees.
    lie = read(out / "output.json")
    name = next(iter(result.outputs))
    (out / "output.json").write_text(json.dumps({**lie, name: [0.0] * len(result.outputs[name].reshape(-1))}))
    r = subprocess.run([sys.executable, "-m", "zkml.cli", "verify", str(digits_build), str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("valid\n"), r.stderr
    assert f"argmax: {int(result.outputs[name].argmax())}" in r.stdout
    assert "input " in r.stdout and "sha256" in r.stdout
    r = subprocess.run([sys.executable, "-m", "zkml.cli", "verify", str(digits_build), str(out), "--json"],
                       capture_output=True, text=True)
    doc = json.loads(r.stdout)
    assert doc["valid"] is True
    assert doc["outputs"][name]["values"] == result.outputs[name].reshape(-1).tolist()


@pytest.mark.parametrize("where", ["absolute", "parent", "symlink"])
def test_external_data_outside_the_model_folder_is_refused(tmp_path, where):
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(4, dtype=np.float32).tobytes())
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "link.bin").symlink_to(secret)
    location = {"absolute": str(secret), "parent": "../secret.bin", "symlink": "link.bin"}[where]
    w = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "16")):
        entry = w.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [w],
    )
    model = folder / "model.onnx"
    model.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    with pytest.raises(zkml.InputFileError, match="cannot read ONNX model"):
        zkml.compile(model, tmp_path / "build")
    assert not (tmp_path / "build").exists()


BAD_G1 = {
    "leading zero": ["01", "2", "1"],
    "json integer": [1, 2, 1],
    "5000 digits": ["9" * 5000, "2", "1"],
    "negative": ["-1", "2", "1"],
    "infinity written with other coordinates": ["5", "7", "0"],
    "x equal to q": [
        "21888242871839275222246405745257275088696311157297823662689037894645226208583", "2", "1"],
}


@pytest.mark.parametrize("encoding", BAD_G1.values(), ids=BAD_G1.keys())
def test_python_and_native_parsers_refuse_the_same_non_canonical_points(digits_build, digits_proof, tmp_path, encoding):
    from zkml.evm.encoding import parse_g1

    with pytest.raises(zkml.ProofFormatError):
        parse_g1(encoding, "pi_a")
    out = tmp_path / "out"
    shutil.copytree(digits_proof, out)
    proof = read(out / "proof.json")
    proof["pi_a"] = encoding
    (out / "proof.json").write_text(json.dumps(proof))
    with pytest.raises(zkml.ProofFormatError):
        zkml.verify(digits_build, out)


def test_both_parsers_accept_the_canonical_point_at_infinity():
    from zkml.evm.encoding import parse_g1, parse_g2

    assert parse_g1(["0", "1", "0"], "p") is None
    assert parse_g2([["0", "0"], ["1", "0"], ["0", "0"]], "q") is None
