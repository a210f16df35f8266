"""What privacy costs, per zoo model: constraints and public signals with the
weights as constants (the default), with the input hashed, and with the
weights committed (zkml.privacy), side by side in one run.

    .venv/bin/python bench/privacy_costs.py [--models digits_mlp,lenet5] [--json out.json]

Each model is quantized once per weights mode; the circuit is synthesised in
structure-only mode (as setup does), so nothing is proved. Writes a markdown
table to stdout (the one in bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ZOO = ["digits_mlp", "digits_cnn", "resnet_block", "sklearn_mlp", "tiny_transformer", "lenet5"]


def _circuit(model: str, weights: str, visibility: dict | None) -> dict:
    from zkml import _native, privacy
    from zkml.frontend import load_model
    from zkml.inputs import load_calibration
    from zkml.quantize import quantize

    folder = REPO / "circuits" / model
    graph = load_model(folder / "model.onnx", None)
    samples = load_calibration(folder / "calibration.json", graph)
    program, _ = quantize(graph, samples, bits=16, weight_headroom=1 if weights == "committed" else 0)
    program = privacy.apply_visibility(program, visibility)
    macs = 0
    if weights == "committed":
        program = privacy.commit_weights(program, 16)
        for instr in program.instructions:
            if instr.op == "linear":
                rows = program.tensors[instr.output].size // instr.weight.shape[0]
                macs += rows * instr.weight.size
            elif instr.op == "affine":
                macs += int((instr.index >= 0).sum())
    info = _native.circuit_info(*program.to_files())
    values = sum(int(v.size) for _, v, _ in program.committed_constants())
    return {"constraints": info["constraints"], "public": info["public_inputs"], "macs": macs,
            "committed_values": values}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(ZOO))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = {}
    for model in args.models.split(","):
        started = time.perf_counter()
        rows[model] = {
            "constant": _circuit(model, "constant", None),
            "hashed_input": _circuit(model, "constant", {"input": "hashed"}),
            "committed": _circuit(model, "committed", None),
        }
        print(f"{model}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print("| model | constraints (weights constant) | input hashed: constraints, signals | weights committed: "
          "constraints | × | committed values | multiply-accumulates | signals (public → committed) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for model, r in rows.items():
        c, h, w = r["constant"], r["hashed_input"], r["committed"]
        print(f"| {model} | {c['constraints']:,} | {h['constraints']:,}, {h['public']} | {w['constraints']:,} | "
              f"{w['constraints'] / c['constraints']:.1f} | {w['committed_values']:,} | {w['macs']:,} | "
              f"{c['public']} → {w['public']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
