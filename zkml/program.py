"""The quantized program: the boundary IR between Python and Rust.

``docs/program.md`` is the specification; this module checks programs against
it (:func:`validate`, with each instruction kind's own rules in ``zkml.ops``),
reads and writes its two files (:func:`from_files`, :meth:`Program.to_files`;
the bytes of ``circuit.json`` are the circuit's identity, :func:`circuit_hash`),
converts model inputs between floats and the program's integers, and
packs/unpacks the public signals.

The IR is typed: :class:`Program`, :class:`Tensor`, :class:`Io` and one frozen
dataclass per instruction kind.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from math import ceil, isinf, prod

import numpy as np

from zkml.errors import InputShapeError, ModelError, ProofFormatError, QuantizationError

FORMAT = "zkml-program"
VERSION = 2
TOP_LEVEL_KEYS = {"format", "version", "name", "constants_sha256", "constants", "tensors",
                  "inputs", "outputs", "instructions", "meta"}
FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617  # r of BN254
PACK_BITS = 252  # bits of a BN254 scalar field element that packing may fill
ACCUMULATOR_LIMIT = 2**120
# Keeps 2^shift * q + rem far below r/2 (the native validator has the same cap).
MAX_SHIFT = 120
# The same limits as native/src/program.rs: far beyond what fits a proving
# key on one machine, and small enough that a hostile circuit.json cannot make
# anything allocate without bound.
MAX_TENSOR_ELEMENTS = 1 << 26
MAX_TOTAL_ELEMENTS = 1 << 28
MAX_CONSTANT_ELEMENTS = 1 << 28
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
#: The constants that committed weights make private, by instruction kind.
COMMITTABLE = {"linear": ("weight", "bias"), "affine": ("weight", "bias")}
#: Width of a committed bias (the quantizer keeps biases within signed 64 bits).
BIAS_BITS = 64


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _invalid(message: str) -> ModelError:
    return ModelError(f"invalid program: {message}")


# --- the typed IR --------------------------------------------------------------


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    scale: int
    bits: int

    @property
    def size(self) -> int:
        return prod(self.shape)

    @property
    def range(self) -> tuple[int, int]:
        """The inclusive integer range ``[-2^(b-1), 2^(b-1) - 1]``."""
        half = 1 << (self.bits - 1)
        return -half, half - 1

    def to_json(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "scale": self.scale,
                "bits": self.bits}


#: What a verifier sees of a model input or output (docs/privacy.md): the
#: values packed into public signals, one salted Poseidon commitment to them,
#: or nothing.
VISIBILITIES = ("public", "hashed", "private")


@dataclass(frozen=True)
class Io:
    name: str
    tensor: int
    visibility: str = "public"

    def to_json(self) -> dict:
        doc: dict = {"name": self.name, "tensor": self.tensor}
        if self.visibility != "public":  # absent means public: older circuits keep their hash
            doc["visibility"] = self.visibility
        return doc


@dataclass(frozen=True, eq=False)
class Program:
    """A quantized program (docs/program.md). Instructions are the frozen
    dataclasses of their kinds (``zkml.ops``), constants numpy int64 arrays."""

    name: str
    tensors: tuple[Tensor, ...]
    inputs: tuple[Io, ...]
    outputs: tuple[Io, ...]
    instructions: tuple
    meta: object = None
    weight_bits: int | None = None
    """Committed weights (docs/privacy.md): the weights of linear and affine
    instructions are private values of this signed width (their biases of
    :data:`BIAS_BITS`), bound by a public commitment; None: constants."""

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def committed_constants(self) -> list[tuple[str, np.ndarray, int]]:
        """(name, values, bits) of each committed constant, in constant order."""
        if self.weight_bits is None:
            return []
        return [(f"{k}.{instr.op}.{name}", getattr(instr, name), self.weight_bits if name == "weight" else BIAS_BITS)
                for k, instr in enumerate(self.instructions) if instr.op in COMMITTABLE
                for name in COMMITTABLE[instr.op]]

    def weights_blob(self) -> bytes:
        """``weights.bin``: the committed constants' values, little-endian i64 back to back."""
        return b"".join(np.ascontiguousarray(v, dtype="<i8").tobytes() for _, v, _ in self.committed_constants())

    def to_files(self) -> tuple[bytes, bytes]:
        """``(circuit.json bytes, constants.bin bytes)``, canonical. Committed
        constants are listed (name, shape, width) but their values are not in
        either file: see :meth:`weights_blob`."""
        from zkml.ops import KINDS

        constants: list[dict] = []
        blobs: list[bytes] = []
        instructions = []
        for k, instr in enumerate(self.instructions):
            kind = KINDS[instr.op]
            entry = {"op": instr.op, "inputs": list(instr.inputs), "output": instr.output}
            for name in kind.SCALARS:
                entry[name] = int(getattr(instr, name))
            for name in kind.CONSTANTS:
                array = np.ascontiguousarray(getattr(instr, name), dtype="<i8")
                entry[name] = len(constants)
                spec: dict = {"name": f"{k}.{instr.op}.{name}", "shape": list(array.shape)}
                if self.weight_bits is not None and name in COMMITTABLE.get(instr.op, ()):
                    spec.update(committed=True, bits=self.weight_bits if name == "weight" else BIAS_BITS)
                else:
                    blobs.append(array.tobytes())
                constants.append(spec)
            instructions.append(entry)
        blob = b"".join(blobs)
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "constants_sha256": hashlib.sha256(blob).hexdigest(),
            "constants": constants,
            "tensors": [t.to_json() for t in self.tensors],
            "inputs": [e.to_json() for e in self.inputs],
            "outputs": [e.to_json() for e in self.outputs],
            "instructions": instructions,
        }
        if self.meta is not None:
            doc["meta"] = self.meta
        return dumps(doc), blob


