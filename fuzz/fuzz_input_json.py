"""input.json: the bytes as the file given to `zkml check` (read, parsed,
quantized, evaluated by the native witness generator)."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

NAME = "input_json"
MAX_LEN = 16384


def seeds() -> list[bytes]:
    real = (common.DIGITS / "input.json").read_bytes()
    doc = json.loads(real)
    flat = doc["input_data"][0] if isinstance(doc.get("input_data"), list) else None
    out = [real, (common.DIGITS / "calibration.json").read_bytes()[:MAX_LEN]]
    if flat is not None:
        out += [json.dumps({"input_data": [flat[:10]]}).encode(),
                json.dumps({"input": flat}).encode(),
                json.dumps([flat]).encode()]
    return out


@functools.cache
def init() -> Path:
    return common.scratch(NAME)


def one_input(data: bytes) -> None:
    root = init()
    path = root / "input.json"
    path.write_bytes(data)
    import zkml.api

    common.clear_error(zkml.api.check, root / "build", path)


if __name__ == "__main__":
    common.main(sys.modules[__name__])
