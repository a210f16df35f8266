"""Reading ``input.json`` and calibration files.

Two shapes are accepted:

* ezkl's: ``{"input_data": [[...], ...]}`` — one flat list per model input, in
  the model's input order (an ``"output_data"`` key beside it is ignored);
* named: ``{"<onnx input name>": values, ...}`` — one entry per model input,
  each a flat list or a nested list of the input's shape (leading 1-sized axes
  may be left out).

For calibration each input may hold ``k`` samples: a flat list of
``k × size`` values, a list of ``k`` flat lists, or a nested ``[k, *shape]``
list; every input must give the same ``k``.

A wrong count or shape is an :class:`InputShapeError`; an unreadable file or a
value that is not a finite number is an :class:`InputFileError`. Both messages
are one line and name the input.

``model`` is a frontend :class:`~zkml.frontend.graph.Graph` or a :class:`~zkml.program.Program`:
anything that knows the input names and shapes.
"""

from __future__ import annotations

import os
from math import prod
from typing import Any

import numpy as np

from zkml.artifacts import read_json
from zkml.errors import ArgumentError, InputFileError, InputShapeError

EZKL_KEY = "input_data"
EZKL_IGNORED = {"output_data"}


def input_specs(model) -> list[tuple[str, tuple[int, ...]]]:
    """``[(name, shape)]`` of the model inputs, in order."""
    from zkml.program import Program

    if isinstance(model, Program):
        return [(e.name, model.tensors[e.tensor].shape) for e in model.inputs]
    return [(name, tuple(model.shape(name))) for name in model.inputs]


def load_inputs(path, model) -> list[np.ndarray]:
    """One float64 array per model input, shaped like the input. The file is
    checked against its schema (zkml.schemas.InputFile), then against the model."""
    from zkml.schemas import validate_inputs

    doc = read_json(path, "input file")
    validate_inputs(doc, str(path), [name for name, _ in input_specs(model)])
    return parse_inputs(doc, model, source=str(path))


def load_calibration(path, model) -> list[np.ndarray]:
    """One float64 array ``[samples, *shape]`` per model input (the file is
    checked against zkml.schemas.CalibrationFile first)."""
    from zkml.schemas import validate_inputs

    doc = read_json(path, "calibration file")
    validate_inputs(doc, str(path), [name for name, _ in input_specs(model)])
    return parse_calibration(doc, model, source=str(path))


def python_inputs(value: Any, model, what: str = "inputs") -> list[np.ndarray]:
    """Model inputs as Python callers give them: an input.json path, its
    parsed dict, one numpy array or torch tensor (a model with one input), or
    a list or tuple with one array, tensor or nested list per input, in the
    model's input order. One float64 array per input; shapes are checked when
    they are quantized."""
    if isinstance(value, (str, os.PathLike)):
        return load_inputs(value, model)
    if isinstance(value, dict):
        return parse_inputs(_from_tensors(value), model, source=what)
    return [_numbers(v, name, what) for (name, _), v in zip(input_specs(model), _one_per_input(value, model, what))]


def python_calibration(value: Any, model) -> list[np.ndarray] | None:
    """Calibration samples as Python callers give them: None, a calibration
    file's path, its parsed dict, or arrays/tensors as for :func:`python_inputs`,
    each ``[samples, *shape]`` (or one sample of the input's shape)."""
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        return load_calibration(value, model)
    if isinstance(value, dict):
        return parse_calibration(_from_tensors(value), model)
    names = [name for name, _ in input_specs(model)]
    return parse_calibration(dict(zip(names, _one_per_input(value, model, "calibration"))), model)


def _one_per_input(value: Any, model, what: str) -> list:
    from zkml.frontend.torch_export import is_tensor, tensor_to_numpy

    names = [name for name, _ in input_specs(model)]
    if isinstance(value, np.ndarray) or is_tensor(value):
        if len(names) != 1:
            raise InputShapeError(f"{what}: the model takes {len(names)} inputs ({', '.join(names)}); give a list "
                                  "with one array per input, or a dict by input name")
        return [tensor_to_numpy(value)]
    if not isinstance(value, (list, tuple)):
        raise ArgumentError(f"{what}: expected a path to a JSON file, a dict, a numpy array or torch tensor, or a "
                            f"list of them (one per model input); got {type(value).__name__}")
    if len(value) != len(names):
        raise InputShapeError(f"{what}: {len(value)} value(s) given; the model takes {len(names)} input(s) "
                              f"({', '.join(names)}), one list entry each")
    return [tensor_to_numpy(v) for v in value]


def _from_tensors(doc: Any) -> Any:
    """``doc`` with every torch tensor in it (in dicts, lists, tuples) as a numpy array."""
    from zkml.frontend.torch_export import tensor_to_numpy

    if isinstance(doc, dict):
        return {k: _from_tensors(v) for k, v in doc.items()}
    if isinstance(doc, (list, tuple)):
        return [_from_tensors(v) for v in doc]
    return tensor_to_numpy(doc)