# --- structure ---------------------------------------------------------------

# serde_json's nesting limit: the native reader refuses a document whose
# arrays and objects nest 128 deep.
MAX_JSON_DEPTH = 127


def _strict_object(pairs: list) -> dict:
    doc = {}
    for key, value in pairs:
        if key in doc:
            raise _invalid(f"key {key!r} appears twice in one JSON object")
        doc[key] = value
    return doc


def _strict_float(text: str) -> float:
    value = float(text)
    if isinf(value):
        raise _invalid(f"the number {text[:40]} is out of a double's range")
    return value


def _strict_int(text: str) -> int:
    value = int(text)
    if not -(2**63) <= value < 2**64:  # beyond a 64-bit int serde_json reads a double
        try:
            float(value)
        except OverflowError:
            raise _invalid(f"the number {text[:40]}... is out of a double's range") from None
    return value


def _refuse_constant(name: str):
    raise _invalid(f"{name} is not JSON")


def _check_depth_and_strings(doc) -> None:
    """Nesting within MAX_JSON_DEPTH and no string holding half a UTF-16
    surrogate pair (an escape like \\ud800 alone): the native reader refuses both."""
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _invalid("a string holds an unpaired UTF-16 surrogate escape") from None
        elif isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise _invalid(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            items = list(value.items()) if isinstance(value, dict) else [(None, v) for v in value]
            for key, item in items:
                stack.append((key, depth))  # keys are strings; depth is that of their object
                stack.append((item, depth + 1))


def from_files(data: bytes, blob: bytes, weights: bytes | None = None) -> Program:
    """Parse and validate ``circuit.json`` bytes and ``constants.bin`` bytes
    (see :func:`parse_document` and :func:`from_document`)."""
    return from_document(parse_document(data), blob, weights)


def parse_document(data: bytes | str):
    """The parsed JSON of ``circuit.json`` bytes, not yet checked as a program.

    The JSON is read as strictly as the native reader (serde_json) reads it,
    so that both accept the same files: UTF-8 without a byte-order mark, no
    duplicate keys, no NaN or Infinity, no number beyond a double's range, no
    unpaired surrogate escape, at most MAX_JSON_DEPTH levels of nesting."""
    try:
        text = data if isinstance(data, str) else bytes(data).decode("utf-8")
        if text.startswith("\ufeff"):
            raise ValueError("starts with a UTF-8 byte-order mark")
        doc = json.loads(text, object_pairs_hook=_strict_object, parse_float=_strict_float,
                         parse_int=_strict_int, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"invalid program: not JSON ({exc})") from exc
    except RecursionError:
        raise _invalid(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    _check_depth_and_strings(doc)
    return doc


def commits_weights(doc) -> bool:
    """Whether a parsed circuit.json lists committed constants (its weights
    then come from weights.bin); False for anything that is not a program."""
    entries = doc.get("constants") if isinstance(doc, dict) else None
    return isinstance(entries, list) and any(isinstance(e, dict) and e.get("committed") is True for e in entries)


def from_document(doc, blob: bytes | int, weights: bytes | None = None, with_values: bool = True) -> Program:
    """The program of a parsed circuit.json. Committed constants take their
    values from ``weights`` (weights.bin) when given, else zeros (enough for
    everything but evaluating the model).

    ``with_values=False`` reads the program's layout only, for a caller that hands
    the files to the native side, which checks them itself (their SHA-256
    against constants_sha256, the values' bounds): every structural check
    and the files' lengths are checked here, but the bytes are neither hashed
    nor read, and every constant is a read-only array of zeros of its shape
    that takes no memory. Such a program is not for evaluating; ``blob`` may
    then be constants.bin's length instead of its bytes."""
    from zkml.ops import KINDS

    if not isinstance(doc, dict):
        raise _invalid("not a JSON object")
    if doc.get("format") != FORMAT:
        raise _invalid(f"'format' must be {FORMAT!r}, got {doc.get('format')!r}")
    if doc.get("version") != VERSION or not _is_int(doc.get("version")):
        raise _invalid(f"unsupported version {doc.get('version')!r} "
                       f"(this zkml reads {VERSION}; recompile the model)")
    extra = set(doc) - TOP_LEVEL_KEYS
    if extra:
        raise _invalid(f"unknown keys {sorted(extra)} (extra data belongs under 'meta')")
    missing = (TOP_LEVEL_KEYS - {"meta"}) - set(doc)
    if missing:
        raise _invalid(f"missing keys {sorted(missing)}")
    if not isinstance(doc["name"], str):
        raise _invalid("'name' must be a string")
    constants, weight_bits = _read_constants(doc, blob, weights, with_values)

    tensors_doc = doc["tensors"]
    if not isinstance(tensors_doc, list) or not tensors_doc:
        raise _invalid("'tensors' must be a non-empty list")
    tensors = []
    total = 0
    for index, tensor in enumerate(tensors_doc):
        _check_tensor(index, tensor)
        total += prod(tensor["shape"])
        if total > MAX_TOTAL_ELEMENTS:
            raise _invalid(f"the tensors hold more than {MAX_TOTAL_ELEMENTS} elements in all")
        tensors.append(Tensor(tensor["name"], tuple(tensor["shape"]), tensor["scale"],
                              tensor["bits"]))
    inputs = _check_io(doc, "inputs", len(tensors))
    outputs = _check_io(doc, "outputs", len(tensors))

    instructions_doc = doc["instructions"]
    if not isinstance(instructions_doc, list):
        raise _invalid("'instructions' must be a list")
    instructions = []
    for k, entry in enumerate(instructions_doc):
        # isinstance first: a list or object as 'op' is unhashable (TypeError in `in`).
        if not isinstance(entry, dict) or not isinstance(entry.get("op"), str) \
                or entry["op"] not in KINDS:
            raise _invalid(f"instruction {k}: 'op' must be one of {sorted(KINDS)}")
        kind = KINDS[entry["op"]]
        where = f"instruction {k} ({entry['op']})"
        expected = {"op", "inputs", "output", *kind.SCALARS, *kind.CONSTANTS}
        if set(entry) != expected:
            raise _invalid(f"{where}: keys must be {sorted(expected)}, got {sorted(entry)}")
        ins = entry["inputs"]
        if not isinstance(ins, list) or not ins or not all(_is_int(i) for i in ins):
            raise _invalid(f"{where}: 'inputs' must be a non-empty list of tensor indices")
        if not _is_int(entry["output"]):
            raise _invalid(f"{where}: 'output' must be a tensor index")
        values = {"inputs": tuple(ins), "output": entry["output"]}
        for name in kind.SCALARS:
            if not _is_int(entry[name]):
                raise _invalid(f"{where}: '{name}' must be an int")
            values[name] = entry[name]
        for name in kind.CONSTANTS:
            c = entry[name]
            if not _is_int(c) or not 0 <= c < len(constants):
                raise _invalid(f"{where}: '{name}' must be a constant index < {len(constants)}")
            values[name] = constants[c]
        instructions.append(kind.Instruction(**values))
    program = Program(doc["name"], tuple(tensors), tuple(inputs), tuple(outputs),
                      tuple(instructions), doc.get("meta"), weight_bits)
    if weight_bits is not None:
        wanted = [(name, bits) for name, _, bits in program.committed_constants()]
        committed = [(e["name"], e.get("bits")) for e in doc["constants"] if e.get("committed")]
        if wanted != committed:
            raise _invalid("committed constants must be exactly every linear and affine weight and bias, the "
                           f"weights of one width and the biases {BIAS_BITS}-bit")
    validate(program)
    return program


def _read_constants(doc: dict, blob: bytes | int, weights: bytes | None,
                    values: bool = True) -> tuple[list[np.ndarray], int | None]:
    """The constants' arrays, and the width of committed weights (None if none are committed)."""
    entries = doc["constants"]
    if not isinstance(entries, list):
        raise _invalid("'constants' must be a list")
    shapes, committed = [], []
    total = 0
    for index, entry in enumerate(entries):
        keys = set(entry) if isinstance(entry, dict) else set()
        if (not isinstance(entry, dict) or keys not in ({"name", "shape"}, {"name", "shape", "committed", "bits"})
                or not isinstance(entry["name"], str) or not isinstance(entry["shape"], list)
                or not entry["shape"]
                or not all(_is_int(d) and d > 0 for d in entry["shape"])
                or ("committed" in keys and (entry["committed"] is not True or not _is_int(entry["bits"])
                                             or not 2 <= entry["bits"] <= 64))):
            raise _invalid(f"constant {index} must be {{name: str, shape: non-empty list of "
                           f"positive ints[, committed: true, bits: 2..64]}}, got {entry!r}"[:300])
        size = prod(entry["shape"])
        total += size
        if total > MAX_CONSTANT_ELEMENTS:
            raise _invalid(f"the constants hold more than {MAX_CONSTANT_ELEMENTS} elements")
        shapes.append(tuple(entry["shape"]))
        committed.append(entry.get("bits") if "committed" in keys else None)
    if isinstance(blob, int) and values:
        raise TypeError("a program with its values needs constants.bin's bytes, not its length")
    digest = doc["constants_sha256"]
    if not isinstance(digest, str) or (values and not isinstance(blob, int)
                                       and hashlib.sha256(blob).hexdigest() != digest):
        raise _invalid("constants.bin does not match the circuit (its SHA-256 differs from "
                       "constants_sha256)")
    fixed = sum(prod(s) for s, c in zip(shapes, committed) if c is None)
    size = blob if isinstance(blob, int) else len(blob)
    if size != 8 * fixed:
        raise _invalid(f"constants.bin holds {size} bytes; the constants need {8 * fixed}")
    held = total - fixed
    if weights is not None and len(weights) != 8 * held:
        raise _invalid(f"weights.bin holds {len(weights)} bytes; the committed constants need {8 * held}")
    weight_bits = next((b for e, b in zip(entries, committed) if b is not None and e["name"].endswith(".weight")),
                       None)
    if weight_bits is None and any(b is not None for b in committed):
        raise _invalid("committed constants without a committed weight")
    if not values:
        zero = np.zeros((), dtype=np.int64)
        return [np.broadcast_to(zero, shape) for shape in shapes], weight_bits
    # Views of the files' bytes, not copies (astype copies only on a big-endian
    # machine): a loaded build holds its constants once. The arrays are
    # read-only, and the bytes immutable (a caller's bytearray is copied once).
    flat = np.frombuffer(_immutable(blob), dtype="<i8").astype(np.int64, copy=False)
    wflat = (np.frombuffer(_immutable(weights), dtype="<i8").astype(np.int64, copy=False) if weights is not None
             else np.zeros(held, dtype=np.int64))
    result, at, wat = [], 0, 0
    for shape, bits in zip(shapes, committed):
        size = prod(shape)
        if bits is None:
            array = flat[at: at + size].reshape(shape)
            at += size
        else:
            array = wflat[wat: wat + size].reshape(shape)
            wat += size
            half = 1 << (bits - 1)
            if array.size and (int(array.min()) < -half or int(array.max()) >= half):
                raise _invalid(f"weights.bin: a committed value is outside its {bits}-bit range")
        array.flags.writeable = False
        result.append(array)
    return result, weight_bits


def _immutable(data) -> bytes:
    return data if isinstance(data, bytes) else bytes(data)


def validate(program: Program) -> None:
    """Check a typed program against docs/program.md; raise :class:`ModelError` if not."""
    from zkml.ops import KINDS

    tensors = program.tensors
    if not tensors:
        raise _invalid("'tensors' must be a non-empty list")
    total = 0
    for index, tensor in enumerate(tensors):
        _check_tensor(index, tensor.to_json())
        total += tensor.size
    if total > MAX_TOTAL_ELEMENTS:
        raise _invalid(f"the tensors hold more than {MAX_TOTAL_ELEMENTS} elements in all")
    if not program.inputs or not program.outputs:
        raise _invalid("a program needs at least one input and one output")
    for e in program.inputs + program.outputs:
        if e.visibility not in VISIBILITIES:
            raise _invalid(f"'{e.name}': visibility must be one of {', '.join(VISIBILITIES)}, got {e.visibility!r}")
    written = set()
    for e in program.inputs:
        if not 0 <= e.tensor < len(tensors):
            raise _invalid(f"input '{e.name}' refers to tensor {e.tensor}")
        if e.tensor in written:
            raise _invalid("two model inputs share a tensor")
        written.add(e.tensor)
    for k, instr in enumerate(program.instructions):
        where = f"instruction {k} ({instr.op})"
        for i in list(instr.inputs) + [instr.output]:
            if not _is_int(i) or not 0 <= i < len(tensors):
                raise _invalid(f"{where}: tensor index {i!r} is not below {len(tensors)}")
        for i in instr.inputs:
            if i not in written:
                raise _invalid(f"{where} reads tensor {i} ('{tensors[i].name}') before it is "
                               "written")
        if instr.output in written:
            raise _invalid(f"{where} writes tensor {instr.output} ('{tensors[instr.output].name}'),"
                           " which is a model input or already written")
        KINDS[instr.op].validate(instr, program, where)
        written.add(instr.output)
    for e in program.outputs:
        if not 0 <= e.tensor < len(tensors) or e.tensor not in written:
            raise _invalid(f"output '{e.name}' (tensor {e.tensor}) is never written")
    for index in range(len(tensors)):
        if index not in written:
            raise _invalid(f"tensor {index} ('{tensors[index].name}') is neither a model input "
                           "nor written by an instruction")


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


def _check_io(program: dict, key: str, n_tensors: int) -> list[Io]:
    entries = program.get(key)
    if not isinstance(entries, list) or not entries:
        raise _invalid(f"'{key}' must be a non-empty list")
    result = []
    for entry in entries:
        if (not isinstance(entry, dict) or not {"name", "tensor"} <= set(entry) <= {"name", "tensor", "visibility"}
                or not isinstance(entry["name"], str) or not _is_int(entry["tensor"])
                or not 0 <= entry["tensor"] < n_tensors
                or not isinstance(entry.get("visibility", "public"), str)
                or entry.get("visibility", "public") not in VISIBILITIES):
            raise _invalid(f"'{key}' entry {entry!r} must be "
                           f"{{name: str, tensor: index < {n_tensors}, optional visibility: one of "
                           f"{', '.join(VISIBILITIES)}}}"[:400])
        result.append(Io(entry["name"], entry["tensor"], entry.get("visibility", "public")))
    return result


def accumulator_bound(weight: np.ndarray, bias: np.ndarray, bits_in) -> int:
    """``max_n sum_k |w[n,k]| * 2^(bits_in-1) + |b[n]|``, exact as a Python int.
    ``bits_in`` is an int, or an array of the input bits per column of ``weight``.

    Integer weights whose sums fit in int64 (every quantized program's) are
    summed in blocks of rows: time and memory O(block), not copies of the
    whole weight (a 4096 × 4096 layer is validated in milliseconds)."""
    weight = np.asarray(weight)
    bias = np.asarray(bias)
    bits = np.asarray(bits_in)
    fast = _exact_int64_bound(weight, bias, bits)
    if fast is not None:
        return fast
    half = np.ldexp(1.0, bits - 1)
    estimate = float((np.abs(weight.astype(np.float64)) * half).sum(axis=1).max(initial=0)
                     + np.abs(bias.astype(np.float64)).max(initial=0))
    if estimate < 2.0**60 and np.max(bits_in) <= 60:  # int64 cannot overflow: exact
        halves = np.left_shift(np.int64(1), np.asarray(bits_in, dtype=np.int64) - 1)
        rows = (np.abs(weight) * halves).sum(axis=1) + np.abs(bias)
        return int(rows.max(initial=0))
    halves = np.vectorize(lambda b: 1 << (int(b) - 1), otypes=[object])(
        np.broadcast_to(np.asarray(bits_in), weight.shape))
    rows = (np.abs(weight.astype(object)) * halves).sum(axis=1) + np.abs(bias.astype(object))
    return int(max(rows, default=0))


_BOUND_BLOCK = 1 << 20  # elements of `weight` summed at a time


def _exact_int64_bound(weight: np.ndarray, bias: np.ndarray, bits: np.ndarray) -> int | None:
    """:func:`accumulator_bound` of a 2-D integer weight, a 1-D integer bias
    and integer bits (one, or one per column) when every partial sum provably
    fits in int64; None otherwise (the general path decides)."""
    if (weight.ndim != 2 or bias.ndim != 1 or weight.dtype.kind not in "iu" or bias.dtype.kind not in "iu"
            or bits.dtype.kind not in "iu" or bits.ndim > 1 or bits.shape not in ((), (weight.shape[1],))):
        return None
    n, k = weight.shape
    if weight.size == 0 or bias.shape != (n,):
        return None
    lowest, highest = int(bits.min()), int(bits.max())
    if lowest < 1 or highest > 62:
        return None
    w_max = max(-int(weight.min()), int(weight.max()))
    b_max = max(-int(bias.min()), int(bias.max()))
    if w_max * k * (1 << (highest - 1)) + b_max >= 2**62:
        return None
    if w_max == 0:  # e.g. a program's layout (from_document(with_values=False))
        return b_max
    uniform = bits.ndim == 0 or lowest == highest
    halves = None if uniform else np.left_shift(np.int64(1), bits.astype(np.int64) - 1)
    rows = np.empty(n, dtype=np.int64)
    step = max(1, _BOUND_BLOCK // max(k, 1))
    for r in range(0, n, step):
        block = np.abs(weight[r: r + step].astype(np.int64, copy=False))
        rows[r: r + step] = block.sum(axis=1) if halves is None else block @ halves
    if uniform:
        rows <<= lowest - 1
    rows += np.abs(bias.astype(np.int64, copy=False))
    return int(rows.max(initial=0))


# --- bytes -------------------------------------------------------------------

def dumps(doc: dict) -> bytes:
    """Canonical JSON bytes (what ``circuit.json`` holds)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")


def circuit_hash(data: bytes) -> str:
    """SHA-256 (hex) of the canonical program bytes: the circuit's identity
    (it covers constants.bin through ``constants_sha256``)."""
    return hashlib.sha256(data).hexdigest()


# --- numbers -----------------------------------------------------------------

def tensor_range(tensor: Tensor) -> tuple[int, int]:
    """The inclusive integer range of a tensor: ``[-2^(b-1), 2^(b-1) - 1]``."""
    return tensor.range


def _shaped(array: np.ndarray, shape: tuple[int, ...], what: str, allow_batch: bool) -> np.ndarray:
    if array.shape == shape:
        return array
    if allow_batch and array.ndim == len(shape) + 1 and array.shape[1:] == shape:
        return array
    if array.size == prod(shape):
        return array.reshape(shape)
    raise InputShapeError(f"{what}: expected shape {list(shape)} ({prod(shape)} values), "
                          f"got shape {list(array.shape)}")


def quantize_inputs(program: Program, floats: list) -> list[np.ndarray]:
    """Model inputs (floats) → int64 arrays: ``q = floor(x * 2^f + 1/2)``.

    Each array has its tensor's shape, the same number of elements, or one
    leading axis of samples. A non-finite value or a ``q`` outside the tensor's
    range is a :class:`QuantizationError` (never a clamp).
    """
    specs = program.inputs
    if len(floats) != len(specs):
        raise InputShapeError(f"the model takes {len(specs)} input(s), got {len(floats)}")
    result = []
    for spec, value in zip(specs, floats):
        tensor = program.tensors[spec.tensor]
        what = f"input '{spec.name}'"
        array = np.asarray(value, dtype=np.float64)
        array = _shaped(array, tensor.shape, what, allow_batch=True)
        bad = ~np.isfinite(array)
        if bad.any():
            at = tuple(int(i) for i in np.argwhere(bad)[0])
            raise QuantizationError(f"{what} has a non-finite value {float(array[at])} at index "
                                    f"{list(at)}")
        scaled = np.floor(np.ldexp(array, tensor.scale) + 0.5)
        lo, hi = tensor.range
        outside = (scaled < lo) | (scaled >= 2.0 ** (tensor.bits - 1))
        if outside.any():
            worst = np.unravel_index(np.argmax(np.where(outside, np.abs(array), -1.0)), array.shape)
            step = 2.0 ** -tensor.scale
            raise QuantizationError(
                f"{what} value {float(array[worst]):g} at index {[int(i) for i in worst]} is out of "
                f"range: with scale 2^{-tensor.scale} and {tensor.bits} bits the representable "
                f"range is [{float(lo * step):g}, {float(hi * step):g}]; recompile with a calibration "
                f"sample that covers this value (or more --bits)")
        result.append(scaled.astype(np.int64))
    return result


def dequantize(program: Program, tensor_index: int, ints) -> np.ndarray:
    """Integers of tensor ``tensor_index`` → the reals they stand for (``q * 2^-f``)."""
    scale = program.tensors[tensor_index].scale
    return np.ldexp(np.asarray(ints).astype(np.float64), -scale)


# --- public signals ----------------------------------------------------------
#
# Inputs then outputs, in program order: a public tensor's values packed into
# ceil(size / floor(252 / bits)) signals, a hashed tensor's commitment in one
# signal, nothing for a private tensor.

def _entries(program: Program) -> list[tuple[str, Io, Tensor]]:
    named = [("input", e) for e in program.inputs] + [("output", e) for e in program.outputs]
    return [(f"{kind} '{e.name}'", e, program.tensors[e.tensor]) for kind, e in named]


def _per_element(tensor: Tensor) -> int:
    return PACK_BITS // tensor.bits


def signal_count(entry: Io, tensor: Tensor) -> int:
    """Public signals one model input or output takes."""
    if entry.visibility == "public":
        return ceil(tensor.size / _per_element(tensor))
    return 1 if entry.visibility == "hashed" else 0


def public_count(program: Program) -> int:
    """How many public signals the circuit has: :func:`pack_public`'s, plus
    the weights commitment (the last) when the weights are committed."""
    return sum(signal_count(e, t) for _, e, t in _entries(program)) + (program.weight_bits is not None)


def hashed(program: Program) -> list[Io]:
    """The hashed inputs then outputs: the order their salts come in."""
    return [e for _, e, _ in _entries(program) if e.visibility == "hashed"]


def pack_public(program: Program, inputs_int: list, outputs_int: list,
                salts: list[int] | None = None) -> list[int]:
    """Pack quantized inputs then outputs into field elements (docs/program.md);
    a hashed tensor becomes its commitment under the next of ``salts`` (one per
    hashed tensor, in :func:`hashed` order), a private one nothing."""
    from zkml.poseidon import commitment

    entries = _entries(program)
    values = list(inputs_int) + list(outputs_int)
    if len(inputs_int) != len(program.inputs) or len(outputs_int) != len(program.outputs):
        raise InputShapeError(f"expected {len(program.inputs)} input and "
                              f"{len(program.outputs)} output tensors, got "
                              f"{len(inputs_int)} and {len(outputs_int)}")
    salts = list(salts or [])
    if len(salts) != len(hashed(program)):
        raise InputShapeError(f"the circuit commits to {len(hashed(program))} hashed tensor(s) and needs a "
                              f"salt for each, got {len(salts)}")
    packed: list[int] = []
    for (what, entry, tensor), value in zip(entries, values):
        if entry.visibility == "private":
            continue
        array = np.asarray(value)
        if array.dtype.kind not in "iuO":
            raise QuantizationError(f"{what}: expected integers, got {array.dtype}")
        array = _shaped(array, tensor.shape, what, allow_batch=False).reshape(-1)
        lo, hi = tensor.range
        outside = (array < lo) | (array > hi)
        if outside.any():
            at = int(np.argmax(outside))
            raise QuantizationError(f"{what} value {array[at]} at flat index {at} is outside "
                                    f"[{lo}, {hi}] ({tensor.bits} bits)")
        if entry.visibility == "hashed":
            packed.append(commitment(array.astype(np.int64), tensor.bits, salts.pop(0)))
        else:
            packed.extend(_pack(array.astype(np.int64), tensor.bits))
    return packed


_PACK_BLOCK = 1 << 12  # field elements packed at a time: memory O(block × 252 × 8 bytes), not O(values × bits × 8)


def _pack(q: np.ndarray, bits: int) -> list[int]:
    k = PACK_BITS // bits
    q = q.reshape(-1)
    n_elements = ceil(q.size / k)
    if n_elements <= _PACK_BLOCK:
        return _pack_block(q, bits, k, n_elements)
    packed: list[int] = []
    for first in range(0, n_elements, _PACK_BLOCK):
        count = min(_PACK_BLOCK, n_elements - first)
        packed.extend(_pack_block(q[first * k: (first + count) * k], bits, k, count))
    return packed


def _pack_block(q: np.ndarray, bits: int, k: int, n_elements: int) -> list[int]:
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


def weights_commitment(program: Program, salt: int) -> int:
    """The public commitment to ``program``'s committed constants under
    ``salt``: each packed at its width, in constant order, the elements
    chained as :func:`zkml.poseidon.commitment` chains them."""
    from zkml.poseidon import commit_elements

    elements: list[int] = []
    for _, values, bits in program.committed_constants():
        elements.extend(_pack(np.asarray(values, dtype=np.int64).reshape(-1), bits))
    return commit_elements(elements, salt)


def unpack_public(program: Program, public: list) -> tuple[list, list]:
    """Public signals → (inputs, outputs), one entry per program input and
    output: a public tensor's quantized values (int64 array of its shape), a
    hashed tensor's commitment (int), None for a private tensor.

    Checks the element count and that every element holds only its packed
    values (no bits above them), so that every list maps to at most one result.
    """
    public = list(public)
    expected = public_count(program)
    if len(public) != expected:
        raise ProofFormatError(f"expected {expected} public signals for this circuit, "
                               f"got {len(public)}")
    arrays: list = []
    cursor = 0
    for what, entry, tensor in _entries(program):
        if entry.visibility != "public":
            if entry.visibility == "hashed":
                value = _field_int(public[cursor], cursor)
                if value >= FIELD_MODULUS:
                    raise ProofFormatError(f"public signal {cursor} ({what}'s commitment) is not below r")
                arrays.append(value)
                cursor += 1
            else:
                arrays.append(None)
            continue
        bits, k, size = tensor.bits, _per_element(tensor), tensor.size
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
        arrays.append(q.reshape(tensor.shape))
    n_inputs = len(program.inputs)
    return arrays[:n_inputs], arrays[n_inputs:]


def unpack_outputs(program: Program, public: list) -> list:
    """The model outputs held in the public signals (as :func:`unpack_public`)."""
    return unpack_public(program, public)[1]
