"""circuit.json: the bytes as the program document beside the real
constants.bin, read by the Python validator and the native one. Besides "a
result or a clear error", the two must agree: what Python accepts, Rust must."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

NAME = "circuit_json"
MAX_LEN = 8192


def seeds() -> list[bytes]:
    work = common.prepare()
    out = [(work / "build" / "circuit.json").read_bytes()]
    sys.path.insert(0, str(common.REPO / "tests"))
    try:
        from program_fixtures import all_ops_program, files, tiny_program

        out += [files(make())[0] for make in (tiny_program, all_ops_program)]
    except ImportError:
        pass
    return out


_BLOB: list[bytes] = []


def init() -> None:
    if not _BLOB:
        _BLOB.append((common.prepare() / "build" / "constants.bin").read_bytes())


def one_input(data: bytes) -> None:
    from zkml import _native
    from zkml import program as P

    init()
    blob = _BLOB[0]
    python_ok = common.clear_error(P.from_files, data, blob) is not None
    native_ok = common.clear_error(_native.circuit_info, data, blob) is not None
    if python_ok and not native_ok:
        raise common.Finding("the Python validator accepts a circuit.json the native one refuses")


if __name__ == "__main__":
    common.main(sys.modules[__name__])