def parse_inputs(doc, model, source: str = "input") -> list[np.ndarray]:
    arrays = []
    for (name, shape), value in zip(input_specs(model), _per_input(doc, model, source)):
        array = _numbers(value, name, source)
        if not _fits(array.shape, shape) and not (array.ndim <= 1 and array.size == prod(shape)):
            raise InputShapeError(f"{source}: input '{name}' expects shape {list(shape)} "
                                  f"({prod(shape)} values), got shape {list(array.shape)} "
                                  f"({array.size} values)")
        arrays.append(array.reshape(shape))
    return arrays


def parse_calibration(doc, model, source: str = "calibration") -> list[np.ndarray]:
    arrays: list[np.ndarray] = []
    for (name, shape), value in zip(input_specs(model), _per_input(doc, model, source)):
        array = _numbers(value, name, source)
        size = prod(shape)
        if array.ndim <= 1 and array.size % size == 0 and array.size:
            samples = array.size // size
        elif _fits(array.shape, shape):
            samples = 1
        elif array.ndim == 2 and array.shape[1] == size:
            samples = array.shape[0]  # one flat list per sample
        elif array.ndim >= 1 and _fits(array.shape[1:], shape):
            samples = array.shape[0]
        else:
            raise InputShapeError(f"{source}: input '{name}' expects a multiple of {size} values "
                                  f"(samples of shape {list(shape)}), got shape "
                                  f"{list(array.shape)} ({array.size} values)")
        arrays.append(array.reshape((samples,) + shape))
    counts = {a.shape[0] for a in arrays}
    if len(counts) > 1:
        raise InputShapeError(f"{source}: inputs give different numbers of samples "
                              f"({', '.join(str(a.shape[0]) for a in arrays)})")
    if counts == {0}:
        raise InputShapeError(f"{source}: no samples")
    return arrays


def _strip_ones(shape) -> tuple:
    shape = tuple(shape)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def _fits(got, want) -> bool:
    return _strip_ones(got) == _strip_ones(want)


def _per_input(doc, model, source: str) -> list:
    """The raw value of each model input, in order."""
    specs = input_specs(model)
    names = [name for name, _ in specs]
    if not isinstance(doc, dict):
        raise InputFileError(f"{source}: expected a JSON object ({{\"input_data\": [...]}} or "
                             f"named inputs), got {type(doc).__name__}", source)
    if EZKL_KEY in doc and EZKL_KEY not in names:
        extra = set(doc) - {EZKL_KEY} - EZKL_IGNORED
        if extra:
            raise InputFileError(f"{source}: unexpected keys {sorted(extra)} beside "
                                 f"'{EZKL_KEY}'", source)
        data = doc[EZKL_KEY]
        if not isinstance(data, list):
            raise InputFileError(f"{source}: '{EZKL_KEY}' must be a list of per-input lists",
                                 source)
        if len(names) == 1 and data and not isinstance(data[0], (list, np.ndarray)):
            data = [data]  # a single input given as one flat list
        if len(data) != len(names):
            raise InputShapeError(f"{source}: '{EZKL_KEY}' holds {len(data)} input(s); the model "
                                  f"takes {len(names)} ({', '.join(names)})")
        return data
    missing = [n for n in names if n not in doc]
    unknown = [k for k in doc if k not in names]
    if unknown or missing:
        detail = []
        if missing:
            detail.append(f"missing input(s) {', '.join(map(repr, missing))}")
        if unknown:
            detail.append(f"unknown key(s) {', '.join(map(repr, unknown))}")
        raise InputShapeError(f"{source}: {'; '.join(detail)}; the model's inputs are "
                              f"{', '.join(map(repr, names))} (or use {{\"{EZKL_KEY}\": [[...]]}})")
    return [doc[n] for n in names]


def _numbers(value, name: str, source: str) -> np.ndarray:
    try:
        array = np.array(value)
    except (ValueError, TypeError):
        raise InputShapeError(f"{source}: input '{name}' is a ragged nested list") from None
    if array.dtype.kind not in "iuf":
        raise InputFileError(f"{source}: input '{name}' must hold only numbers "
                             f"(found {_describe(array)})", source)
    array = array.astype(np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        at = [int(i) for i in np.argwhere(bad)[0]]
        raise InputFileError(f"{source}: input '{name}' has a non-finite value "
                             f"{array[tuple(at)]} at index {at}", source)
    return array


def _describe(array: np.ndarray) -> str:
    if array.dtype.kind == "b":
        return "booleans"
    if array.dtype.kind in "US":
        return "strings"
    return "non-numeric values"
