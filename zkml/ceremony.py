"""Production keys: a snarkjs powers-of-tau (phase 1) and a phase-2 ceremony,
and the iden3/snarkjs files that let zkml circuits move between the tools.

zkml's proving key and snarkjs's ``.zkey`` hold the same points in the same
layout (the QAP domain, the instance rows and the H query's basis agree; see
``native/src/formats/zkey.rs``), so:

- ``export_r1cs`` / ``export_witness`` / ``export_zkey`` write a build's
  constraint system, a witness and its key as ``.r1cs`` / ``.wtns`` /
  ``.zkey`` for snarkjs (``r1cs info``, ``wtns check``, ``groth16 prove``,
  ``zkey verify``);
- ``import_zkey`` reads a ``.zkey`` made for the build's circuit (by
  ``snarkjs zkey new`` / ``contribute`` / ``beacon``) into the build;
- ``setup_from_ptau``, ``contribute`` and ``beacon`` run the phase-2
  ceremony on a build with the pinned snarkjs (``contracts/node_modules``),
  each step leaving the build's keys and its ``circuit.zkey`` transcript
  updated together or not at all;
- ``verify_ceremony`` has snarkjs recompute the initial key from the build's
  own constraint system (its weights are the coefficients) and the ptau, check
  every contribution and the chain of hashes, and compare the result with the
  points zkml proves with.

The phase-1 file is checked natively first (``check_ptau``: the parts this
circuit uses, streamed), then read by snarkjs's ``zkey new``;
``verify_ceremony`` checks the file the same way and the key against it.
Checking the whole ceremony transcript of the ptau (every phase-1
contribution) is ``snarkjs powersoftau verify``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zkml import _native, artifacts, progress
from zkml.artifacts import Staging
from zkml.errors import ArgumentError, CeremonyError, CircuitMismatchError, InputFileError, ProofFormatError, ZkmlError

ZKEY = "circuit.zkey"

SNARKJS_TIMEOUT_S = 3600


@dataclass
class CeremonyResult:
    build_dir: Path
    kind: str
    contributions: list[dict[str, str]] = field(default_factory=list)
    zkey_sha256: str = ""


@dataclass
class CeremonyReport:
    ok: bool
    contributions: list[dict[str, str]]
    message: str
    snarkjs_output: str = ""


def _snarkjs(*args: str, stdin: str | None = None, timeout: int = SNARKJS_TIMEOUT_S) -> subprocess.CompletedProcess:
    from zkml.evm.tools import contracts_dir, node_executable, require_node_package

    cli = require_node_package("snarkjs") / "build" / "cli.cjs"
    try:
        return subprocess.run(
            [node_executable(), str(cli), *args],
            cwd=contracts_dir(), input=stdin, capture_output=True, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        raise CeremonyError(f"snarkjs {args[0]} {args[1]} did not finish within {timeout} s") from e


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _failed(done: subprocess.CompletedProcess, output: Path) -> bool:
    """snarkjs reports some refusals only in its log, exiting 0."""
    return done.returncode != 0 or not output.is_file() or "[ERROR]" in _plain(done.stdout + done.stderr)


def _snarkjs_error(done: subprocess.CompletedProcess) -> str:
    lines = [ln.strip() for ln in _plain(done.stdout + "\n" + done.stderr).splitlines() if ln.strip()]
    errors = [ln for ln in lines if "ERROR" in ln or "Error" in ln or "error" in ln]
    return (errors or lines or ["no output"])[-1]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _existing(path: str | Path, what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{what} {p} not found", p)
    return p


def _build(build_dir: str | Path):
    from zkml.api import load_build

    return load_build(build_dir)


def _setup_record(build) -> dict[str, Any]:
    vk_path = build.dir / artifacts.VERIFICATION_KEY
    try:
        return json.loads(vk_path.read_text()).get("zkml_setup", {})
    except (OSError, ValueError):
        return {}


# --- files for snarkjs ------------------------------------------------------------


def export_r1cs(build_dir: str | Path, path: str | Path) -> Path:
    """The build's constraint system as an iden3 ``.r1cs`` file."""
    build = _build(build_dir)
    out = Path(path)
    _native.export_r1cs(build.data, build.constants, str(out))
    return out


