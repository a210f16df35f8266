"""Production keys: a snarkjs powers-of-tau (made here, once per test cache,
never downloaded), a phase-2 ceremony with a zkml contribution, a snarkjs
contribution and a beacon, and the .r1cs / .wtns / .zkey files both ways."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import numpy_helper

import zkml
from snarkjs_cli import snarkjs, snarkjs_verify, write_instance_files
from zkml import ceremony
from zkml.cli import main

REPO = Path(__file__).resolve().parents[1]
DIGITS = REPO / "circuits" / "digits_mlp"
PTAU_POWER = 12


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="session")
def ptau(request) -> dict:
    """A prepared power-12 ptau (and the same ceremony before `prepare
    phase2`), made with the pinned snarkjs once per test cache."""
    cache = Path(request.config.cache.mkdir("ptau-v1"))
    prepared, raw = cache / f"pot{PTAU_POWER}.ptau", cache / f"pot{PTAU_POWER}_unprepared.ptau"
    if not (prepared.is_file() and raw.is_file()):
        work = cache / "work"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        steps = [
            ("powersoftau", "new", "bn128", str(PTAU_POWER), str(work / "p0.ptau")),
            ("powersoftau", "contribute", str(work / "p0.ptau"), str(work / "p1.ptau"), "--name=zkml tests",
             "-e=zkml test ceremony entropy"),
            ("powersoftau", "prepare", "phase2", str(work / "p1.ptau"), str(work / "p2.ptau")),
        ]
        for step in steps:
            done = snarkjs(*step, timeout=600)
            assert done.returncode == 0, done.stdout + done.stderr
        (work / "p1.ptau").replace(raw)
        (work / "p2.ptau").replace(prepared)
        shutil.rmtree(work, ignore_errors=True)
    return {"prepared": prepared, "unprepared": raw}


def _compile(folder: Path, model: Path = DIGITS / "model.onnx") -> Path:
    build = folder / "build"
    zkml.compile(model, build, calibration=DIGITS / "calibration.json")
    return build


@pytest.fixture(scope="module")
def ceremony_build(ptau, tmp_path_factory) -> Path:
    """digits_mlp through phase 2: ptau → zkml contribution → snarkjs
    contribution (exported, contributed with snarkjs, imported) → beacon."""
    folder = tmp_path_factory.mktemp("ceremony")
    build = _compile(folder)
    result = _run("setup", str(build), "--ptau", str(ptau["prepared"]))
    assert result.exit_code == 0, result.output
    assert "no contribution yet" in result.output
    result = _run("ceremony", "contribute", str(build), "--name", "alice (zkml)")
    assert result.exit_code == 0, result.output
    exported, contributed = folder / "exported.zkey", folder / "bob.zkey"
    assert _run("export-zkey", str(build), "-o", str(exported)).exit_code == 0
    done = snarkjs("zkey", "contribute", str(exported), str(contributed), "--name=bob (snarkjs)", "-e=bob's entropy")
    assert done.returncode == 0, done.stdout + done.stderr
    result = _run("import-zkey", str(build), str(contributed))
    assert result.exit_code == 0, result.output
    result = _run("ceremony", "beacon", str(build), "0102030405060708090a0b0c0d0e0f10", "10")
    assert result.exit_code == 0, result.output
    return build


def test_a_ceremony_key_records_its_making_and_verifies_against_the_circuit_and_ptau(ceremony_build, ptau):
    vk = json.loads((ceremony_build / "verification_key.json").read_text())
    record = vk["zkml_setup"]
    assert record["kind"] == "ceremony"
    assert [c["name"] for c in record["contributions"]] == ["alice (zkml)", "bob (snarkjs)", "final beacon"]
    assert [c["kind"] for c in record["contributions"]] == ["contribution", "contribution", "beacon"]
    assert record["ptau_sha256"] == ceremony._sha256(ptau["prepared"])
    result = _run("ceremony", "verify", str(ceremony_build), "--ptau", str(ptau["prepared"]))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: ") and "bob (snarkjs)" in result.output


def test_proofs_under_a_ceremony_key_verify_natively_with_snarkjs_and_in_the_evm(ceremony_build, tmp_path):
    from zkml.evm.calldata import proof_calldata
    from zkml.evm.chain import InProcessChain
    from zkml.evm.verifier import compile_verifier, render_verifier

    out = tmp_path / "proof"
    zkml.prove(ceremony_build, DIGITS / "input.json", out)
    assert zkml.verify(ceremony_build, out)
    vk = json.loads((ceremony_build / "verification_key.json").read_text())
    proof = json.loads((out / "proof.json").read_text())
    public = json.loads((out / "public.json").read_text())
    assert snarkjs_verify(write_instance_files(tmp_path / "snarkjs", vk, proof, public))
    chain = InProcessChain()
    address = chain.deploy(compile_verifier(render_verifier(vk)).bytecode)
    proof8, inputs = proof_calldata(proof, public)
    assert chain.verify(address, proof8, inputs)[0]
    wrong = list(inputs)
    wrong[0] += 1
    assert not chain.verify(address, proof8, wrong)[0]


def test_snarkjs_reads_our_r1cs_and_witness_and_proves_with_our_key(ceremony_build, tmp_path):
    r1cs, wtns, zkey = tmp_path / "c.r1cs", tmp_path / "w.wtns", tmp_path / "c.zkey"
    assert _run("export-r1cs", str(ceremony_build), "-o", str(r1cs)).exit_code == 0
    result = _run("witness", str(ceremony_build), str(DIGITS / "input.json"), "-o", str(wtns))
    assert result.exit_code == 0, result.output
    assert _run("export-zkey", str(ceremony_build), "-o", str(zkey)).exit_code == 0
    info = zkml.api.load_build(ceremony_build)
    counts = zkml._native.circuit_info(info.data, info.constants)
    done = snarkjs("r1cs", "info", str(r1cs))
    assert done.returncode == 0, done.stderr
    assert f"# of Constraints: {counts['constraints']}" in done.stdout
    assert f"# of Wires: {counts['variables']}" in done.stdout
    done = snarkjs("wtns", "check", str(r1cs), str(wtns))
    assert done.returncode == 0 and "WITNESS IS CORRECT" in done.stdout, done.stdout + done.stderr
    out = tmp_path / "snarkjs_proof"
    out.mkdir()
    done = snarkjs("groth16", "prove", str(zkey), str(wtns), str(out / "proof.json"), str(out / "public.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert zkml.verify(ceremony_build, out), "zkml verifies snarkjs's proof under our key"
    ours = tmp_path / "ours"
    zkml.prove(ceremony_build, DIGITS / "input.json", ours)
    assert json.loads((ours / "public.json").read_text()) == json.loads((out / "public.json").read_text())
    public = json.loads((out / "public.json").read_text())
    public[0] = str(int(public[0]) + 1)
    (out / "public.json").write_text(json.dumps(public))
    assert not zkml.verify(ceremony_build, out)


def _other_weights(folder: Path) -> Path:
    model = onnx.load(DIGITS / "model.onnx")
    init = max(model.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    w = numpy_helper.to_array(init).copy()
    w.flat[0] += 0.25
    init.CopyFrom(numpy_helper.from_array(w, init.name))
    path = folder / "other.onnx"
    onnx.save(model, path)
    return path


def test_a_key_of_another_model_is_refused_on_import_and_by_ceremony_verify(ceremony_build, ptau, tmp_path):
    other = _compile(tmp_path / "other", _other_weights(tmp_path))
    # Same architecture, one weight changed: the same key shape.
    zkey = tmp_path / "ceremony.zkey"
    assert _run("export-zkey", str(ceremony_build), "-o", str(zkey)).exit_code == 0
    result = _run("import-zkey", str(other), str(zkey))
    assert result.exit_code != 0
    assert "coefficients differ" in result.output
    assert not (other / "proving_key.bin").exists(), "nothing written"
    # The ceremony build's key files copied over: the key is not this circuit's.
    for name in ("proving_key.bin", "verification_key.json", "circuit.zkey"):
        shutil.copy(ceremony_build / name, other / name)
    result = _run("ceremony", "verify", str(other), "--ptau", str(ptau["prepared"]))
    assert result.exit_code == 1, result.output
    assert "NOT OK" in result.output and "not this circuit's" in result.output
    # A dev key is no ceremony key.
    zkml.setup(other, dev=True)
    result = _run("ceremony", "verify", str(other), "--ptau", str(ptau["prepared"]))
    assert result.exit_code == 1 and "not made by a ceremony" in result.output


def test_a_tampered_point_passes_the_import_checks_but_not_ceremony_verify(ceremony_build, ptau, tmp_path):
    """Swapping two valid points of the L query keeps every point on the
    curve (import accepts it) but breaks the key's derivation from the
    circuit, which snarkjs's recomputation finds."""
    build = tmp_path / "build"
    shutil.copytree(ceremony_build, build)
    zkey = tmp_path / "c.zkey"
    assert _run("export-zkey", str(build), "-o", str(zkey)).exit_code == 0
    data = bytearray(zkey.read_bytes())
    # Section 8 (L, "C" in snarkjs): find it by walking the section table.
    at, sections = 12, {}
    while at < len(data):
        sid = int.from_bytes(data[at:at + 4], "little")
        size = int.from_bytes(data[at + 4:at + 12], "little")
        sections[sid] = (at + 12, size)
        at += 12 + size
    start, size = sections[8]
    assert size >= 128
    first, second = bytes(data[start:start + 64]), bytes(data[start + 64:start + 128])
    assert first != second
    data[start:start + 64], data[start + 64:start + 128] = second, first
    tampered = tmp_path / "tampered.zkey"
    tampered.write_bytes(bytes(data))
    result = _run("import-zkey", str(build), str(tampered))
    assert result.exit_code == 0, result.output
    result = _run("ceremony", "verify", str(build), "--ptau", str(ptau["prepared"]))
    assert result.exit_code == 1, result.output
    assert "NOT OK" in result.output


