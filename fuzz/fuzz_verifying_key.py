"""verification_key.json (the verifying key): the bytes as that file, then `zkml verify`'s
verify_statement (JSON read, circuit hash, native point and field checks,
pairing, public signals decoded with the build's circuit)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

NAME = "verifying_key"
MAX_LEN = 8192
FILE = "build/verification_key.json"


def seeds() -> list[bytes]:
    return common.verify_seeds(FILE)


@functools.cache
def init() -> Path:
    return common.scratch(NAME)


def one_input(data: bytes) -> None:
    common.verify_with(init(), FILE, data)


if __name__ == "__main__":
    common.main(sys.modules[__name__])
