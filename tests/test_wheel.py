"""`pip install` as a first-class path: a wheel built from this checkout by
maturin, installed into a fresh virtualenv outside the checkout, runs
`zkml demo` and `zkml export-verifier` from a temporary folder, with solc on
PATH as `npm install -g solc` leaves it.

The wheel is built with `maturin build --release --locked`, which reuses the
release build that `make install` left in target/ (only the zkml-native crate
is relinked or rebuilt when its sources changed). The fresh virtualenv gets
the wheel with `pip install --no-deps --no-index` and finds its dependencies
(numpy, onnx, click, pyrevm) in this test-suite's environment through a
`.pth` line, so the test needs no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

from zkml.solc import PINNED_VERSION

REPO = Path(__file__).resolve().parents[1]
SOLCJS = REPO / "contracts" / "node_modules" / ".bin" / "solcjs"


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("wheel")
    maturin = shutil.which("maturin", path=str(Path(sys.executable).parent)) or shutil.which("maturin")
    assert maturin, "maturin is a dev dependency (requirements-dev.lock)"
    started = time.perf_counter()
    built = _run([maturin, "build", "--release", "--locked", "--quiet", "-o", root / "dist"], cwd=REPO)
    assert built.returncode == 0, built.stderr[-4000:]
    print(f"maturin build: {time.perf_counter() - started:.1f} s")
    (wheel,) = (root / "dist").glob("zkml-*.whl")

    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", venv])
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    pip = _run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-cache-dir", wheel])
    assert pip.returncode == 0, pip.stderr
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    # The dependencies, from this environment (a plain path line: the .pth
    # files there, such as the checkout's editable zkml.pth, are not processed).
    Path(site, "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    # PATH as a user's: the new virtualenv, and node and solcjs as
    # `npm install -g solc@0.8.37` installs them. Nothing of the checkout.
    tools = root / "tools"
    tools.mkdir()
    (tools / "node").symlink_to(os.path.realpath(shutil.which("node") or "node"))
    (tools / "solcjs").symlink_to(SOLCJS)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "ZKML_SOLC", "ZKML_CONTRACTS_DIR")}
    env["PATH"] = f"{venv / 'bin'}:{tools}"
    work = root / "work"
    work.mkdir()
    return {"wheel": wheel, "venv": venv, "python": python, "site": Path(site), "env": env, "work": work, "tools": tools}


def test_the_wheel_carries_the_template_and_the_demo_model_inside_the_package(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for name in ["Groth16Verifier.sol.tmpl", "digits_mlp/model.onnx", "digits_mlp/input.json", "digits_mlp/calibration.json"]:
        assert f"zkml/data/{name}" in names
    assert not [n for n in names if n.split("/")[0] in ("contracts", "circuits")], "nothing outside the package"
    requires = zipfile.ZipFile(installed["wheel"]).read("zkml-0.1.0.dist-info/METADATA").decode()
    for dependency in ("numpy", "onnx", "click"):
        assert f"Requires-Dist: {dependency}" in requires


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    r = _run([installed["python"], "-c", "import zkml, zkml._native; print(zkml.__file__); print(zkml._native.__file__)"],
             cwd=installed["work"], env=installed["env"])
    assert r.returncode == 0, r.stderr
    for line in r.stdout.split():
        assert Path(line).is_relative_to(installed["site"]) and not Path(line).is_relative_to(REPO)


def test_demo_then_export_verifier_from_the_wheel(installed):
    zkml, work, env = installed["venv"] / "bin" / "zkml", installed["work"], installed["env"]
    r = _run([zkml, "--version"], cwd=work, env=env)
    assert (r.returncode, r.stdout.strip()) == (0, "zkml, version 0.1.0")
    r = _run([zkml, "demo", "--workdir", "demo"], cwd=work, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert str(installed["site"] / "zkml" / "data" / "digits_mlp" / "model.onnx") in r.stdout
    assert "verifyProof -> true" in r.stdout and "summary: digits_mlp" in r.stdout
    assert "predicted class 7" in r.stdout

    r = _run([zkml, "export-verifier", "demo/build", "-o", "Verifier.sol"], cwd=work, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    source = (work / "Verifier.sol").read_text()
    assert "function verifyProof" in source and "{{" not in source
    assert source == (work / "demo" / "Verifier.sol").read_text()


def test_demo_from_the_wheel_without_solc_says_how_to_get_it(installed, tmp_path):
    env = {**installed["env"], "PATH": str(installed["venv"] / "bin")}
    r = _run([installed["venv"] / "bin" / "zkml", "demo", "--workdir", tmp_path / "demo"], cwd=tmp_path, env=env)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: solc (the Solidity compiler) not found"), r.stderr
    assert f"npm install -g solc@{PINNED_VERSION}" in lines[0]
    assert not (tmp_path / "demo").exists()