def test_bad_ptau_and_zkey_files_are_one_line_errors_that_leave_the_build_unchanged(ptau, tmp_path):
    build = _compile(tmp_path)
    garbage = tmp_path / "garbage.ptau"
    garbage.write_bytes(b"not a ptau file at all" * 10)
    cases = [
        (garbage, "not a powers-of-tau file"),
        (ptau["unprepared"], "not prepared"),
        (tmp_path / "missing.ptau", "not found"),
    ]
    for path, expected in cases:
        result = CliRunner().invoke(main, ["setup", str(build), "--ptau", str(path)])
        assert result.exit_code != 0, result.output
        assert expected.lower() in result.output.lower(), result.output
        assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
        assert not (build / "proving_key.bin").exists() and not (build / "circuit.zkey").exists()
    zkey = tmp_path / "bad.zkey"
    zkey.write_bytes(b"zkey" + b"\x01\x00\x00\x00" + b"\x02\x00\x00\x00" + b"\x00" * 5)
    result = CliRunner().invoke(main, ["import-zkey", str(build), str(zkey)])
    assert result.exit_code != 0 and result.output.startswith("error: "), result.output
    assert not (build / "proving_key.bin").exists()
    result = CliRunner().invoke(main, ["ceremony", "contribute", str(build), "--name", "x"])
    assert result.exit_code != 0 and "--ptau" in result.output, result.output


