"""Hand-written quantized programs for the program and reference tests."""

from __future__ import annotations

import copy


def tensor(name, shape, scale=0, bits=8):
    return {"name": name, "shape": list(shape), "scale": scale, "bits": bits}


def tiny_program(bits: int = 8, shift: int = 1) -> dict:
    """x[1,2] → linear(W=[[1,2],[-3,1]], b=[1,0], shift) → relu → reshape [2]."""
    return {
        "format": "zkml-program",
        "version": 1,
        "name": "tiny",
        "tensors": [tensor("x", [1, 2], 0, bits), tensor("y", [1, 2], 0 - shift, bits),
                    tensor("r", [1, 2], 0 - shift, bits), tensor("out", [2], 0 - shift, bits)],
        "inputs": [{"name": "x", "tensor": 0}],
        "outputs": [{"name": "out", "tensor": 3}],
        "instructions": [
            {"op": "linear", "input": 0, "output": 1, "weight": [[1, 2], [-3, 1]],
             "bias": [1, 0], "shift": shift},
            {"op": "relu", "input": 1, "output": 2},
            {"op": "reshape", "input": 2, "output": 3},
        ],
    }


def single_linear(weight, bias, shift, bits_in=8, bits_out=8) -> dict:
    n, k = len(weight), len(weight[0])
    return {
        "format": "zkml-program", "version": 1, "name": "linear",
        "tensors": [tensor("x", [k], 0, bits_in), tensor("y", [n], -shift, bits_out)],
        "inputs": [{"name": "x", "tensor": 0}],
        "outputs": [{"name": "y", "tensor": 1}],
        "instructions": [{"op": "linear", "input": 0, "output": 1, "weight": weight,
                          "bias": bias, "shift": shift}],
    }


def modified(program: dict, change) -> dict:
    """A deep copy of ``program`` after ``change(copy)``."""
    result = copy.deepcopy(program)
    change(result)
    return result
