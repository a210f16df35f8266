"""ONNX model → float :class:`~zkml.frontend.graph.Graph`.

Steps, in order:

1. ``onnx.load``, ``onnx.checker.check_model``, strict shape inference. A file
   that cannot be read is an :class:`InputFileError`; a model that fails the
   checker or shape inference is a :class:`ModelError`; both name the file.
2. Initializers and ``Constant`` nodes are constants. Any node whose inputs are
   all constants is folded with ``onnx.reference`` (numpy), whatever its op.
3. Every other node is lowered through :mod:`zkml.frontend.ops`; an op without
   a lowering for this opset is an :class:`UnsupportedOpError`, never a skip.
4. An ``Add`` of a constant is fused into the linear layer that produces its
   other operand; one that cannot be fused is unsupported.
5. Output tensors take their ONNX names; nodes that no output depends on are
   dropped.

Shapes are static. A symbolic *leading* dimension of a model input (the usual
batch axis) is taken to be 1; any other unknown dimension is an error.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator

from zkml.errors import InputFileError, ModelError, UnsupportedOpError
from zkml.frontend.graph import Graph, Linear, Reshape, Shape
from zkml.frontend.ops import REGISTRY, BiasAdd, op_version

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


def load_model(path) -> Graph:
    """Load, check and lower the ONNX model at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"model file not found: {path}", path)
    if path.stat().st_size == 0:
        raise InputFileError(f"model file is empty: {path}", path)
    try:
        model = onnx.load(str(path))
    except Exception as exc:
        raise InputFileError(f"cannot read ONNX model {path}: {_one_line(exc)}", path) from exc
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise ModelError(f"invalid ONNX model {path}: {_one_line(exc)}") from exc
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as exc:
        raise ModelError(f"shape inference failed on {path}: {_one_line(exc)}") from exc
    return lower_model(model, name=model.graph.name or path.stem)


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
                             "zkml needs static positive shapes (only a symbolic leading "
                             "batch axis is taken as 1)")
    if not dims:
        raise ModelError(f"model input '{value.name}' is a scalar; zkml needs rank >= 1")
    return tuple(dims)


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
        self._index = 0
        self._node: onnx.NodeProto | None = None

    # --- the interface op lowerings use -----------------------------------
    def label(self, node: onnx.NodeProto) -> str:
        return node.name or f"{node.op_type}_{self._index}"

    def fail(self, node: onnx.NodeProto, detail: str):
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
        if resolved not in self.shapes:
            node = self._node
            raise ModelError(f"node '{self.label(node)}' ({node.op_type}) reads '{name}', "
                             "which is neither a model input nor computed before it")
        return resolved

    def shape(self, name: str) -> Shape:
        return self.shapes[self.act(name)]

    def emit(self, node, shape: Shape) -> None:
        if node.output in self.shapes or node.output in self.consts:
            raise ModelError(f"tensor '{node.output}' is written twice")
        self.shapes[node.output] = tuple(int(d) for d in shape)
        self.nodes.append(node)

    def alias(self, name: str, source: str) -> None:
        if self.is_const(source):
            self.consts[name] = self.const(source)
        else:
            self.aliases[name] = self.act(source)

    # --- the pass ------------------------------------------------------------
    def run(self) -> Graph:
        graph = self.model.graph
        for init in graph.initializer:
            self.consts[init.name] = numpy_helper.to_array(init)
        inputs = [v for v in graph.input if v.name not in self.consts]
        for value in inputs:
            self.shapes[value.name] = _input_shape(value)
        for index, node in enumerate(graph.node):
            self._index, self._node = index, node
            self._lower_node(node)
        fused = self._fuse_biases()
        input_names = [v.name for v in inputs]
        nodes, outputs = self._name_outputs(fused, input_names, [v.name for v in graph.output])
        nodes = _prune(nodes, outputs)
        tensors = {n: self.shapes[n] for n in input_names}
        for node in nodes:
            tensors[node.output] = self.shapes[node.output]
        return Graph(self.name, tensors, input_names, outputs, nodes)

    def _lower_node(self, node: onnx.NodeProto) -> None:
        if node.domain not in _DEFAULT_DOMAINS:
            raise UnsupportedOpError(self.label(node), f"{node.domain}.{node.op_type}",
                                     _opset(self.model, node.domain) or 0,
                                     "only the default ONNX domain is supported")
        operands = [name for name in node.input if name]
        if self._foldable(node, operands):
            self._fold(node, operands)
            return
        entry = REGISTRY.get(node.op_type)
        if entry is None:
            self.fail(node, "no lowering for this op")
        version = op_version(node.op_type, self.opset)
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
        try:
            results = ReferenceEvaluator(node, opsets={"": self.opset}).run(None, feeds)
        except Exception as exc:
            raise ModelError(f"node '{self.label(node)}' ({node.op_type}): constant folding "
                             f"failed: {_one_line(exc)}") from exc
        for name, value in zip(node.output, results):
            if name:
                self.set_const(name, value)

    def _fuse_biases(self) -> list:
        """Fold each BiasAdd into the Linear that produces its input."""
        graph_outputs = Counter(self.resolve(v.name) for v in self.model.graph.output)
        uses = Counter(node.input for node in self.nodes) + graph_outputs
        result: list = []
        position: dict[str, int] = {}  # tensor name -> index in result of its producer
        for node in self.nodes:
            if isinstance(node, BiasAdd):
                at = position.get(node.input)
                source = result[at] if at is not None else None
                if not isinstance(source, Linear) or uses[node.input] != 1:
                    raise UnsupportedOpError(
                        node.node_name, "Add", self.opset,
                        "a constant can only be added as the bias of the Gemm/MatMul that "
                        "produces the other operand, with no other use of that product")
                node = Linear(source.input, node.output, source.weight, source.bias + node.bias)
                del position[source.output]
                result[at] = node
                position[node.output] = at
                continue
            position[node.output] = len(result)
            result.append(node)
        return result

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
                copies.append(Reshape(source, out))
                self.shapes[out] = self.shapes[self.resolve(out)]
        renamed = []
        for node in nodes:
            changes = {k: renames[getattr(node, k)] for k in ("input", "output")
                       if getattr(node, k) in renames}
            renamed.append(dataclasses.replace(node, **changes) if changes else node)
        for old, new in renames.items():
            self.shapes[new] = self.shapes[old]
        return renamed + copies, list(onnx_outputs)


def _prune(nodes: list, outputs: list[str]) -> list:
    """Drop nodes that no model output depends on."""
    needed = set(outputs)
    kept = []
    for node in reversed(nodes):
        if node.output in needed:
            kept.append(node)
            needed.add(node.input)
    return kept[::-1]
