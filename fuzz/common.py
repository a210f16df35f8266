"""What every atheris harness in fuzz/ shares.

A harness module defines ``NAME``, ``seeds(work)`` (the real files its corpus
starts from) and ``one_input(data)``, which feeds the bytes to the real parser
or entry point and raises :class:`Finding` (or lets any non-zkml exception
through) when the answer is not "a result or a clear error". A clear error is
a :class:`zkml.ZkmlError` other than :class:`zkml.errors.InternalError`, which
is what a Rust panic becomes: a panic on user bytes is a bug even if caught.

``main(module)`` runs it under atheris (coverage of zkml's Python code; the
Rust extension is not instrumented, so its parsers are fuzzed by mutation of
real files without coverage feedback). tests/test_fuzz_regressions.py replays
fuzz/regressions/<NAME>/* through the same ``one_input`` without atheris.

The digits_mlp build (compiled, seeded setup, one proof, its .zkey) is made
once into $ZKML_FUZZ_WORK (default /tmp/zkml-fuzz-<uid>) and copied per harness.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIGITS = REPO / "circuits" / "digits_mlp"
REGRESSIONS = Path(__file__).resolve().parent / "regressions"


class Finding(AssertionError):
    """The parser answered with something other than a result or a clear error."""


def work_dir() -> Path:
    return Path(os.environ.get("ZKML_FUZZ_WORK", Path(tempfile.gettempdir()) / f"zkml-fuzz-{os.getuid()}"))


def prepare() -> Path:
    """The shared digits_mlp artefacts, made once: build/, proof/, circuit.zkey."""
    import zkml
    from zkml import ceremony

    work = work_dir()
    done = work / "ready"
    if done.is_file():
        return work
    work.mkdir(parents=True, exist_ok=True)
    build, proof = work / "build", work / "proof"
    shutil.rmtree(build, ignore_errors=True)
    shutil.rmtree(proof, ignore_errors=True)
    zkml.compile(DIGITS / "model.onnx", build, calibration=DIGITS / "calibration.json")
    zkml.api._seeded_setup_for_tests(build, seed=1)
    zkml.prove(build, DIGITS / "input.json", proof)
    ceremony.export_zkey(build, work / "circuit.zkey")
    done.write_text("ok\n")
    return work


def scratch(name: str) -> Path:
    """A private copy of the build and proof for one harness process."""
    work = prepare()
    root = Path(tempfile.mkdtemp(prefix=f"zkml-fuzz-{name}-"))
    shutil.copytree(work / "build", root / "build")
    shutil.copytree(work / "proof", root / "proof")
    return root


def clear_error(fn, *args, **kwargs):
    """``fn``'s result, or None for a clear zkml error; anything else escapes."""
    from zkml.errors import InternalError, ZkmlError

    try:
        return fn(*args, **kwargs)
    except InternalError as e:
        raise Finding(f"native panic / internal error: {e}") from e
    except ZkmlError:
        return None


def instrumented_imports() -> None:
    """Import zkml's parsers under atheris's coverage instrumentation."""
    import atheris

    with atheris.instrument_imports(include=["zkml"]):
        import zkml
        import zkml.api
        import zkml.artifacts
        import zkml.ceremony
        import zkml.frontend.onnx_loader
        import zkml.inputs
        import zkml.program
        import zkml.schemas  # noqa: F401


def main(module) -> None:
    """Run ``module.one_input`` under atheris. Extra arguments go to libFuzzer;
    a corpus directory given without seeds is filled from ``module.seeds``."""
    import atheris

    instrumented_imports()
    args = list(sys.argv)
    corpora = [Path(a) for a in args[1:] if not a.startswith("-")]
    if corpora and not any(corpora[0].iterdir() if corpora[0].is_dir() else ()):
        corpora[0].mkdir(parents=True, exist_ok=True)
        for i, seed in enumerate(module.seeds()):
            (corpora[0] / f"seed-{i}").write_bytes(seed)
    # The harness's own setup (copies, caches) happens before fuzzing starts.
    if hasattr(module, "init"):
        module.init()
    atheris.Setup(args, module.one_input)
    atheris.Fuzz()


def verify_seeds(rel: str) -> list[bytes]:
    """The real file, and variants that reach deeper checks: one number changed,
    the circuit hash dropped, a list shortened."""
    import json

    real = (prepare() / rel).read_bytes()
    doc = json.loads(real)
    out = [real, json.dumps(doc, separators=(",", ":")).encode()]
    if isinstance(doc, list) and doc:
        out += [json.dumps(doc[:-1]).encode(), json.dumps(doc + ["0"]).encode(),
                json.dumps(["1" if i == 0 else v for i, v in enumerate(doc)]).encode()]
    elif isinstance(doc, dict):
        out.append(json.dumps({k: v for k, v in doc.items() if k != "circuit_hash"}).encode())
        for key, value in doc.items():
            if isinstance(value, list) and value and isinstance(value[0], str):
                out.append(json.dumps(dict(doc, **{key: ["1"] + value[1:]})).encode())
    return out


def verify_harness(name: str, rel: str):
    """(seeds, init, one_input) of a harness that fuzzes the JSON file ``rel``
    of a proof directory through ``verify_statement``."""
    import functools

    @functools.cache
    def init() -> Path:
        return scratch(name)

    return (lambda: verify_seeds(rel)), init, (lambda data: verify_with(init(), rel, data))


def verify_with(root: Path, rel: str, data: bytes) -> None:
    """Write ``data`` as ``rel`` in the scratch copy, run verify_statement,
    and put the real file back."""
    from zkml.api import verify_statement

    target = root / rel
    real = (work_dir() / rel).read_bytes()
    target.write_bytes(data)
    try:
        clear_error(verify_statement, root / "build", root / "proof")
    finally:
        target.write_bytes(real)


def patched(real: bytes, data: bytes, hot: list[int]) -> bytes:
    """A large real file changed as ``data`` says: byte 0 picks the kind of
    change (raw bytes as the whole file / overwrite / insert / truncate /
    overwrite and recompute the checksum, see ``fix``), bytes 1-4 the place
    (near one of the ``hot`` offsets, the headers, or anywhere), the rest is
    the new bytes. So short fuzz inputs reach the headers of a megabyte file."""
    if len(data) < 5:
        return data
    mode, where, new = data[0] % 5, int.from_bytes(data[1:5], "little"), data[5:]
    if mode == 0:
        return new
    if where & 1:
        at = hot[(where >> 1) % len(hot)] + ((where >> 8) % 64) - 16
    else:
        at = (where >> 1) % len(real)
    at = min(max(at, 0), len(real))
    if mode == 1 or mode == 4:
        return real[:at] + new + real[at + len(new):]
    if mode == 2:
        return real[:at] + new + real[at:]
    return real[:at]
