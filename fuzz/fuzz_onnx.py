"""model.onnx: the bytes as the model file given to zkml.compile (protobuf
parse, external-data checks, graph import, quantization with digits_mlp's
calibration where the input shape matches, the program validated)."""

from __future__ import annotations

import functools
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

NAME = "onnx"
MAX_LEN = 32768


def seeds() -> list[bytes]:
    models = sorted((common.REPO / "circuits").glob("*/model.onnx"))
    return [p.read_bytes() for p in models if p.stat().st_size <= MAX_LEN]


@functools.cache
def init() -> Path:
    return common.scratch(NAME)


def one_input(data: bytes) -> None:
    import zkml

    root = init()
    model = root / "model" / "model.onnx"
    model.parent.mkdir(exist_ok=True)
    model.write_bytes(data)
    out = root / "compiled"
    shutil.rmtree(out, ignore_errors=True)
    common.clear_error(zkml.compile, model, out)


if __name__ == "__main__":
    common.main(sys.modules[__name__])