def test_a_circuit_too_big_for_the_ptau_is_refused(ptau, tmp_path):
    cnn = REPO / "circuits" / "digits_cnn"
    build = tmp_path / "cnn"
    zkml.compile(cnn / "model.onnx", build, calibration=cnn / "calibration.json")
    result = CliRunner().invoke(main, ["setup", str(build), "--ptau", str(ptau["prepared"])])
    assert result.exit_code != 0
    assert "needs 2^15" in result.output and "power 15 or more" in result.output, result.output
    assert not (build / "proving_key.bin").exists()


def test_the_setup_kind_is_in_the_contract_and_verify_warns_on_a_dev_key(ceremony_build, digits_build, digits_proof):
    from zkml.evm.verifier import render_verifier

    vk = json.loads((ceremony_build / "verification_key.json").read_text())
    source = render_verifier(vk)
    assert "// Keys: Groth16 phase-2 ceremony from the powers-of-tau file with sha256" in source
    assert "3 contribution(s): 1. alice (zkml) (contribution); 2. bob (snarkjs) (contribution); " \
           "3. final beacon (beacon)." in source
    dev_vk = json.loads((digits_build / "verification_key.json").read_text())
    assert "NOT for production" in render_verifier(dev_vk)
    result = CliRunner().invoke(main, ["verify", str(digits_build), str(digits_proof)])
    assert result.exit_code == 0 and "seeded-test-only setup" in result.stderr, result.stderr


def _swap_points(src: Path, dst: Path, section: int, item: int, i: int, j: int) -> None:
    data = bytearray(src.read_bytes())
    at, sections = 12, {}
    while at < len(data):
        sid = int.from_bytes(data[at:at + 4], "little")
        size = int.from_bytes(data[at + 4:at + 12], "little")
        sections[sid] = at + 12
        at += 12 + size
    a, b = sections[section] + i * item, sections[section] + j * item
    data[a:a + item], data[b:b + item] = bytes(data[b:b + item]), bytes(data[a:a + item])
    dst.write_bytes(bytes(data))


@pytest.mark.parametrize("section, item, i, j, what", [
    (2, 64, 3, 4, "section 2 (tau in G1)"),                     # two powers of tau swapped
    (12, 64, 4095 + 5, 4095 + 6, "section 12"),                 # two Lagrange points of the 2^12 domain
    (3, 128, 3, 4, "section 3 (tau in G2)"),
])
def test_a_ptau_whose_points_are_not_one_secret_s_powers_is_refused_naming_the_section(
        ptau, tmp_path, section, item, i, j, what):
    build = _compile(tmp_path)
    bad = tmp_path / "bad.ptau"
    _swap_points(ptau["prepared"], bad, section, item, i, j)
    result = CliRunner().invoke(main, ["setup", str(build), "--ptau", str(bad)])
    assert result.exit_code != 0, result.output
    assert what in result.output and "inconsistent" in result.output, result.output
    assert not (build / "proving_key.bin").exists()
    assert ceremony.check_ptau(build, ptau["prepared"]) == (PTAU_POWER, PTAU_POWER)
