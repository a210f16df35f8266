"""The float graph: what the ONNX frontend lowers a model to.

A :class:`Graph` is a straight-line program over named tensors with static
shapes. It has three node kinds, which are exactly what the quantizer knows how
to turn into program instructions:

* :class:`Linear` — ``y = x @ weight.T + bias`` on the last axis
  (``weight`` is ``[N, K]``, ``bias`` is ``[N]``, both float64);
* :class:`Relu` — ``y = max(x, 0)``;
* :class:`Reshape` — same elements in row-major order, the output tensor's shape.

:meth:`Graph.run` evaluates it in float64, optionally over a leading axis of
samples (one extra dimension in front of every input), which is how the
quantizer calibrates it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np

from zkml.errors import InputShapeError, ModelError

Shape = tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Linear:
    """``y[..., n] = sum_k weight[n, k] * x[..., k] + bias[n]``."""

    input: str
    output: str
    weight: np.ndarray
    bias: np.ndarray


@dataclass(frozen=True)
class Relu:
    input: str
    output: str


@dataclass(frozen=True)
class Reshape:
    input: str
    output: str


Node = Union[Linear, Relu, Reshape]


@dataclass
class Graph:
    """A lowered model.

    ``tensors`` maps every tensor name to its static shape, in definition
    order (inputs first). ``inputs`` and ``outputs`` are tensor names in ONNX
    graph order; the output tensors carry the ONNX output names.
    """

    name: str
    tensors: dict[str, Shape]
    inputs: list[str]
    outputs: list[str]
    nodes: list[Node] = field(default_factory=list)

    def shape(self, name: str) -> Shape:
        return self.tensors[name]

    def run(self, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Evaluate every tensor in float64.

        Each input has its tensor's shape, or one extra leading axis of samples
        (all inputs must then agree on the number of samples); every result
        carries the same leading axis.
        """
        if len(inputs) != len(self.inputs):
            raise InputShapeError(
                f"model '{self.name}' takes {len(self.inputs)} input(s), got {len(inputs)}"
            )
        lead = None
        values: dict[str, np.ndarray] = {}
        for name, value in zip(self.inputs, inputs):
            array = np.asarray(value, dtype=np.float64)
            this_lead = _leading_axes(array.shape, self.tensors[name], name)
            if lead is None:
                lead = this_lead
            elif this_lead != lead:
                raise InputShapeError(
                    f"input '{name}': batch axes {list(this_lead)} differ from "
                    f"the first input's {list(lead)}"
                )
            values[name] = array
        lead = lead or ()
        for node in self.nodes:
            x = values[node.input]
            if isinstance(node, Linear):
                y = x @ node.weight.T + node.bias
            elif isinstance(node, Relu):
                y = np.maximum(x, 0.0)
            elif isinstance(node, Reshape):
                y = x.reshape(lead + self.tensors[node.output])
            else:  # pragma: no cover - the frontend builds only the three kinds
                raise ModelError(f"unknown node {node!r}")
            values[node.output] = y
        return values


def _leading_axes(got: Shape, want: Shape, name: str) -> Shape:
    """The batch axes in front of ``want`` (``()`` or ``(samples,)``)."""
    got, want = tuple(got), tuple(want)
    if got == want:
        return ()
    if len(got) == len(want) + 1 and got[1:] == want:
        return got[:1]
    raise InputShapeError(
        f"input '{name}': expected shape {list(want)} (or [samples, {', '.join(map(str, want))}]), "
        f"got {list(got)}"
    )
