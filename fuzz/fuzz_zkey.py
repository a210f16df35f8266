"""A snarkjs .zkey imported with zkml.ceremony.import_zkey (native
import_zkey: header sizes, every coefficient, every point on the curve and
in its subgroup): the build's real 1.5 MB .zkey changed as common.patched
says, its section headers being the hot offsets."""

from __future__ import annotations

import functools
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

NAME = "zkey"
MAX_LEN = 4096


@functools.cache
def _real() -> bytes:
    return (common.prepare() / "circuit.zkey").read_bytes()


@functools.cache
def _hot() -> list[int]:
    """Offsets of the file header and of every section header (type u32, size u64)."""
    data, hot, at = _real(), [0, 4, 8], 12
    while at + 12 <= len(data):
        hot.append(at)
        _kind, size = struct.unpack_from("<IQ", data, at)
        hot.append(at + 12)
        at += 12 + size
    return hot


def seeds() -> list[bytes]:
    real = _real()
    out = [bytes([0, 0, 0, 0, 0]) + real[:1500], bytes([3, 0, 0, 0, 0])]
    for i in range(0, len(_hot()), 2):
        out.append(bytes([1]) + (2 * i + 1).to_bytes(4, "little") + b"\xff\xff\xff\xff")
        out.append(bytes([3]) + (2 * i + 1).to_bytes(4, "little"))
    return out


@functools.cache
def init() -> Path:
    return common.scratch(NAME)


def one_input(data: bytes) -> None:
    from zkml import ceremony

    root = init()
    path = root / "candidate.zkey"
    path.write_bytes(common.patched(_real(), data, _hot()))
    common.clear_error(ceremony.import_zkey, root / "build", path)


if __name__ == "__main__":
    common.main(sys.modules[__name__])