def export_witness(build_dir: str | Path, inputs: Any, path: str | Path, sender: str | None = None,
                   salts: Any = None) -> list[str]:
    """The witness of ``inputs`` (an input.json path, dict or arrays), checked
    against every constraint, as an iden3 ``.wtns`` file; returns the public
    signals. A build with hashed tensors needs their ``salts`` (as for
    ``zkml.prove``: a dict or a private.json path), so that whoever proves
    from the witness can open its commitments."""
    from zkml import privacy
    from zkml.api import _owner_weights, _quantized_inputs, _witness_salts

    build = _build(build_dir)
    if privacy.hashed_entries(build.program) and salts is None:
        raise ArgumentError("this build has hashed inputs or outputs: give their salts (--salts FILE, e.g. a "
                            "private.json; salts= in Python) so the witness's commitments can be opened")
    quantized = _quantized_inputs(build, inputs, sender)
    salt_values = [str(v) for v in _witness_salts(build, salts)]
    owned = _owner_weights(build)
    out = Path(path)
    return list(_native.export_witness(build.data, build.constants, [q.reshape(-1).tolist() for q in quantized],
                                       str(out), salt_values, owned.blob if owned is not None else None))


def export_zkey(build_dir: str | Path, path: str | Path) -> Path:
    """The build's proving key as a snarkjs ``.zkey``: the points zkml proves
    with, and the phase-2 transcript of the ceremony that made them (empty
    for a ``--dev`` key, which ``snarkjs zkey verify`` therefore refuses)."""
    build = _build(build_dir)
    pk = build.dir / artifacts.PROVING_KEY
    if not pk.is_file():
        raise InputFileError(f"no proving key in {build.dir}: run `zkml setup` first", pk)
    transcript = build.dir / ZKEY
    out = Path(path)
    _native.export_zkey(build.data, build.constants, str(pk), str(out),
                        str(transcript) if transcript.is_file() else None)
    return out


# --- keys from snarkjs -----------------------------------------------------------


def import_zkey(build_dir: str | Path, zkey: str | Path, *, ptau_sha256: str | None = None) -> CeremonyResult:
    """Makes a ``.zkey`` for this build's circuit its keys: the proving key,
    the verification key (recording the ceremony: the ptau's hash when known,
    and the contributions) and ``circuit.zkey`` (the transcript), together."""
    build = _build(build_dir)
    source = _existing(zkey, "zkey")
    previous = _setup_record(build)
    if ptau_sha256 is None and previous.get("kind") == "ceremony":
        ptau_sha256 = previous.get("ptau_sha256")
    with Staging(build.dir) as stage:
        vk_text, contributions = _native.import_zkey(
            build.data, build.constants, str(source), str(stage.path(artifacts.PROVING_KEY)))
        vk = json.loads(vk_text)
        vk["circuit_hash"] = build.circuit_hash
        listed = [{"name": name, "kind": kind} for name, kind in contributions]
        record: dict[str, Any] = {"kind": "ceremony", "contributions": listed, "zkey_sha256": _sha256(source)}
        if ptau_sha256:
            record["ptau_sha256"] = ptau_sha256
        if not listed:
            record["note"] = ("no phase-2 contribution yet: whoever made the initial key can forge proofs "
                              "until at least one honest party contributes")
        vk["zkml_setup"] = record
        stage.write_json(artifacts.VERIFICATION_KEY, vk)
        stage.write_bytes(ZKEY, source.read_bytes())
    return CeremonyResult(build.dir, "ceremony", listed, record["zkey_sha256"])


def setup_from_ptau(build_dir: str | Path, ptau: str | Path) -> CeremonyResult:
    """Phase 2's starting key from a prepared powers-of-tau file (snarkjs's
    ``.ptau``, e.g. a ``powersOfTau28_hez_final_NN.ptau``): ``snarkjs zkey
    new`` on the build's ``.r1cs``, then imported. A ptau too small for the
    circuit, not prepared for phase 2, or not a ptau is a one-line error."""
    rec = progress.recorder()
    rec.begin("check_ptau")
    build = _build(build_dir)
    ptau_path = _existing(ptau, "powers-of-tau file")
    check_ptau(build.dir, ptau_path)
    with tempfile.TemporaryDirectory(prefix="zkml-ptau-") as tmp:
        rec.begin("export_r1cs")
        r1cs = export_r1cs(build.dir, Path(tmp) / "circuit.r1cs")
        zkey = Path(tmp) / "initial.zkey"
        rec.begin("zkey_new")
        done = _snarkjs("zkey", "new", str(r1cs), str(ptau_path), str(zkey))
        if _failed(done, zkey):
            raise CeremonyError(f"{ptau_path}: {_snarkjs_error(done)}")
        rec.begin("import_zkey")
        result = import_zkey(build.dir, zkey, ptau_sha256=_sha256(ptau_path))
        rec.end()
        return result


def check_ptau(build_dir: str | Path, ptau: str | Path) -> tuple[int, int]:
    """Reads the parts of a prepared ``.ptau`` that this build's phase 2 uses
    and checks them natively (``native/src/formats/ptau.rs``): BN254, a power
    large enough for the circuit's QAP domain, prepared for phase 2, every
    point on its curve (G2 in its subgroup), the powers those of one tau
    (random linear combinations checked with pairings) and the Lagrange
    sections equal to the powers. Returns (power, ceremony power); a file
    that fails is a one-line error naming the section."""
    build = _build(build_dir)
    power, ceremony_power = _native.check_ptau(build.data, build.constants,
                                               str(_existing(ptau, "powers-of-tau file")))
    return int(power), int(ceremony_power)


