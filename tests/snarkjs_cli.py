"""Running the pinned snarkjs CLI (contracts/node_modules) from tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from zkml.evm import contracts_dir

SNARKJS_TIMEOUT_S = 120


def snarkjs(*args: str, timeout: int = SNARKJS_TIMEOUT_S) -> subprocess.CompletedProcess:
    cli = contracts_dir() / "node_modules" / "snarkjs" / "build" / "cli.cjs"
    return subprocess.run(
        ["node", str(cli), *args],
        cwd=contracts_dir(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_instance_files(folder: Path, vk: dict, proof: dict, public: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, document in (("verification_key.json", vk), ("proof.json", proof), ("public.json", public)):
        (folder / name).write_text(json.dumps(document))
    return folder


def snarkjs_verify(folder: Path) -> bool:
    done = snarkjs(
        "groth16", "verify",
        str(folder / "verification_key.json"), str(folder / "public.json"), str(folder / "proof.json"),
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode == 0
