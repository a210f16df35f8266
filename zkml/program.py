"""The quantized program: the boundary IR between Python and Rust.

``docs/program.md`` is the specification; this module checks programs against
it (:func:`validate`), serialises them canonically (:func:`dumps`, whose bytes
:func:`circuit_hash` identifies the circuit), converts model inputs between
floats and the program's integers, and packs/unpacks the public signals.

A program is plain JSON data (dicts, lists, ints, strings): no numpy scalars,
so that ``dumps`` is the same bytes whoever calls it.
"""

from __future__ import annotations

import hashlib
import json
from itertools import chain
from math import ceil, prod

import numpy as np

from zkml.errors import InputShapeError, ModelError, ProofFormatError, QuantizationError

FORMAT = "zkml-program"
VERSION = 1
OPS = ("linear", "relu", "reshape")
TOP_LEVEL_KEYS = {"format", "version", "name", "tensors", "inputs", "outputs", "instructions",
                  "meta"}
PACK_BITS = 252  # bits of a BN254 scalar field element that packing may fill
ACCUMULATOR_LIMIT = 2**120
# Keeps 2^shift * q + rem far below r/2 (the native validator has the same cap).
MAX_SHIFT = 120
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _invalid(message: str) -> ModelError:
    return ModelError(f"invalid program: {message}")


# --- structure ---------------------------------------------------------------

def validate(program) -> None:
    """Check ``program`` against docs/program.md; raise :class:`ModelError` if not."""
    if not isinstance(program, dict):
        raise _invalid("not a JSON object")
    if program.get("format") != FORMAT:
        raise _invalid(f"'format' must be {FORMAT!r}, got {program.get('format')!r}")
    if program.get("version") != VERSION or not _is_int(program.get("version")):
        raise _invalid(f"unsupported version {program.get('version')!r} "
                       f"(this zkml reads {VERSION})")
    extra = set(program) - TOP_LEVEL_KEYS
    if extra:
        raise _invalid(f"unknown keys {sorted(extra)} (extra data belongs under 'meta')")
    if not isinstance(program.get("name"), str):
        raise _invalid("'name' must be a string")
    tensors = program.get("tensors")
    if not isinstance(tensors, list) or not tensors:
        raise _invalid("'tensors' must be a non-empty list")
    total = 0
    for index, tensor in enumerate(tensors):
        _check_tensor(index, tensor)
        total += prod(tensor["shape"])
        if total > MAX_TOTAL_ELEMENTS:
            raise _invalid(f"the tensors hold more than {MAX_TOTAL_ELEMENTS} elements in all")

    inputs = _check_io(program, "inputs", len(tensors))
    _check_io(program, "outputs", len(tensors))
    if len(set(inputs)) != len(inputs):
        raise _invalid("two model inputs share a tensor")

    written = set(inputs)
    instructions = program.get("instructions")
    if not isinstance(instructions, list):
        raise _invalid("'instructions' must be a list")
    for index, instr in enumerate(instructions):
        _check_instruction(index, instr, tensors, written)
        written.add(instr["output"])
    for index in range(len(tensors)):
        if index not in written:
            raise _invalid(f"tensor {index} ('{tensors[index]['name']}') is neither a model input "
                           "nor written by an instruction")


# The same limits as native/src/program.rs: far beyond what fits a proving
# key on one machine, and small enough that a hostile circuit.json cannot make
# anything allocate without bound.
MAX_TENSOR_ELEMENTS = 1 << 26
MAX_TOTAL_ELEMENTS = 1 << 28


def _check_tensor(index: int, tensor) -> None:
    where = f"tensor {index}"
    if not isinstance(tensor, dict) or set(tensor) != {"name", "shape", "scale", "bits"}:
        raise _invalid(f"{where} must have exactly the keys name, shape, scale, bits")
    if not isinstance(tensor["name"], str):
        raise _invalid(f"{where}: 'name' must be a string")
    shape = tensor["shape"]
    if not isinstance(shape, list) or not shape or not all(_is_int(d) and d > 0 for d in shape):
        raise _invalid(f"{where} ('{tensor['name']}'): shape must be a non-empty list of positive "
                       f"ints, got {shape!r}")
    if prod(shape) > MAX_TENSOR_ELEMENTS:
        raise _invalid(f"{where} ('{tensor['name']}') has shape {shape}: more than "
                       f"{MAX_TENSOR_ELEMENTS} elements")
    if not _is_int(tensor["scale"]):
        raise _invalid(f"{where} ('{tensor['name']}'): scale must be an int")
    bits = tensor["bits"]
    if not _is_int(bits) or not 2 <= bits <= 64:
        raise _invalid(f"{where} ('{tensor['name']}'): bits must be an int in 2..64, got {bits!r}")


