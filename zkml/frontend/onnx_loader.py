"""ONNX model → float :class:`~zkml.frontend.graph.Graph`.

Steps, in order:

1. ``onnx.load``, ``onnx.checker.check_model``, strict shape inference. A file
   that cannot be read is an :class:`InputFileError`; a model that fails the
   checker or shape inference is a :class:`ModelError`; both name the file.
2. Initializers and ``Constant`` nodes are constants. Any node whose inputs are
   all constants is folded with ``onnx.reference`` (numpy), whatever its op.
3. Every other node is lowered through the op registry (:mod:`zkml.ops`); an op
   without a lowering for this opset is unsupported, never skipped. Lowering
   goes on past an unsupported node (skipping only what depends on it), and
   every unsupported node is reported at once, in one
   :class:`UnsupportedOpError`.
4. Output tensors take their ONNX names; nodes that no output depends on are
   dropped.
5. An element-wise affine step (a bias ``Add``, a ``BatchNormalization``, a
   ``Mul`` by a constant) is folded into the Gemm/MatMul/Conv that produces
   its input when nothing else reads it (:func:`zkml.ops.fold_affine_chains`).

Shapes are static. A symbolic *leading* dimension of a model input (the usual
batch axis) is taken to be 1; any other unknown dimension is an error.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import NoReturn

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator

from zkml.errors import InputFileError, ModelError, UnsupportedOpError
from zkml.frontend.graph import Graph, Shape
from zkml.ops import ONNX_OPS, fold_affine_chains, op_version
from zkml.ops.shape import GatherNode

_DEFAULT_DOMAINS = ("", "ai.onnx")
_FLOAT_TYPES = {
    onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE,
    onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16,
}
# Folding these would freeze one random draw into the circuit.
_NEVER_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
               "Multinomial", "Bernoulli"}


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_model(source: str | Path | onnx.ModelProto, input_shapes: dict | None = None) -> Graph:
    """Load, check and lower an ONNX model: the file at a path, or an
    in-memory ``onnx.ModelProto`` (left unchanged). ``input_shapes`` pins
    inputs with open dimensions (``{"x": (1, 8, 16)}``)."""
    if isinstance(source, onnx.ModelProto):
        model = onnx.ModelProto()
        model.CopyFrom(source)  # pinning shapes must not edit the caller's model
        where, stem = f"model '{model.graph.name or 'in memory'}'", "model"
    else:
        path = Path(source)
        if not path.is_file():
            raise InputFileError(f"model file not found: {path}", path)
        if path.stat().st_size == 0:
            raise InputFileError(f"model file is empty: {path}", path)
        try:
            model = onnx.load(str(path))
        except Exception as exc:
            raise InputFileError(f"cannot read ONNX model {path}: {_one_line(exc)}", path) from exc
        where, stem = str(path), path.stem
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise ModelError(f"invalid ONNX model {where}: {_one_line(exc)}") from exc
    if input_shapes:
        _pin_input_shapes(model, input_shapes)
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as exc:
        raise ModelError(f"shape inference failed on {where}: {_one_line(exc)}") from exc
    return lower_model(model, name=model.graph.name or stem)


def _pin_input_shapes(model: onnx.ModelProto, shapes: dict) -> None:
    """Write the given static shapes into the model's input declarations."""
    inputs = {v.name: v for v in model.graph.input}
    for name, shape in shapes.items():
        if name not in inputs:
            raise ModelError(f"--input-shape names '{name}', which is not a model input "
                             f"(inputs: {', '.join(inputs)})")
        dims = inputs[name].type.tensor_type.shape.dim
        shape = [int(d) for d in shape]
        if len(dims) and len(dims) != len(shape):
            raise ModelError(f"--input-shape {name}: the model declares rank {len(dims)}, "
                             f"got {len(shape)} dimensions")
        for axis, (dim, want) in enumerate(zip(dims, shape)):
            if dim.HasField("dim_value") and dim.dim_value != want:
                raise ModelError(f"--input-shape {name}: axis {axis} is {dim.dim_value} in the "
                                 f"model, not {want}")
        if any(d <= 0 for d in shape):
            raise ModelError(f"--input-shape {name}: dimensions must be positive, got {shape}")
        tensor = inputs[name].type.tensor_type
        tensor.shape.ClearField("dim")
        for d in shape:
            tensor.shape.dim.add().dim_value = d


