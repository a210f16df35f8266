"""Convolutions: Conv and ConvTranspose (any number of spatial axes, strides,
pads and ``auto_pad``, dilations, groups and depthwise), lowered to one
``affine`` whose index table lists, for every output element, the input
element under each kernel tap (-1 in the padding) and whose weight rows are
the output channels' kernels. Cost: ``bits + shift + 2`` per output element;
the taps are a free linear combination.
"""

from __future__ import annotations

import itertools

import numpy as np

from zkml.errors import ModelError
from zkml.ops.affine import emit_affine_rows
from zkml.ops.base import lowering
from zkml.ops.pool import resolve_pads, windows

CONV_COST = "bits + shift + 2 per output (the taps are free)"


def _const_weight(ctx, node):
    if not ctx.is_const(node.input[1]):
        ctx.fail(node, "the kernel is an activation; it must be a constant")
    if ctx.is_const(node.input[0]):
        ctx.fail(node, "the data is a constant and nothing depends on an input")
    weight = np.asarray(ctx.const(node.input[1]), np.float64)
    bias = None
    if len(node.input) > 2 and node.input[2]:
        if not ctx.is_const(node.input[2]):
            ctx.fail(node, "the bias is an activation; it must be a constant")
        bias = np.asarray(ctx.const(node.input[2]), np.float64).reshape(-1)
    return weight, bias


@lowering("Conv", 1, 22, kinds=("affine",), cost=CONV_COST)
def _conv(ctx, node, attrs):
    weight, bias = _const_weight(ctx, node)
    x = ctx.act(node.input[0])
    shape = ctx.shape(x)
    if len(shape) < 3 or weight.ndim != len(shape):
        ctx.fail(node, f"input {list(shape)} and kernel {list(weight.shape)} are not [N, C, ...] "
                       "and [M, C/group, ...] of the same rank")
    n, c = shape[:2]
    spatial = shape[2:]
    m = weight.shape[0]
    group = int(attrs.get("group", 1))
    kernel = tuple(weight.shape[2:])
    if "kernel_shape" in attrs and tuple(attrs["kernel_shape"]) != kernel:
        raise ModelError(f"node '{ctx.label(node)}' (Conv): kernel_shape "
                         f"{list(attrs['kernel_shape'])} differs from the kernel {list(kernel)}")
    if group < 1 or c % group or m % group or weight.shape[1] != c // group:
        raise ModelError(f"node '{ctx.label(node)}' (Conv): {c} input channels, {m} output "
                         f"channels, kernel {list(weight.shape)} and group {group} do not fit")
    dims = len(spatial)
    strides = tuple(attrs.get("strides", [1] * dims))
    dilations = tuple(attrs.get("dilations", [1] * dims))
    begin, end = resolve_pads(ctx.label(node), spatial, kernel, strides, dilations, attrs)
    out_dims, taps, _ = windows(spatial, kernel, strides, dilations, begin, end)
    positions, n_taps = taps.shape
    cg, mg = c // group, m // group
    plane = int(np.prod(spatial))
    # Terms: (input channel within the group, tap); for output (b, mo, pos):
    # X index = ((b·C + g·cg + ci)·plane + taps[pos, tap]).
    ci = np.arange(cg)
    rows = []
    for b, mo in itertools.product(range(n), range(m)):
        g = mo // mg
        base = (b * c + g * cg + ci) * plane  # [cg]
        idx = np.where(taps[:, None, :] >= 0, base[None, :, None] + taps[:, None, :], -1)
        rows.append(idx.reshape(positions, cg * n_taps))
    index = np.concatenate(rows, axis=0)
    kernels = weight.reshape(m, cg * n_taps)
    row = np.tile(np.repeat(np.arange(m), positions), n)
    b_full = np.zeros(n * m * positions) if bias is None else np.tile(np.repeat(bias, positions), n)
    emit_affine_rows(ctx, [x], index, kernels, row, b_full, node.output[0], (n, m) + out_dims)