def _check_io(program: dict, key: str, n_tensors: int) -> list[int]:
    entries = program.get(key)
    if not isinstance(entries, list) or not entries:
        raise _invalid(f"'{key}' must be a non-empty list")
    indices = []
    for entry in entries:
        if (not isinstance(entry, dict) or set(entry) != {"name", "tensor"}
                or not isinstance(entry["name"], str) or not _is_int(entry["tensor"])
                or not 0 <= entry["tensor"] < n_tensors):
            raise _invalid(f"'{key}' entry {entry!r} must be "
                           f"{{name: str, tensor: index < {n_tensors}}}")
        indices.append(entry["tensor"])
    return indices


def _check_instruction(index: int, instr, tensors: list, written: set) -> None:
    where = f"instruction {index}"
    if not isinstance(instr, dict) or instr.get("op") not in OPS:
        raise _invalid(f"{where}: 'op' must be one of {list(OPS)}")
    op = instr["op"]
    expected = {"op", "input", "output"}
    if op == "linear":
        expected |= {"weight", "bias", "shift"}
    if set(instr) != expected:
        raise _invalid(f"{where} ({op}): keys must be {sorted(expected)}, got {sorted(instr)}")
    where = f"{where} ({op})"
    for key in ("input", "output"):
        if not _is_int(instr[key]) or not 0 <= instr[key] < len(tensors):
            raise _invalid(f"{where}: '{key}' must be a tensor index < {len(tensors)}")
    x, y = tensors[instr["input"]], tensors[instr["output"]]
    if instr["input"] not in written:
        raise _invalid(f"{where} reads tensor {instr['input']} ('{x['name']}') before it is "
                       "written")
    if instr["output"] in written:
        raise _invalid(f"{where} writes tensor {instr['output']} ('{y['name']}'), which is a model "
                       "input or already written")
    if op == "linear":
        _check_linear(where, instr, x, y)
        return
    if (x["scale"], x["bits"]) != (y["scale"], y["bits"]):
        raise _invalid(f"{where}: input and output must have the same scale and bits")
    if op == "relu" and x["shape"] != y["shape"]:
        raise _invalid(f"{where}: shapes differ ({x['shape']} vs {y['shape']})")
    if op == "reshape" and prod(x["shape"]) != prod(y["shape"]):
        raise _invalid(f"{where}: element counts differ ({x['shape']} vs {y['shape']})")


def _contains_bool(value, ndim: int) -> bool:
    """JSON true/false among the numbers: numpy would take them for 1 and 0,
    the native validator refuses them, and so must we (found by fuzzing)."""
    if not isinstance(value, list):
        return False
    items = value
    for _ in range(ndim - 1):
        if not all(isinstance(row, list) for row in items):
            return False
        items = list(chain.from_iterable(items))
    return bool in map(type, items)


def _int64_array(value, ndim: int):
    """``value`` as an int64 array of rank ``ndim``, or None if it is not one."""
    if _contains_bool(value, ndim):
        return None
    try:
        array = np.array(value)
    except (ValueError, TypeError):
        return None
    if array.ndim != ndim or array.dtype.kind not in "iu":
        return None
    if array.dtype.kind == "u" and array.size and array.max() > _INT64_MAX:
        return None
    return array.astype(np.int64)


def _check_linear(where: str, instr: dict, x: dict, y: dict) -> None:
    shift = instr["shift"]
    if not _is_int(shift) or not 0 <= shift <= MAX_SHIFT:
        raise _invalid(f"{where}: shift must be an int in [0, {MAX_SHIFT}], got {shift!r}")
    weight = _int64_array(instr["weight"], 2)
    bias = _int64_array(instr["bias"], 1)
    if weight is None or bias is None:
        raise _invalid(f"{where}: weight must be an [N][K] list and bias an [N] list of signed "
                       "64-bit ints")
    n, k = weight.shape
    if x["shape"][-1] != k or bias.shape != (n,):
        raise _invalid(f"{where}: weight is [{n}][{k}] and bias has {bias.shape[0]} entries, "
                       f"but the input shape is {x['shape']}")
    if y["shape"] != x["shape"][:-1] + [n]:
        raise _invalid(f"{where}: output shape must be {x['shape'][:-1] + [n]}, got {y['shape']}")
    bound = accumulator_bound(weight, bias, x["bits"])
    if bound >= ACCUMULATOR_LIMIT:
        # The same rule as native/src/program.rs: the bound must stay below 2^120.
        raise _invalid(f"{where}: accumulator bound {bound} is not below 2^120")