def lower_model(model: onnx.ModelProto, name: str | None = None) -> Graph:
    """Lower an in-memory (checked) model."""
    return _Lowering(model, name or model.graph.name or "model").run()


def _opset(model: onnx.ModelProto, domain: str) -> int | None:
    domains = _DEFAULT_DOMAINS if domain in _DEFAULT_DOMAINS else (domain,)
    for entry in model.opset_import:
        if entry.domain in domains:
            return int(entry.version)
    return None


def _input_shape(value: onnx.ValueInfoProto) -> Shape:
    kind = value.type.WhichOneof("value")
    if kind != "tensor_type":
        raise ModelError(f"model input '{value.name}' is a {kind}, not a tensor")
    tensor = value.type.tensor_type
    if tensor.elem_type not in _FLOAT_TYPES:
        type_name = onnx.TensorProto.DataType.Name(tensor.elem_type)
        raise ModelError(f"model input '{value.name}' has element type {type_name}; "
                         "zkml needs floating-point inputs")
    if not tensor.HasField("shape"):
        raise ModelError(f"model input '{value.name}' has no shape; zkml needs static shapes")
    dims = []
    for axis, dim in enumerate(tensor.shape.dim):
        if dim.HasField("dim_value") and dim.dim_value > 0:
            dims.append(int(dim.dim_value))
        elif axis == 0 and not dim.HasField("dim_value"):
            dims.append(1)  # a symbolic batch axis: one sample per proof
        else:
            what = dim.dim_param or (dim.dim_value if dim.HasField("dim_value") else "?")
            raise ModelError(f"model input '{value.name}' has dimension {what!r} at axis {axis}; "
                             "zkml needs static positive shapes (a symbolic leading batch axis "
                             f"is taken as 1): give it with --input-shape {value.name}=d0,d1,...")
    if not dims:
        raise ModelError(f"model input '{value.name}' is a scalar; zkml needs rank >= 1")
    return tuple(dims)


class _Derived(Exception):
    """A node reads the output of a node that could not be lowered."""