def _current_zkey(build, tmp: Path) -> Path:
    if _setup_record(build).get("kind") != "ceremony":
        raise CeremonyError(
            f"{build.dir} has no ceremony key to contribute to: start one with `zkml setup {build.dir} --ptau FILE`")
    return export_zkey(build.dir, tmp / "current.zkey")


def contribute(build_dir: str | Path, name: str, entropy: str = "") -> CeremonyResult:
    """One phase-2 contribution: a random delta from the OS (32 bytes from
    ``secrets``, plus ``entropy`` if given) applied by ``snarkjs zkey
    contribute`` to the build's key, which is then imported. The randomness
    is handed to snarkjs on its standard input and not kept."""
    build = _build(build_dir)
    if not name or len(name) > 64:
        raise CeremonyError("a contribution needs a name of 1 to 64 characters")
    with tempfile.TemporaryDirectory(prefix="zkml-contrib-") as tmp:
        current = _current_zkey(build, Path(tmp))
        nxt = Path(tmp) / "next.zkey"
        done = _snarkjs("zkey", "contribute", str(current), str(nxt), f"--name={name}",
                        stdin=secrets.token_hex(32) + entropy.replace("\n", " ") + "\n")
        if _failed(done, nxt):
            raise CeremonyError(f"contribution failed: {_snarkjs_error(done)}")
        return import_zkey(build.dir, nxt)


def beacon(build_dir: str | Path, beacon_hash: str, iterations: int, name: str = "beacon") -> CeremonyResult:
    """The ceremony's closing beacon: ``snarkjs zkey beacon`` with a public
    random value (hex) and 2^iterations hash iterations."""
    build = _build(build_dir)
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2})+", beacon_hash or ""):
        raise CeremonyError(f"the beacon hash must be hex bytes, got {beacon_hash!r}")
    if not 10 <= iterations <= 63:
        raise CeremonyError(f"the beacon's iteration exponent must be between 10 and 63, got {iterations}")
    with tempfile.TemporaryDirectory(prefix="zkml-beacon-") as tmp:
        current = _current_zkey(build, Path(tmp))
        nxt = Path(tmp) / "final.zkey"
        done = _snarkjs("zkey", "beacon", str(current), str(nxt), beacon_hash, str(iterations), f"--name={name}")
        if _failed(done, nxt):
            raise CeremonyError(f"beacon failed: {_snarkjs_error(done)}")
        return import_zkey(build.dir, nxt)


def verify_ceremony(build_dir: str | Path, ptau: str | Path) -> CeremonyReport:
    """Checks the build's proving key against its own circuit and the ptau:
    snarkjs recomputes the initial key from the build's ``.r1cs`` (exported
    here from the circuit, weights included) and the ptau, checks each
    contribution's proof of knowledge and the transcript's hash chain, and
    compares the final points with the ``.zkey`` exported from the key zkml
    proves with. A key made for another circuit, a dev key, or a broken
    chain gives ``ok=False`` and says where."""
    build = _build(build_dir)
    ptau_path = _existing(ptau, "powers-of-tau file")
    record = _setup_record(build)
    contributions = list(record.get("contributions", []))
    if record.get("kind") != "ceremony":
        return CeremonyReport(False, [], f"{build.dir}'s key was not made by a ceremony "
                                        f"(setup kind: {record.get('kind', 'unknown')}): nothing to verify against")
    try:
        check_ptau(build.dir, ptau_path)
    except ZkmlError as e:
        return CeremonyReport(False, contributions, f"the powers-of-tau file fails its checks: {e}")
    with tempfile.TemporaryDirectory(prefix="zkml-verify-") as tmp:
        r1cs = export_r1cs(build.dir, Path(tmp) / "circuit.r1cs")
        try:
            zkey = export_zkey(build.dir, Path(tmp) / "circuit.zkey")
        except (CircuitMismatchError, ProofFormatError, InputFileError) as e:
            return CeremonyReport(False, contributions, f"the proving key is not this circuit's: {e}")
        done = _snarkjs("zkey", "verify", str(r1cs), str(ptau_path), str(zkey))
    output = _plain(done.stdout + done.stderr)
    ok = done.returncode == 0 and "ZKey Ok!" in output
    if ok:
        message = f"the key is this circuit's, from {ptau_path.name} and {len(contributions)} contribution(s)"
    else:
        message = _snarkjs_error(done)
    return CeremonyReport(ok, contributions, message, output)

