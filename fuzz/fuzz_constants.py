"""constants.bin (the circuit's constant store): the bytes as the store, with
circuit.json's constants_sha256 set to their hash so the parser gets past the
checksum; both validators must answer alike."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

NAME = "constants"
MAX_LEN = 32768

_DOC: list[dict] = []


def seeds() -> list[bytes]:
    return [(common.prepare() / "build" / "constants.bin").read_bytes()]


def init() -> None:
    if not _DOC:
        _DOC.append(json.loads((common.prepare() / "build" / "circuit.json").read_bytes()))


def one_input(data: bytes) -> None:
    from zkml import _native
    from zkml import program as P

    init()
    doc = dict(_DOC[0], constants_sha256=hashlib.sha256(data).hexdigest())
    text = json.dumps(doc).encode()
    python = common.clear_error(P.from_files, text, data)
    native = common.clear_error(_native.circuit_info, text, data)
    if (python is None) != (native is None):
        raise common.Finding(f"validators disagree on constants.bin: python {'accepts' if python else 'refuses'}")


if __name__ == "__main__":
    common.main(sys.modules[__name__])