def accumulator_bound(weight: np.ndarray, bias: np.ndarray, bits_in: int) -> int:
    """``max_n sum_k |w[n,k]| * 2^(bits_in-1) + |b[n]|``, exact as a Python int."""
    weight = np.asarray(weight)
    bias = np.asarray(bias)
    estimate = float((np.abs(weight.astype(np.float64)).sum(axis=1) * 2.0 ** (bits_in - 1)
                      + np.abs(bias.astype(np.float64))).max())
    if estimate < 2.0**60 and bits_in <= 60:  # int64 cannot overflow here, so this is exact
        rows = np.abs(weight).sum(axis=1) * (1 << (bits_in - 1)) + np.abs(bias)
        return int(rows.max())
    rows = (np.abs(weight.astype(object)).sum(axis=1) * (1 << (bits_in - 1))
            + np.abs(bias.astype(object)))
    return int(max(rows))


# --- bytes -------------------------------------------------------------------

def dumps(program: dict) -> bytes:
    """The canonical bytes of ``program`` (what ``circuit.json`` holds)."""
    return json.dumps(program, sort_keys=True, separators=(",", ":")).encode("utf-8")


def loads(data: bytes) -> dict:
    """Parse and validate program bytes."""
    try:
        program = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"invalid program: not JSON ({exc})") from exc
    validate(program)
    return program


def circuit_hash(data: bytes) -> str:
    """SHA-256 (hex) of the canonical program bytes: the circuit's identity."""
    return hashlib.sha256(data).hexdigest()


# --- numbers -----------------------------------------------------------------

def tensor_range(tensor: dict) -> tuple[int, int]:
    """The inclusive integer range of a tensor: ``[-2^(b-1), 2^(b-1) - 1]``."""
    half = 1 << (tensor["bits"] - 1)
    return -half, half - 1


def _shaped(array: np.ndarray, shape: tuple[int, ...], what: str, allow_batch: bool) -> np.ndarray:
    if array.shape == shape:
        return array
    if allow_batch and array.ndim == len(shape) + 1 and array.shape[1:] == shape:
        return array
    if array.size == prod(shape):
        return array.reshape(shape)
    raise InputShapeError(f"{what}: expected shape {list(shape)} ({prod(shape)} values), "
                          f"got shape {list(array.shape)}")


def quantize_inputs(program: dict, floats: list) -> list[np.ndarray]:
    """Model inputs (floats) → int64 arrays: ``q = floor(x * 2^f + 1/2)``.

    Each array has its tensor's shape, the same number of elements, or one
    leading axis of samples. A non-finite value or a ``q`` outside the tensor's
    range is a :class:`QuantizationError` (never a clamp).
    """
    specs = program["inputs"]
    if len(floats) != len(specs):
        raise InputShapeError(f"the model takes {len(specs)} input(s), got {len(floats)}")
    result = []
    for spec, value in zip(specs, floats):
        tensor = program["tensors"][spec["tensor"]]
        what = f"input '{spec['name']}'"
        array = np.asarray(value, dtype=np.float64)
        array = _shaped(array, tuple(tensor["shape"]), what, allow_batch=True)
        bad = ~np.isfinite(array)
        if bad.any():
            at = tuple(int(i) for i in np.argwhere(bad)[0])
            raise QuantizationError(f"{what} has a non-finite value {float(array[at])} at index "
                                    f"{list(at)}")
        scaled = np.floor(np.ldexp(array, tensor["scale"]) + 0.5)
        lo, hi = tensor_range(tensor)
        outside = (scaled < lo) | (scaled >= 2.0 ** (tensor["bits"] - 1))
        if outside.any():
            worst = np.unravel_index(np.argmax(np.where(outside, np.abs(array), -1.0)), array.shape)
            step = 2.0 ** -tensor["scale"]
            raise QuantizationError(
                f"{what} value {float(array[worst]):g} at index {[int(i) for i in worst]} is out of "
                f"range: with scale 2^{-tensor['scale']} and {tensor['bits']} bits the representable "
                f"range is [{float(lo * step):g}, {float(hi * step):g}]; recompile with a calibration "
                f"sample that covers this value (or more --bits)")
        result.append(scaled.astype(np.int64))
    return result


def dequantize(program: dict, tensor_index: int, ints) -> np.ndarray:
    """Integers of tensor ``tensor_index`` → the reals they stand for (``q * 2^-f``)."""
    scale = program["tensors"][tensor_index]["scale"]
    return np.ldexp(np.asarray(ints).astype(np.float64), -scale)


