"""proving_key.bin (header, lengths, checksum, points): the real 1 MB key
changed as common.patched says (mode 4 recomputes the checksum in bytes
72..104, SHA-256 over the SHA-256 of each 4 MiB piece of the body, so the
change reaches the parser behind it), then a zkml.Prover on the CPU opened
with it and asked for one proof."""

from __future__ import annotations

import functools
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

NAME = "proving_key"
MAX_LEN = 4096
HEADER = 104


def seeds() -> list[bytes]:
    real = _real()
    return [bytes([0, 0, 0, 0, 0]) + real[:2048],          # the file's start, as a whole file
            bytes([1, 1, 0, 0, 0]) + b"\x00" * 8,           # zeros over the magic
            bytes([4, 1, 1, 0, 0]) + b"\xff" * 8,           # a length in the header, checksum fixed
            bytes([4, 3, 2, 0, 0]) + b"\x01\x00\x00\x00",
            bytes([3, 0, 0, 1, 0])]                         # truncated


@functools.cache
def _real() -> bytes:
    return (common.prepare() / "build" / "proving_key.bin").read_bytes()


@functools.cache
def init() -> Path:
    return common.scratch(NAME)


def key_from(data: bytes) -> bytes:
    real = _real()
    hot = [0, 8, 16, 24, 32, 40, 48, 56, 64, 72, HEADER, HEADER + 64, len(real) - 64]
    key = common.patched(real, data, hot)
    if data[:1] and data[0] % 5 == 4 and len(key) > HEADER:
        body = key[HEADER:]
        pieces = b"".join(hashlib.sha256(body[i:i + (1 << 22)]).digest() for i in range(0, len(body), 1 << 22))
        key = key[:72] + hashlib.sha256(pieces).digest() + body
    return key


def one_input(data: bytes) -> None:
    import zkml

    root = init()
    (root / "build" / "proving_key.bin").write_bytes(key_from(data))

    def prove():
        return zkml.Prover(root / "build", device="cpu").prove(common.DIGITS / "input.json", root / "out")

    common.clear_error(prove)


if __name__ == "__main__":
    common.main(sys.modules[__name__])
