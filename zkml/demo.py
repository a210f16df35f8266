"""`zkml demo`: the whole path on the bundled digits model, on-chain check included."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zkml import api, artifacts
from zkml.errors import InputFileError, ToolMissingError, ZkmlError

PROOF_BYTES = 256  # A and C in G1 (64 bytes each), B in G2 (128): what the EVM verifier takes


@dataclass
class DemoResult:
    name: str
    constraints: int
    seconds: dict[str, float]
    proof_bytes: int
    gas: int
    predicted: int
    valid: bool

    def summary_line(self) -> str:
        stages = " ".join(f"{k} {v:.2f}s" for k, v in self.seconds.items())
        return (
            f"{self.name}: {self.constraints:,} constraints | {stages} | proof {self.proof_bytes} bytes | "
            f"on-chain verifyProof gas {self.gas:,} | predicted class {self.predicted}"
        )


def run_demo(workdir: str | Path, model_dir: str | Path | None = None, echo: Callable[[str], None] = print) -> DemoResult:
    """The whole path on `model_dir` (default: the digits model shipped in the package)."""
    from zkml.evm import InProcessChain, compile_verifier, proof_calldata, render_verifier
    from zkml.resources import demo_model_dir
    from zkml.solc import find_solc

    model_dir = demo_model_dir() if model_dir is None else Path(model_dir)
    model = model_dir / "model.onnx"
    if not model.exists():
        raise InputFileError(f"model not found: {model}", model)
    # Missing tools are said before the minutes of work that need them, not after.
    find_solc()
    if importlib.util.find_spec("pyrevm") is None:
        raise ToolMissingError("pyrevm is not installed: the demo's on-chain check runs in it; "
                               "pip install 'zkml[evm]'")
    calibration = model_dir / "calibration.json"
    input_json = model_dir / "input.json"
    workdir = Path(workdir)
    build, out = workdir / "build", workdir / "proof"
    name = model_dir.name
    seconds: dict[str, float] = {}

    echo(f"zkml demo: {name} ({model})")
    t = time.perf_counter()
    compiled = api.compile(model, build, calibration=calibration if calibration.exists() else None)
    seconds["compile"] = time.perf_counter() - t
    settings = compiled.settings
    echo(f"  compile  {seconds['compile']:6.2f} s  {api.summary_of(settings)}")

    t = time.perf_counter()
    api.setup(build, dev=True)
    seconds["setup"] = time.perf_counter() - t
    echo(f"  setup    {seconds['setup']:6.2f} s  local development keys (NOT for production)")

    t = time.perf_counter()
    proved = api.prove(build, input_json, out)
    seconds["prove"] = time.perf_counter() - t
    stages = " · ".join(f"{k} {v:.3f} s" for k, v in proved.timings.items())
    echo(f"  prove    {seconds['prove']:6.2f} s  {stages} ({proved.backend})")
    logits = np.asarray(next(iter(proved.outputs.values()))).reshape(-1)
    predicted = int(np.argmax(logits))
    echo(f"           output logits {np.array2string(logits, precision=2, separator=', ')} -> class {predicted}")

    t = time.perf_counter()
    valid = api.verify(build, out)
    seconds["verify"] = time.perf_counter() - t
    echo(f"  verify   {seconds['verify']:6.2f} s  {'valid' if valid else 'INVALID'}")
    if not valid:
        raise ZkmlError("the demo's own proof did not verify")

    t = time.perf_counter()
    vk = json.loads((build / artifacts.VERIFICATION_KEY).read_text())
    source = render_verifier(vk)
    verifier_path = workdir / "Verifier.sol"
    api.export_verifier(build, verifier_path)
    contract = compile_verifier(source)
    chain = InProcessChain()
    address = chain.deploy(contract.bytecode)
    proof = json.loads((out / artifacts.PROOF).read_text())
    public = json.loads((out / artifacts.PUBLIC).read_text())
    proof8, inputs = proof_calldata(proof, public)
    ok, gas = chain.verify(address, proof8, inputs)
    seconds["on-chain"] = time.perf_counter() - t
    echo(
        f"  on-chain {seconds['on-chain']:6.2f} s  {verifier_path} compiled with solc, deployed in an in-process EVM "
        f"(pyrevm): verifyProof -> {str(ok).lower()}, gas {gas:,} (whole transaction)"
    )
    if not ok:
        raise ZkmlError("the Solidity verifier rejected the demo's proof")

    result = DemoResult(name, settings["constraints"], seconds, PROOF_BYTES, gas, predicted, valid)
    echo("")
    echo("summary: " + result.summary_line())
    return result
