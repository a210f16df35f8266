"""A ``torch.nn.Module`` in, an in-memory ONNX model out, through
``torch.onnx.export`` as a user would call it.

torch is an optional extra (``pip install zkml[torch]``): it is imported only
when a module is given, so a module can only come from a process that has
already imported torch.
"""

from __future__ import annotations

import inspect
import io
import sys
from typing import Any

import numpy as np
import onnx

from zkml.errors import ArgumentError, ModelError

OPSET = 17
"""The opset the module is exported at (zkml's ops cover it; torch 2.1+ supports it)."""


def is_module(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def is_tensor(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def tensor_to_numpy(obj: Any) -> Any:
    """A torch tensor as a float64 numpy array (wherever it lives); anything else unchanged."""
    if is_tensor(obj):
        return obj.detach().cpu().double().numpy()
    return obj


def export_module(module: Any, example_inputs: Any) -> onnx.ModelProto:
    """Export ``module`` at ``example_inputs``' shapes (static: the circuit
    has one shape). Inputs are named after ``forward``'s parameters, outputs
    ``output`` (or ``output_0``, ``output_1``, ...). The module is exported in
    eval mode and left in the mode it was in."""
    import torch

    if example_inputs is None:
        raise ArgumentError(
            "compiling a torch.nn.Module needs example_inputs=: one tensor or array per forward() "
            "argument, with the shape the circuit will take (e.g. torch.zeros(1, 1, 8, 8))"
        )
    items = example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    args = tuple(_as_tensor(torch, x, i).to(device) for i, x in enumerate(items))

    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            result = module(*args)
    except Exception as exc:
        raise ModelError(f"the module failed on example_inputs: {type(exc).__name__}: {_one_line(exc)}") from exc
    finally:
        module.train(was_training)
    if isinstance(result, torch.Tensor):
        outputs = ["output"]
    elif isinstance(result, (tuple, list)) and result and all(isinstance(r, torch.Tensor) for r in result):
        outputs = [f"output_{i}" for i in range(len(result))]
    else:
        raise ArgumentError(
            f"the module returns {type(result).__name__}; zkml compiles modules that return a tensor "
            "or a tuple of tensors"
        )

    options: dict[str, Any] = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        options["dynamo"] = False  # the TorchScript exporter: no onnxscript needed
    buffer = io.BytesIO()
    try:
        torch.onnx.export(
            module, args, buffer, input_names=_input_names(module, len(args)), output_names=outputs,
            opset_version=OPSET, training=torch.onnx.TrainingMode.EVAL, do_constant_folding=True, **options,
        )
    except Exception as exc:
        raise ModelError(f"torch.onnx.export failed: {type(exc).__name__}: {_one_line(exc)}") from exc
    finally:
        module.train(was_training)
    model = onnx.load_from_string(buffer.getvalue())
    model.graph.name = type(module).__name__
    return model


def _as_tensor(torch: Any, value: Any, index: int) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().float()
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        return torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    raise ArgumentError(
        f"example_inputs[{index}] is {type(value).__name__}; give a torch tensor or a numeric numpy array "
        "per forward() argument"
    )


def _input_names(module: Any, count: int) -> list[str]:
    """forward()'s parameter names, so input.json can name them; input_<i> otherwise."""
    try:
        parameters = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= count:
        return positional[:count]
    return ["input"] if count == 1 else [f"input_{i}" for i in range(count)]


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
