"""The command line as a user meets it: help texts, exit codes, one-line
errors, and no partial artifact after a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from onnx import TensorProto, helper

from conftest import DIGITS, read
from onnx_models import const, save_model, value


def zkml(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "RUST_BACKTRACE": "0"}
    return subprocess.run(
        [sys.executable, "-m", "zkml.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env
    )


def assert_one_line_error(r: subprocess.CompletedProcess, *fragments: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def listing(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())} if d.exists() else {}


@pytest.mark.parametrize("command", ["compile", "setup", "prove", "verify", "export-verifier", "calldata", "deploy", "demo"])
def test_every_command_has_help_with_an_example(command):
    r = zkml(command, "--help")
    assert r.returncode == 0 and "Example" in r.stdout and "zkml " in r.stdout


def test_top_level_help_lists_the_path():
    r = zkml("--help")
    assert r.returncode == 0
    for cmd in ["compile", "setup", "prove", "verify", "export-verifier", "demo"]:
        assert cmd in r.stdout


def test_full_path_through_the_cli(tmp_path):
    build, out = tmp_path / "build", tmp_path / "out"
    r = zkml("compile", DIGITS / "model.onnx", "-o", build, "--calibration", DIGITS / "calibration.json")
    assert r.returncode == 0, r.stderr
    assert "constraints" in r.stdout and (build / "settings.json").exists()
    assert (build / "circuit.json").exists() and (build / "constants.bin").stat().st_size > 0
    r = zkml("setup", build, "--dev")
    assert r.returncode == 0, r.stderr
    assert "not for production" in r.stdout.lower()
    r = zkml("prove", build, DIGITS / "input.json", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "output logits [1, 10]" in r.stdout and "argmax: 7" in r.stdout
    assert "synthesize" in r.stdout and "msm" in r.stdout
    r = zkml("verify", build, out)
    assert (r.returncode, r.stdout.splitlines()[0]) == (0, "valid")
    assert "output logits [1, 10]" in r.stdout and "argmax: 7" in r.stdout

    public = read(out / "public.json")
    public[0] = str(int(public[0]) + 1)
    (out / "public.json").write_text(json.dumps(public))
    r = zkml("verify", build, out)
    assert (r.returncode, r.stdout.splitlines()[0]) == (1, "invalid")

    (out / "proof.json").write_text("{ not json")
    assert_one_line_error(zkml("verify", build, out), "proof")

    sol = tmp_path / "Verifier.sol"
    r = zkml("export-verifier", build, "-o", sol)
    assert r.returncode == 0 and "contract Groth16Verifier" in sol.read_text()


def test_setup_without_dev_is_an_error_that_points_at_dev(digits_build, tmp_path):
    build = tmp_path / "b"
    shutil.copytree(digits_build, build)
    before = listing(build)
    assert_one_line_error(zkml("setup", build), "--dev")
    assert listing(build) == before


def test_missing_model_file(tmp_path):
    assert_one_line_error(zkml("compile", tmp_path / "nope.onnx", "-o", tmp_path / "b"), "nope.onnx")
    assert not (tmp_path / "b").exists()


def test_malformed_onnx_file(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07 definitely not a protobuf model \xff\xff")
    assert_one_line_error(zkml("compile", bad, "-o", tmp_path / "b"), "bad.onnx")
    assert not (tmp_path / "b").exists()


def test_unsupported_op_names_node_op_and_opset(tmp_path):
    model = save_model(
        tmp_path / "sig.onnx",
        [
            helper.make_node("Gemm", ["x", "w"], ["h"], name="dense"),
            helper.make_node("Hardmax", ["h"], ["y"], name="squash"),
        ],
        [value("x", [1, 3], TensorProto.FLOAT)],
        [value("y", [1, 2], TensorProto.FLOAT)],
        [const("w", [[1, 2], [3, 4], [5, 6]], dtype="float32")],
        opset=17,
    )
    build = tmp_path / "b"
    build.mkdir()
    (build / "keep.txt").write_text("user file")
    assert_one_line_error(zkml("compile", model, "-o", build), "squash", "Hardmax", "opset 17")
    assert listing(build) == {"keep.txt": b"user file"}


def test_failed_compile_keeps_the_previous_build_intact(digits_build, tmp_path):
    build = tmp_path / "b"
    shutil.copytree(digits_build, build)
    before = listing(build)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    assert_one_line_error(zkml("compile", bad, "-o", build))
    assert listing(build) == before


def test_a_corrupted_constants_bin_is_a_one_line_error_naming_it(digits_build, digits_proof, tmp_path):
    build = tmp_path / "b"
    shutil.copytree(digits_build, build)
    blob = bytearray((build / "constants.bin").read_bytes())
    blob[len(blob) // 2] ^= 0x10
    (build / "constants.bin").write_bytes(bytes(blob))
    out = tmp_path / "out"
    assert_one_line_error(zkml("prove", build, DIGITS / "input.json", "-o", out), "constants.bin")
    assert not out.exists()
    assert_one_line_error(zkml("prove", build, DIGITS / "input.json", "--check"), "constants.bin")
    assert_one_line_error(zkml("verify", build, digits_proof), "constants.bin")


def test_input_of_the_wrong_shape(digits_build, tmp_path):
    bad = tmp_path / "in.json"
    bad.write_text(json.dumps({"input_data": [[0.5] * 63]}))
    assert_one_line_error(zkml("prove", digits_build, bad, "-o", tmp_path / "out"), "input", "63")
    assert not (tmp_path / "out").exists()


def test_input_value_outside_the_quantized_range(digits_build, tmp_path):
    doc = read(DIGITS / "input.json")
    doc["input_data"][0][3] = -5000.0
    bad = tmp_path / "in.json"
    bad.write_text(json.dumps(doc))
    out = tmp_path / "out"
    out.mkdir()
    assert_one_line_error(zkml("prove", digits_build, bad, "-o", out), "out of range")
    assert listing(out) == {}


def test_missing_input_json(digits_build, tmp_path):
    assert_one_line_error(zkml("prove", digits_build, tmp_path / "absent.json", "-o", tmp_path / "out"), "absent.json")
    assert not (tmp_path / "out").exists()


def test_malformed_input_json(digits_build, tmp_path):
    bad = tmp_path / "in.json"
    bad.write_text("[1, 2")
    assert_one_line_error(zkml("prove", digits_build, bad, "-o", tmp_path / "out"), "in.json")
    assert not (tmp_path / "out").exists()


def test_missing_build_directory(tmp_path):
    assert_one_line_error(zkml("prove", tmp_path / "nobuild", DIGITS / "input.json", "-o", tmp_path / "o"), "nobuild")
    assert_one_line_error(zkml("verify", tmp_path / "nobuild", tmp_path / "o"), "nobuild")
    assert not (tmp_path / "o").exists()


def test_export_verifier_without_keys_writes_nothing(tmp_path):
    build = tmp_path / "b"
    assert zkml("compile", DIGITS / "model.onnx", "-o", build).returncode == 0
    sol = tmp_path / "V.sol"
    assert_one_line_error(zkml("export-verifier", build, "-o", sol), "verification key")
    assert not sol.exists()


def test_bad_bits_option(tmp_path):
    assert_one_line_error(zkml("compile", DIGITS / "model.onnx", "-o", tmp_path / "b", "--bits", "2"), "bits")
    assert not (tmp_path / "b").exists()


def test_prove_check_reports_satisfied_constraints_and_writes_nothing(digits_build, tmp_path):
    before = listing(digits_build)
    r = zkml("prove", digits_build, DIGITS / "input.json", "--check")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("witness satisfies all ") and "argmax: 7" in r.stdout
    assert "output logits [1, 10]" in r.stdout
    assert listing(digits_build) == before


def test_prove_without_output_or_check_is_a_one_line_usage_error(digits_build):
    assert_one_line_error(zkml("prove", digits_build, DIGITS / "input.json"), "--output", "--check")


def test_prove_check_names_the_constraint_and_the_onnx_node_it_belongs_to(digits_build, monkeypatch, capsys):
    from zkml import api, cli
    from zkml.errors import WitnessError

    def unsatisfied(*_args, **_kwargs):
        raise WitnessError("witness does not satisfy constraint 812 (#2 relu -> 'h1')",
                           details={"row": 812, "region": "#2 relu -> 'h1'"})

    monkeypatch.setattr(api, "check", unsatisfied)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["prove", str(digits_build), str(DIGITS / "input.json"), "--check"], standalone_mode=False)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: constraint 812 is not satisfied; it belongs to #2 relu -> 'h1', "
                   "i.e. the ONNX node that produces tensor 'h1'"), err


def test_zkml_alone_prints_the_help_and_exits_0():
    r = zkml()
    assert r.returncode == 0 and r.stdout.startswith("Usage: zkml") and "prove" in r.stdout, r.stderr


@pytest.mark.parametrize(
    "args, fragment",
    [(["prove"], "Missing argument 'BUILD'"), (["bogus"], "No such command 'bogus'"),
     (["prove", "b", "i", "--device", "tpu"], "Invalid value for '--device'")],
)
def test_usage_errors_are_one_line_with_exit_2(args, fragment):
    assert_one_line_error(zkml(*args), fragment, "--help`")


def test_a_closed_stdout_ends_quietly_once_the_proof_is_written(digits_build, tmp_path):
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "zkml.cli", "prove", str(digits_build), str(DIGITS / "input.json"),
                          "-o", str(out), "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader goes away before the first line (`| head -0`)
    err = p.stderr.read().decode()
    assert p.wait() == 0 and err == "", err
    assert (out / "proof.json").exists() and zkml_api_verify(digits_build, out)


def zkml_api_verify(build, out) -> bool:
    import zkml as z

    return z.verify(build, out)


# --- --version, --json on every command, plain numbers ------------------------------------------


def test_version_prints_the_package_version():
    import zkml as z

    r = zkml("--version")
    assert (r.returncode, r.stdout.strip()) == (0, f"zkml, version {z.__version__}")


def test_every_command_takes_json():
    import click

    from zkml.cli import main

    def leaves(group, prefix=""):
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from leaves(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", command

    for name, command in leaves(main):
        assert "--json" in {o for p in command.params for o in getattr(p, "opts", [])}, name


def _json_stdout(r: subprocess.CompletedProcess):
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # stdout holds the JSON document and nothing else


def test_json_results_of_compile_setup_prove_and_export(tmp_path):
    build, out = tmp_path / "build", tmp_path / "out"
    compiled = _json_stdout(zkml("compile", DIGITS / "model.onnx", "-o", build,
                                 "--calibration", DIGITS / "calibration.json", "--json"))
    settings = read(build / "settings.json")
    assert compiled["circuit_hash"] == settings["circuit_hash"] and compiled["constraints"] == settings["constraints"]
    assert compiled["calibration_assumed"] is False and compiled["error_bound"]["logits"] > 0
    assert compiled["ranges_not_certified"] == ["logits"]
    assert any(w.startswith("ranges not certified") for w in compiled["warnings"])

    r = zkml("setup", build, "--dev", "--json")
    keys = _json_stdout(r)
    assert Path(keys["proving_key"]) == build / "proving_key.bin" and keys["setup"] == "local-dev"
    assert "not for production" in r.stderr.lower()

    checked = _json_stdout(zkml("prove", build, DIGITS / "input.json", "--check", "--json"))
    assert checked["satisfied"] is True and checked["constraints"] == settings["constraints"]

    proved = _json_stdout(zkml("prove", build, DIGITS / "input.json", "-o", out, "--device", "cpu", "--json"))
    logits = proved["outputs"]["logits"]
    assert logits["shape"] == [1, 10] and max(range(10), key=logits["values"].__getitem__) == 7
    assert logits["values"] == checked["outputs"]["logits"]["values"]
    assert proved["files"] == {"proof": str(out / "proof.json"), "public": str(out / "public.json"),
                               "output": str(out / "output.json")}
    assert proved["public_signals"] == len(read(out / "public.json")) and proved["warnings"] == []
    assert {"synthesize", "msm"} <= set(proved["timings"]) and proved["backend"] == "cpu"

    exported = _json_stdout(zkml("export-verifier", build, "-o", tmp_path / "V.sol", "--source-only", "--json"))
    assert exported["files"] == {"source": str(tmp_path / "V.sol")} and exported["contract"] == "Groth16Verifier"
    assert [o["name"] for o in exported["outputs"]] == ["logits"]

    data = _json_stdout(zkml("calldata", out, "--json"))
    assert data["bytes"] == 4 + 32 * (8 + proved["public_signals"]) and data["calldata"].startswith("0x")


def test_compile_without_calibration_warns_on_stderr_and_in_json(tmp_path):
    r = zkml("compile", DIGITS / "model.onnx", "-o", tmp_path / "build", "--json")
    doc = _json_stdout(r)
    assert doc["calibration_assumed"] is True
    assert any("no calibration data" in w for w in doc["warnings"])
    assert "warning: no calibration data: every input is assumed to lie in [-1, 1]" in r.stderr


def test_ops_json_lists_every_op_with_its_versions():
    ops = _json_stdout(zkml("ops", "--json"))
    by_name = {o["op_type"]: o for o in ops}
    assert {"Gemm", "Conv", "Relu", "Softmax"} <= set(by_name) and len(ops) >= 60
    assert by_name["Relu"]["first_version"] <= 14 <= by_name["Relu"]["last_version"]


def test_demo_json_is_its_summary(tmp_path):
    r = zkml("demo", "--workdir", tmp_path / "demo", "--json")
    doc = _json_stdout(r)
    assert doc["valid"] is True and doc["predicted"] == 7 and 200_000 < doc["gas"] < 300_000
    assert "summary: digits_mlp" in r.stderr  # the progress, off stdout


def test_an_input_out_of_range_shows_plain_numbers_and_how_to_fix_it(digits_build, tmp_path):
    doc = read(DIGITS / "input.json")
    doc["input_data"][0][3] = 5.0
    bad = tmp_path / "in.json"
    bad.write_text(json.dumps(doc))
    r = zkml("prove", digits_build, bad, "-o", tmp_path / "out")
    assert_one_line_error(r, "input 'input' value 5 at index [0, 0, 3] is out of range",
                          "representable range is [-2, 1.99994]",
                          "recompile with a calibration sample that covers this value")
    assert "np." not in r.stderr and "float64" not in r.stderr
