"""Normalisation with constant statistics: BatchNormalization (inference).

``y = (x - mean) / sqrt(var + ε) · scale + B`` per channel (axis 1) is an
element-wise ``affine`` with per-channel weight ``a = scale / sqrt(var + ε)``
and bias ``B - mean·a``. When the input comes from a Conv or Gemm/MatMul used
nowhere else, the graph pass :func:`zkml.ops.fold_affine_chains` folds it into
that layer's weights and bias, so it costs nothing.
"""

from __future__ import annotations

import numpy as np

from zkml.errors import ModelError
from zkml.ops.affine import emit_elementwise
from zkml.ops.base import lowering


@lowering("BatchNormalization", 6, 15, kinds=("affine",),
          cost="0 when folded into the Conv/Gemm before it, else bits + shift + 2 per output")
def _batch_norm(ctx, node, attrs):
    if attrs.get("training_mode", 0):
        ctx.fail(node, "training_mode=1 is not supported (inference only)")
    for extra in node.output[1:]:
        if extra:
            ctx.mark_unusable(extra, node, "BatchNormalization's running statistics outputs "
                                           "are training-only")
    names = node.input[1:5]
    if len(names) != 4 or not all(ctx.is_const(x) for x in names):
        ctx.fail(node, "scale, B, mean and var must be constants")
    scale, shift, mean, var = (np.asarray(ctx.const(x), np.float64).reshape(-1) for x in names)
    eps = float(attrs.get("epsilon", 1e-5))
    if np.any(var + eps <= 0):
        raise ModelError(f"node '{ctx.label(node)}' (BatchNormalization): var + epsilon is not "
                         "positive")
    shape = ctx.shape(node.input[0])
    if len(shape) < 2 or any(len(v) != shape[1] for v in (scale, shift, mean, var)):
        raise ModelError(f"node '{ctx.label(node)}' (BatchNormalization): statistics do not match "
                         f"the {shape[1] if len(shape) > 1 else '?'} channels of {list(shape)}")
    a = scale / np.sqrt(var + eps)
    per_channel = (1, shape[1]) + (1,) * (len(shape) - 2)
    emit_elementwise(ctx, node, [node.input[0]], [a.reshape(per_channel)],
                     (shift - mean * a).reshape(per_channel), node.output[0])
