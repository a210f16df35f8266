"""Hand-written quantized programs for the program and reference tests.

A fixture is a version-2 document (docs/program.md) with each instruction's
constants written inline as nested lists (``"weight": [[1, 2], [-3, 1]]``), so
tests can tamper with it as plain data; :func:`files` turns it into the two
files a build holds (``circuit.json`` bytes with a ``constants`` list, and
``constants.bin``), and :func:`program` parses those as zkml does.
"""

from __future__ import annotations

import copy
import hashlib
import json

import numpy as np

from zkml import program as P

CONSTANT_FIELDS = {"linear": ("weight", "bias"), "affine": ("index", "weight", "row", "bias"),
                   "gather": ("index",), "max": ("index",), "relu": ()}


def tensor(name, shape, scale=0, bits=8):
    return {"name": name, "shape": list(shape), "scale": scale, "bits": bits}


def document(name, tensors, inputs, outputs, instructions) -> dict:
    return {"format": "zkml-program", "version": 2, "name": name, "tensors": tensors,
            "inputs": [{"name": tensors[i]["name"], "tensor": i} for i in inputs],
            "outputs": [{"name": tensors[i]["name"], "tensor": i} for i in outputs],
            "instructions": instructions}


def tiny_program(bits: int = 8, shift: int = 1) -> dict:
    """x[1,2] → linear(W=[[1,2],[-3,1]], b=[1,0], shift) → relu → gather to [2]."""
    return document(
        "tiny",
        [tensor("x", [1, 2], 0, bits), tensor("y", [1, 2], 0 - shift, bits),
         tensor("r", [1, 2], 0 - shift, bits), tensor("out", [2], 0 - shift, bits)],
        [0], [3],
        [{"op": "linear", "inputs": [0], "output": 1, "weight": [[1, 2], [-3, 1]],
          "bias": [1, 0], "shift": shift},
         {"op": "relu", "inputs": [1], "output": 2},
         {"op": "gather", "inputs": [2], "output": 3, "index": [0, 1]}])


def single_linear(weight, bias, shift, bits_in=8, bits_out=8) -> dict:
    n, k = len(weight), len(weight[0])
    return document(
        "linear", [tensor("x", [k], 0, bits_in), tensor("y", [n], -shift, bits_out)], [0], [1],
        [{"op": "linear", "inputs": [0], "output": 1, "weight": weight, "bias": bias,
          "shift": shift}])


def all_ops_program() -> dict:
    """x[2,2] → affine (reads x twice) → a[3]; gather (reads x twice, pads) →
    g[5]; max over x and g → m[2]; relu → r[2]. Outputs a, g, r.

    For x = [[3, -1], [2, 5]], X = x‖x = [3, -1, 2, 5, 3, -1, 2, 5]:
    a = floor([1·3 - 2·(-1) + 1, -1·5, -1] / 2) = [3, -3, -1] (index -1 skips a term);
    g = [X0, X7, 0, X3, X4] = [3, 5, 0, 5, 3];
    m over x‖g = [3, -1, 2, 5, 3, 5, 0, 5, 3]: [max(-1), max(2, 5, 5)] = [-1, 5];
    r = [0, 5].
    """
    return document(
        "all_ops",
        [tensor("x", [2, 2], 0, 8), tensor("a", [3], -1, 16), tensor("g", [5], 0, 8),
         tensor("m", [2], 0, 8), tensor("r", [2], 0, 8)],
        [0], [1, 2, 4],
        [{"op": "affine", "inputs": [0, 0], "output": 1,
          "index": [[0, 5, -1], [3, -1, -1], [-1, -1, -1]], "weight": [[1, -2, 3], [-1, 0, 0]],
          "row": [0, 1, 0], "bias": [1, 0, -1], "shift": 1},
         {"op": "gather", "inputs": [0, 0], "output": 2, "index": [0, 7, -1, 3, 4]},
         {"op": "max", "inputs": [0, 2], "output": 3, "index": [[1, -1, -1], [2, 5, 7]]},
         {"op": "relu", "inputs": [3], "output": 4}])


def files(doc: dict) -> tuple[bytes, bytes]:
    """``(circuit.json bytes, constants.bin bytes)`` of an inline fixture. A
    document that already has ``constants`` is taken as is (only the blob of
    its inline arrays is built); ``constants_sha256`` is filled in unless given."""
    doc = copy.deepcopy(doc)
    constants, blobs = [], []
    for k, instr in enumerate(doc.get("instructions", [])):
        if not isinstance(instr, dict) or not isinstance(instr.get("op"), str):
            continue
        for name in CONSTANT_FIELDS.get(instr.get("op"), ()):
            value = instr.get(name)
            if isinstance(value, (list, np.ndarray)):
                array = np.asarray(value, dtype="<i8")
                instr[name] = len(constants)
                constants.append({"name": f"{k}.{name}", "shape": list(array.shape) or [1]})
                blobs.append(array.tobytes())
    blob = b"".join(blobs)
    doc.setdefault("constants", constants)
    doc.setdefault("constants_sha256", hashlib.sha256(blob).hexdigest())
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode(), blob


def program(doc: dict) -> P.Program:
    return P.from_files(*files(doc))


def modified(doc: dict, change) -> dict:
    """A deep copy of ``doc`` after ``change(copy)``."""
    result = copy.deepcopy(doc)
    change(result)
    return result
