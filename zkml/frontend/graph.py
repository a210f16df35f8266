"""The float graph: what the ONNX frontend lowers a model to.

A :class:`Graph` is a straight-line program over named tensors with static
shapes. Its nodes are the float nodes of the instruction kinds in
:mod:`zkml.ops` (``LinearNode``, ``AffineNode``, ``ReluNode``, ``GatherNode``,
``MaxNode``), each with ``inputs`` (tensor names) and one ``output``; what a
node computes is its kind's ``run_float``.

:meth:`Graph.run` evaluates it in float64, optionally over a leading axis of
samples (one extra dimension in front of every input), which is how the
quantizer calibrates it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zkml.errors import InputShapeError

Shape = tuple[int, ...]


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
    nodes: list = field(default_factory=list)
    known: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Bounds that a tensor's values satisfy by the math of the op that made
    it (``|x| ≥ 0``, a softmax denominator ``≥ 1``), for interval analysis."""

    def shape(self, name: str) -> Shape:
        return self.tensors[name]

    def run(self, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Evaluate every tensor in float64.

        Each input has its tensor's shape, or one extra leading axis of samples
        (all inputs must then agree on the number of samples); every result
        carries the same leading axis.
        """
        from zkml.ops import kind_of

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
            xs = [values[x] for x in node.inputs]
            y = kind_of(node).run_float(node, xs, lead, self.tensors[node.output])
            values[node.output] = np.asarray(y, dtype=np.float64).reshape(
                lead + self.tensors[node.output])
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
