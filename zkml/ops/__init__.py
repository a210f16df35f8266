"""The op layer: one module per op family, each holding its ONNX lowerings and
the instruction kinds they emit (float semantics, quantization, bounds,
validation and the integer reference), see :mod:`zkml.ops.base`.

=================  ==========================================================
module             ONNX ops (instruction kinds)
=================  ==========================================================
``linear``         Gemm, MatMul (``linear``; ``affine`` for constant × activation)
``affine``         Add, Sub, Mul, Div, Neg, Sum, Mean (``affine``)
``conv``           Conv, ConvTranspose (``affine``)
``pool``           MaxPool, GlobalMaxPool, Max (``max``); AveragePool,
                   GlobalAveragePool (``affine``)
``reduce``         ReduceSum, ReduceMean (``affine``), ReduceMax (``max``)
``norm``           BatchNormalization (``affine``, folded where possible)
``products``       MatMul and Mul of two activations, Pow 2 (``bilinear``)
``compare``        ArgMax (``argmax``); ai.onnx.ml ArrayFeatureExtractor (a lookup)
``functions``      Sigmoid, Tanh, Exp, Log, Erf, Gelu, Softplus, Elu, Selu, Celu,
                   HardSwish, Mish, Softsign, Sqrt, Reciprocal, Sin, Cos, Pow
                   (``function``); Softmax, LogSoftmax, LayerNormalization
``activation``     Relu (``relu``); LeakyRelu, PRelu, Abs, Clip, HardSigmoid
``shape``          Reshape, Flatten, Transpose, Concat, Split, Slice, Gather,
                   Squeeze, Unsqueeze, Pad, Expand, Tile, … (``gather``);
                   Identity, Dropout, Cast (removed); Shape, Size (constants)
=================  ==========================================================

Constants (initializers, ``Constant`` nodes and everything computed from them
alone: Shape → Gather → Concat chains, ConstantOfShape, Range, …) are folded by
the loader before any lowering runs.
"""

from __future__ import annotations

import numpy as np

from zkml.ops import (  # noqa: F401
    activation,
    affine,
    compare,
    conv,
    functions,
    linear,
    norm,
    pool,
    products,
    reduce,
    shape,
)
from zkml.ops.base import KINDS, ONNX_OPS, OpLowering

_NODE_KIND = {k.Node: k for k in KINDS.values()}


def kind_of(node):
    """The :class:`~zkml.ops.base.Kind` of a float-graph node."""
    try:
        return _NODE_KIND[type(node)]
    except KeyError:
        raise TypeError(f"no instruction kind for {type(node).__name__}") from None


def op_version(op_type: str, opset: int, domain: str = "") -> int | None:
    """The ``since_version`` of ``op_type`` in effect at ``opset``, or None."""
    import onnx  # here, not at import: loading a build needs no ONNX

    try:
        return onnx.defs.get_schema(op_type, opset, domain).since_version
    except Exception:  # onnx raises SchemaError; no such op at this opset
        return None


def supported_ops() -> list[OpLowering]:
    return sorted(ONNX_OPS.values(), key=lambda e: (e.domain, e.op_type))


# --- graph pass: fold an element-wise affine into the layer before it --------------


def fold_affine_chains(nodes: list, keep: set[str], known: dict | None = None) -> list:
    """Fold each element-wise ``affine`` (one term per output, reading the
    same position of a single input: a bias, a batch norm, a scale) into the
    ``linear``/``affine`` that produces its input, when nothing else reads
    that input (``keep``: names that must survive, the model outputs). The
    composition of two affine maps is affine and exact in float, so this only
    saves a rescale (and its rounding). A known range of the folded-away
    tensor (``known``, see :class:`~zkml.frontend.graph.Graph`) is mapped
    through the element-wise step onto the result."""
    uses: dict[str, int] = {}
    for node in nodes:
        for x in node.inputs:
            uses[x] = uses.get(x, 0) + 1
    producer = {node.output: i for i, node in enumerate(nodes)}
    result = list(nodes)
    for i, node in enumerate(result):
        if not isinstance(node, affine.AffineNode) or len(node.inputs) != 1:
            continue
        source = node.inputs[0]
        j = producer.get(source)
        if j is None or uses.get(source) != 1 or source in keep:
            continue
        first = result[j]
        if node.index.shape[1] != 1 or not np.array_equal(node.index[:, 0],
                                                          np.arange(node.index.shape[0])):
            continue
        scale = node.weight[node.row, 0]
        offset = node.bias
        folded = _compose(first, scale, offset, node.output)
        if folded is None:
            continue
        result[j] = None
        result[i] = folded
        producer[node.output] = i
        if known is not None and source in known:
            lo, hi = known.pop(source)
            with np.errstate(invalid="ignore"):
                ends = np.stack([scale * lo + offset, scale * hi + offset])
            ends = np.where(np.isnan(ends), -np.inf, ends)  # 0 * inf: no information
            low, high = float(ends.min()), float(np.nan_to_num(ends, nan=np.inf).max())
            if np.any(np.isnan(np.stack([scale * lo + offset, scale * hi + offset]))):
                low, high = -np.inf, np.inf
            old = known.get(node.output, (-np.inf, np.inf))
            known[node.output] = (max(low, old[0]), min(high, old[1]))
    return [n for n in result if n is not None]


def _compose(first, scale: np.ndarray, offset: np.ndarray, output: str):
    if isinstance(first, linear.LinearNode):
        n = first.weight.shape[0]
        a, c = scale.reshape(-1, n), offset.reshape(-1, n)
        if not (np.all(a == a[0]) and np.all(c == c[0])):
            return None  # varies along another axis than the last: not a bias
        return linear.LinearNode(first.inputs, output, first.weight * a[0][:, None],
                                 first.bias * a[0] + c[0])
    if isinstance(first, affine.AffineNode):
        pairs = np.stack([first.row.astype(np.float64), scale], axis=1)
        unique, row = np.unique(pairs, axis=0, return_inverse=True)
        weight = first.weight[unique[:, 0].astype(np.int64)] * unique[:, 1][:, None]
        row = row.reshape(-1).astype(np.int64)
        return affine.AffineNode(first.inputs, output, first.index, weight, row,
                                 first.bias * scale + offset)
    return None


__all__ = ["KINDS", "ONNX_OPS", "kind_of", "op_version", "supported_ops", "fold_affine_chains"]
