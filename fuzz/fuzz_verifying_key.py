"""verification_key.json (the verifying key): the bytes as that file, then `zkml verify`'s
verify_statement (JSON read, circuit hash, native point and field checks,
pairing, public signals decoded with the build's circuit)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

NAME = "verifying_key"
MAX_LEN = 8192
FILE = "build/verification_key.json"
seeds, init, one_input = common.verify_harness(NAME, FILE)

if __name__ == "__main__":
    common.main(sys.modules[__name__])