# --- public signals ----------------------------------------------------------

def _public_tensors(program: dict) -> list[tuple[str, dict]]:
    named = [("input", e) for e in program["inputs"]] + [("output", e) for e in program["outputs"]]
    return [(f"{kind} '{e['name']}'", program["tensors"][e["tensor"]]) for kind, e in named]


def _per_element(tensor: dict) -> int:
    return PACK_BITS // tensor["bits"]


def public_count(program: dict) -> int:
    """How many field elements :func:`pack_public` produces."""
    return sum(ceil(prod(t["shape"]) / _per_element(t)) for _, t in _public_tensors(program))


def pack_public(program: dict, inputs_int: list, outputs_int: list) -> list[int]:
    """Pack quantized inputs then outputs into field elements (docs/program.md)."""
    tensors = _public_tensors(program)
    values = list(inputs_int) + list(outputs_int)
    if len(inputs_int) != len(program["inputs"]) or len(outputs_int) != len(program["outputs"]):
        raise InputShapeError(f"expected {len(program['inputs'])} input and "
                              f"{len(program['outputs'])} output tensors, got "
                              f"{len(inputs_int)} and {len(outputs_int)}")
    packed: list[int] = []
    for (what, tensor), value in zip(tensors, values):
        array = np.asarray(value)
        if array.dtype.kind not in "iuO":
            raise QuantizationError(f"{what}: expected integers, got {array.dtype}")
        array = _shaped(array, tuple(tensor["shape"]), what, allow_batch=False).reshape(-1)
        lo, hi = tensor_range(tensor)
        outside = (array < lo) | (array > hi)
        if outside.any():
            at = int(np.argmax(outside))
            raise QuantizationError(f"{what} value {array[at]} at flat index {at} is outside "
                                    f"[{lo}, {hi}] ({tensor['bits']} bits)")
        packed.extend(_pack(array.astype(np.int64), tensor["bits"]))
    return packed


def _pack(q: np.ndarray, bits: int) -> list[int]:
    k = PACK_BITS // bits
    n_elements = ceil(q.size / k)
    offset = np.uint64(1 << (bits - 1))
    u = np.zeros(n_elements * k, dtype=np.uint64)
    u[: q.size] = q.astype(np.uint64) + offset  # wraps exactly to q + 2^(b-1) in [0, 2^b)
    digits = (u[:, None] >> np.arange(bits, dtype=np.uint64)) & np.uint64(1)
    digits = digits.astype(np.uint8).reshape(n_elements, k * bits)
    digits = np.pad(digits, ((0, 0), (0, 256 - k * bits)))
    rows = np.packbits(digits, axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in rows]


def _field_int(value, index: int) -> int:
    if _is_int(value):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ProofFormatError(f"public signal {index} is not a non-negative integer: {value!r}")


def unpack_public(program: dict, public: list) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Public signals → (quantized inputs, quantized outputs), int64 arrays.

    Checks the element count and that every element holds only its packed
    values (no bits above them), so that every list maps to at most one result.
    """
    public = list(public)
    expected = public_count(program)
    if len(public) != expected:
        raise ProofFormatError(f"expected {expected} public signals for this circuit, "
                               f"got {len(public)}")
    arrays = []
    cursor = 0
    for what, tensor in _public_tensors(program):
        bits, k, size = tensor["bits"], _per_element(tensor), prod(tensor["shape"])
        n_elements = ceil(size / k)
        chunk = [_field_int(v, cursor + i)
                 for i, v in enumerate(public[cursor: cursor + n_elements])]
        for j, value in enumerate(chunk):
            held = min(k, size - j * k)
            if value >> (held * bits):
                raise ProofFormatError(f"public signal {cursor + j} ({what}) is out of range: "
                                       f"it must be below 2^{held * bits}")
        cursor += n_elements
        raw = np.frombuffer(b"".join(v.to_bytes(32, "little") for v in chunk), dtype=np.uint8)
        digits = np.unpackbits(raw.reshape(n_elements, 32), axis=1, bitorder="little")
        digits = digits[:, : k * bits].reshape(n_elements * k, bits).astype(np.uint64)
        u = (digits << np.arange(bits, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)[:size]
        q = (u - np.uint64(1 << (bits - 1))).view(np.int64)
        arrays.append(q.reshape(tensor["shape"]))
    n_inputs = len(program["inputs"])
    return arrays[:n_inputs], arrays[n_inputs:]


def unpack_outputs(program: dict, public: list) -> list[np.ndarray]:
    """The quantized model outputs held in the public signals."""
    return unpack_public(program, public)[1]