@lowering("ConvTranspose", 1, 22, kinds=("affine",), cost=CONV_COST)
def _conv_transpose(ctx, node, attrs):
    weight, bias = _const_weight(ctx, node)
    x = ctx.act(node.input[0])
    shape = ctx.shape(x)
    if len(shape) < 3 or weight.ndim != len(shape):
        ctx.fail(node, f"input {list(shape)} and kernel {list(weight.shape)} are not [N, C, ...] "
                       "and [C, M/group, ...] of the same rank")
    if "output_shape" in attrs:
        ctx.fail(node, "the output_shape attribute is not supported (give pads instead)")
    n, c = shape[:2]
    spatial = shape[2:]
    dims = len(spatial)
    group = int(attrs.get("group", 1))
    kernel = tuple(weight.shape[2:])
    if group < 1 or c % group or weight.shape[0] != c:
        raise ModelError(f"node '{ctx.label(node)}' (ConvTranspose): {c} input channels, kernel "
                         f"{list(weight.shape)} and group {group} do not fit")
    mg = weight.shape[1]
    m = mg * group
    cg = c // group
    strides = tuple(attrs.get("strides", [1] * dims))
    dilations = tuple(attrs.get("dilations", [1] * dims))
    out_pad = tuple(attrs.get("output_padding", [0] * dims))
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("NOTSET", "", "VALID"):
        pads = list(attrs.get("pads", [0] * (2 * dims))) if auto != "VALID" else [0] * (2 * dims)
        begin, end = pads[:dims], pads[dims:]
    else:
        begin, end = [], []
        for size, k, s, d, op in zip(spatial, kernel, strides, dilations, out_pad):
            total = max(s * (size - 1) + op + (k - 1) * d + 1 - size * s, 0)
            small, large = total // 2, total - total // 2
            begin.append(small if auto == "SAME_UPPER" else large)
            end.append(large if auto == "SAME_UPPER" else small)
    out_dims = tuple(s * (i - 1) + op + (k - 1) * d + 1 - b - e
                     for i, k, s, d, op, b, e in zip(spatial, kernel, strides, dilations, out_pad,
                                                     begin, end))
    if any(o <= 0 for o in out_dims):
        raise ModelError(f"node '{ctx.label(node)}' (ConvTranspose): empty output {list(out_dims)}")
    taps = list(itertools.product(*[range(k) for k in kernel]))
    positions = list(itertools.product(*[range(o) for o in out_dims]))
    # Output position p receives input i through tap k when p = i·s + k·d - begin.
    pos = np.array(positions, dtype=np.int64)[:, None, :]
    tap = np.array(taps, dtype=np.int64)[None, :, :]
    numer = pos + np.array(begin) - tap * np.array(dilations)
    i = numer // np.array(strides)
    ok = np.all((numer % np.array(strides) == 0) & (i >= 0) & (i < np.array(spatial)), axis=-1)
    flat = np.ravel_multi_index(tuple(np.clip(i, 0, np.array(spatial) - 1).transpose(2, 0, 1)),
                                spatial)
    spatial_index = np.where(ok, flat, -1)  # [positions, taps]
    plane = int(np.prod(spatial))
    n_taps = len(taps)
    rows, w_rows = [], []
    ci = np.arange(cg)
    for b, mo in itertools.product(range(n), range(m)):
        g = mo // mg
        base = (b * c + g * cg + ci) * plane
        idx = np.where(spatial_index[:, None, :] >= 0, base[None, :, None] + spatial_index[:, None, :],
                       -1)
        rows.append(idx.reshape(len(positions), cg * n_taps))
        if b == 0:
            w_rows.append(weight[g * cg:(g + 1) * cg, mo - g * mg].reshape(cg * n_taps))
    index = np.concatenate(rows, axis=0)
    row = np.tile(np.repeat(np.arange(m), len(positions)), n)
    b_full = (np.zeros(n * m * len(positions)) if bias is None
              else np.tile(np.repeat(bias, len(positions)), n))
    emit_affine_rows(ctx, [x], index, np.stack(w_rows), row, b_full, node.output[0],
                     (n, m) + out_dims)