class _Lowering:
    """State of one lowering pass; the ``ctx`` that op lowerings receive."""

    def __init__(self, model: onnx.ModelProto, name: str):
        self.model = model
        self.name = name
        opset = _opset(model, "")
        if opset is None:
            raise ModelError("the model imports no default-domain (ai.onnx) opset")
        self.opset = opset
        self.consts: dict[str, np.ndarray] = {}
        self.shapes: dict[str, Shape] = {}
        self.aliases: dict[str, str] = {}
        self.nodes: list = []
        self.unsupported: list[UnsupportedOpError] = []
        self.unusable: dict[str, tuple[str, str, str] | None] = {}
        self.known: dict[str, tuple[float, float]] = {}
        self.integers: set[str] = set()
        self.taken: set[str] = set()
        self._index = 0
        self._node: onnx.NodeProto | None = None

    # --- the interface op lowerings use -----------------------------------
    def label(self, node: onnx.NodeProto) -> str:
        return node.name or f"{node.op_type}_{self._index}"

    def fail(self, node: onnx.NodeProto, detail: str) -> NoReturn:
        raise UnsupportedOpError(self.label(node), node.op_type, self.opset, detail)

    def resolve(self, name: str) -> str:
        while name in self.aliases:
            name = self.aliases[name]
        return name

    def is_const(self, name: str) -> bool:
        return self.resolve(name) in self.consts

    def const(self, name: str) -> np.ndarray:
        return self.consts[self.resolve(name)]

    def set_const(self, name: str, value: np.ndarray) -> None:
        self.consts[name] = np.asarray(value)

    def act(self, name: str) -> str:
        resolved = self.resolve(name)
        if resolved in self.unusable:
            raise _Derived(resolved)
        if resolved not in self.shapes:
            node = self._node
            assert node is not None  # names are read while a node is lowered
            raise ModelError(f"node '{self.label(node)}' ({node.op_type}) reads '{name}', "
                             "which is neither a model input nor computed before it")
        return resolved

    def shape(self, name: str) -> Shape:
        return self.shapes[self.act(name)]

    def emit(self, node, shape: Shape, known: tuple[float, float] | None = None) -> None:
        """Add a float node. ``known``: bounds its values always satisfy (a
        mathematical fact of the op, such as ``|x| ≥ 0`` or a softmax sum
        ``≥ 1``), which interval analysis cannot see through the
        decomposition; the value intervals are intersected with them."""
        if node.output in self.shapes or node.output in self.consts:
            raise ModelError(f"tensor '{node.output}' is written twice")
        if known is not None:
            self.known[node.output] = (float(known[0]), float(known[1]))
        self.shapes[node.output] = tuple(int(d) for d in shape)
        self.taken.add(node.output)
        self.nodes.append(node)

    def alias(self, name: str, source: str) -> None:
        if self.is_const(source):
            self.consts[name] = self.const(source)
        else:
            self.aliases[name] = self.act(source)

    def fresh(self, base: str) -> str:
        """A tensor name of our own, unused by the model."""
        name, k = base, 0
        while name in self.taken or name in self.shapes or name in self.consts:
            k += 1
            name = f"{base}.{k}"
        self.taken.add(name)
        return name

    def reshape(self, source: str, out: str, shape: Shape) -> None:
        from zkml.ops.shape import emit_gather

        emit_gather(self, [source], np.arange(int(np.prod(shape))), out, shape)

    def mark_integer(self, name: str) -> None:
        """``name`` holds integers (an ArgMax index, a class label)."""
        self.integers.add(name)

    def is_integer(self, name: str) -> bool:
        return self.resolve(name) in self.integers

    def version(self, node: onnx.NodeProto) -> int:
        """The version of ``node``'s op in effect at the model's opset."""
        return op_version(node.op_type, self.opset) or 0

    def mark_unusable(self, name: str, node: onnx.NodeProto, reason: str) -> None:
        """An output a lowering cannot produce; reading it is unsupported."""
        self.unusable[name] = (self.label(node), node.op_type, reason)

    # --- the pass ------------------------------------------------------------
    def run(self) -> Graph:
        graph = self.model.graph
        for init in graph.initializer:
            self.consts[init.name] = numpy_helper.to_array(init)
        self.taken = {v.name for v in graph.input} | {v.name for v in graph.output}
        for node in graph.node:
            self.taken.update(x for x in node.output if x)
        inputs = [v for v in graph.input if v.name not in self.consts]
        for value in inputs:
            self.shapes[value.name] = _input_shape(value)
        for index, node in enumerate(graph.node):
            self._index, self._node = index, node
            try:
                self._lower_node(node)
            except UnsupportedOpError as exc:
                self.unsupported.append(exc)
                self._poison(node)
            except _Derived as exc:
                cause = self.unusable.get(str(exc))
                if cause is not None:  # an output the producer could not make
                    label, op_type, reason = cause
                    self.unsupported.append(UnsupportedOpError(
                        self.label(node), node.op_type, self.opset,
                        f"it reads '{exc}', {reason} (from node '{label}', {op_type})"))
                self._poison(node)
        output_names = [v.name for v in graph.output]
        if self.unsupported:
            raise UnsupportedOpError.many(self.unsupported)
        for out in output_names:
            if self.resolve(out) in self.unusable:
                raise ModelError(f"model output '{out}' cannot be computed")
        input_names = [v.name for v in inputs]
        nodes, outputs = self._name_outputs(self.nodes, input_names, output_names)
        nodes = _prune(nodes, outputs)
        nodes = fold_affine_chains(nodes, set(outputs), self.known)
        tensors = {n: self.shapes[n] for n in input_names}
        for node in nodes:
            tensors[node.output] = self.shapes[node.output]
        known = {name: self.known[name] for name in tensors if name in self.known}
        return Graph(self.name, tensors, input_names, outputs, nodes, known)

    def _poison(self, node: onnx.NodeProto) -> None:
        for out in node.output:
            if out:
                self.unusable.setdefault(out, None)

    def _lower_node(self, node: onnx.NodeProto) -> None:
        operands = [name for name in node.input if name]
        if self._foldable(node, operands):
            self._fold(node, operands)
            return
        for name in operands:  # a node downstream of an unsupported one is not reported
            if not self.is_const(name):
                self.act(name)
        domain = "" if node.domain in _DEFAULT_DOMAINS else node.domain
        entry = ONNX_OPS.get((domain, node.op_type))
        if entry is None and domain:
            raise UnsupportedOpError(self.label(node), f"{node.domain}.{node.op_type}",
                                     _opset(self.model, node.domain) or 0,
                                     "no lowering for this op of a non-default domain")
        if entry is None:
            self.fail(node, "no lowering for this op")
        opset = self.opset if not domain else (_opset(self.model, domain) or 1)
        version = op_version(node.op_type, opset, domain)
        if version is None or not entry.first_version <= version <= entry.last_version:
            self.fail(node, f"version {version} of {node.op_type} is in effect; zkml lowers "
                            f"versions {entry.first_version}..{entry.last_version}")
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        entry.lower(self, node, attrs)

    def _foldable(self, node: onnx.NodeProto, operands: list[str]) -> bool:
        if node.op_type in _NEVER_FOLD:
            return False
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
               for a in node.attribute):
            return False  # control flow: a body may read activations from outer scope
        if not operands:
            return node.op_type == "Constant"
        return all(self.is_const(name) for name in operands)

    def _fold(self, node: onnx.NodeProto, operands: list[str]) -> None:
        feeds = {name: self.const(name) for name in operands}
        opsets = {"": self.opset}
        if node.domain not in _DEFAULT_DOMAINS:
            opsets[node.domain] = _opset(self.model, node.domain) or 1
        try:
            results = ReferenceEvaluator(node, opsets=opsets).run(None, feeds)
        except Exception as exc:
            raise ModelError(f"node '{self.label(node)}' ({node.op_type}): constant folding "
                             f"failed: {_one_line(exc)}") from exc
        for name, value in zip(node.output, results):
            if name:
                self.set_const(name, value)

    def _name_outputs(self, nodes: list, inputs: list[str], onnx_outputs: list[str]):
        """Give each output tensor its ONNX output name (a copy where one tensor
        is a model input or serves two outputs)."""
        produced = {node.output for node in nodes}
        renames: dict[str, str] = {}
        copies: list = []
        for out in onnx_outputs:
            source = self.resolve(out)
            if source in self.consts:
                raise ModelError(f"model output '{out}' is a constant; it does not depend on "
                                 "any input, so there is nothing to prove")
            if source == out:
                continue
            if source in produced and source not in renames and source not in onnx_outputs:
                renames[source] = out
            else:
                source = renames.get(source, source)
                size = int(np.prod(self.shapes[self.resolve(out)]))
                copies.append(GatherNode((source,), out, np.arange(size, dtype=np.int64)))
                self.shapes[out] = self.shapes[self.resolve(out)]
        renamed = []
        for node in nodes:
            changes: dict[str, object] = {}
            if any(x in renames for x in node.inputs):
                changes["inputs"] = tuple(renames.get(x, x) for x in node.inputs)
            if node.output in renames:
                changes["output"] = renames[node.output]
            renamed.append(dataclasses.replace(node, **changes) if changes else node)
        for old, new in renames.items():
            self.shapes[new] = self.shapes[old]
            if old in self.known:
                self.known[new] = self.known[old]
        return renamed + copies, list(onnx_outputs)


def _prune(nodes: list, outputs: list[str]) -> list:
    """Drop nodes that no model output depends on."""
    needed = set(outputs)
    kept = []
    for node in reversed(nodes):
        if node.output in needed:
            kept.append(node)
            needed.update(node.inputs)
    return kept[::-1]
