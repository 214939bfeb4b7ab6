"""TFLite's host ops as :class:`~qmac.model.network.HostOp` entries over ``golden.hostops``.

Each converter builds the op's parameter record once from the tensors' float32 scales and zero
points (as TFLite's Prepare does) and binds it, with any constant operand, into ``apply``. The
shape the file declares for the output is checked against what the op computes, and the batch
axis is left alone (no op may reduce, pad or concatenate along it: qmac stacks inputs there).
"""

from __future__ import annotations

import numpy as np

import golden.hostops as H
from qmac.model.network import HostOp
from qmac.model.tflite_context import OpContext, bind_constants

__all__ = ["add", "average_pool_2d", "max_pool_2d", "mean", "pad", "padv2", "reshape",
           "concatenation", "softmax", "quantize", "dequantize"]


def _host(ctx: OpContext, inputs, output: str, apply, params=None) -> list[HostOp]:
    return [HostOp(name=ctx.op_name, op=ctx.op.name, inputs=tuple(inputs), output=output,
                   apply=apply, params=params)]


def _checked(ctx: OpContext, build, *args):
    """A golden parameter builder's TypeError/ValueError, reworded to name the op."""
    try:
        return build(*args)
    except (TypeError, ValueError) as exc:
        raise ctx.error(str(exc)) from None


def add(ctx: OpContext) -> list[HostOp]:
    """ADD of two int8 operands (either may be a constant), broadcasting as TFLite does."""
    operands = [ctx.int8_operand(i, f"input{i + 1}") for i in range(2)]
    if all(name is None for _, name, _ in operands):
        raise ctx.error("both inputs are constants")
    y, y_name, yq = ctx.act_output(0)
    shapes = [t.shape for t, _, _ in operands]
    try:
        out_shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ctx.error(f"input shapes {shapes[0]} and {shapes[1]} do not broadcast") from None
    ctx.expect_shape(y, out_shape)
    p = _checked(ctx, H.add_params, operands[0][2], operands[1][2], yq, ctx.fused_activation())
    slots = [None if name is not None else t.data.astype(np.int64) for t, name, _ in operands]
    apply = bind_constants(lambda xs: H.add(xs[0], xs[1], p), slots)
    return _host(ctx, [name for _, name, _ in operands if name is not None], y_name, apply, p)


def _pool(ctx: OpContext, fn) -> list[HostOp]:
    x, x_name, xq = ctx.act_input(0)
    y, y_name, yq = ctx.act_output(0)
    if len(x.shape) != 4:
        raise ctx.error(f"input {x.describe()} must be NHWC (4-D), not {x.shape}")
    filt = (int(ctx.option("FilterHeight", 1)), int(ctx.option("FilterWidth", 1)))
    stride = (int(ctx.option("StrideH", 1)), int(ctx.option("StrideW", 1)))
    p = _checked(ctx, H.pool_params, xq, yq, filt, stride, ctx.padding(), ctx.fused_activation())
    out_hw, _ = _checked(ctx, H.pool_geometry, x.shape[1:3], p)
    ctx.expect_shape(y, (1, *out_hw, x.shape[3]))
    return _host(ctx, [x_name], y_name, lambda xs: fn(xs[0], p), p)


def average_pool_2d(ctx: OpContext) -> list[HostOp]:
    return _pool(ctx, H.average_pool_2d)


def max_pool_2d(ctx: OpContext) -> list[HostOp]:
    return _pool(ctx, H.max_pool_2d)


def _axes(ctx: OpContext, axes: np.ndarray, rank: int, what: str) -> tuple[int, ...]:
    resolved = []
    for a in np.asarray(axes).ravel().tolist():
        if not -rank <= a < rank:
            raise ctx.error(f"axis {a} is out of range for a {rank}-D input")
        resolved.append(a % rank)
    if 0 in resolved:
        raise ctx.batch_axis_error(what)
    return tuple(dict.fromkeys(resolved))


def mean(ctx: OpContext) -> list[HostOp]:
    """MEAN over constant axes (never the batch axis), with keep_dims."""
    x, x_name, xq = ctx.act_input(0)
    y, y_name, yq = ctx.act_output(0)
    axes = _axes(ctx, ctx.constant(1, "axes"), len(x.shape), "MEAN reduces over")
    keep = bool(ctx.option("KeepDims", False))
    p = _checked(ctx, H.mean_params, xq, yq, axes, keep)
    shape = tuple(1 if d in axes else n for d, n in enumerate(x.shape) if keep or d not in axes)
    ctx.expect_shape(y, shape)
    return _host(ctx, [x_name], y_name, lambda xs: H.mean(xs[0], p), p)


def _pad(ctx: OpContext, v2: bool) -> list[HostOp]:
    x, x_name, xq = ctx.act_input(0)
    y, y_name, yq = ctx.act_output(0)
    pads = ctx.constant(1, "paddings")
    if pads.shape != (len(x.shape), 2):
        raise ctx.error(f"paddings have shape {pads.shape}, not ({len(x.shape)}, 2)")
    if np.any(pads[0] != 0):
        raise ctx.batch_axis_error("PAD pads")
    constant = constant_quant = None
    if v2 and ctx.input_tensor(2, "constant value", optional=True) is not None:
        c, c_name, constant_quant = ctx.int8_operand(2, "constant value")
        if c_name is not None or c.data.size != 1:
            raise ctx.error(f"constant value {c.describe()} must be one constant int8 value")
        constant = int(c.data.ravel()[0])
    p = _checked(ctx, H.pad_params, xq, yq, pads, constant, constant_quant)
    ctx.expect_shape(y, tuple(int(n + a + b) for n, (a, b) in zip(x.shape, pads, strict=True)))
    return _host(ctx, [x_name], y_name, lambda xs: H.pad(xs[0], p), p)


def pad(ctx: OpContext) -> list[HostOp]:
    """PAD with the zero point."""
    return _pad(ctx, v2=False)


def padv2(ctx: OpContext) -> list[HostOp]:
    """PADV2 with its constant (the zero point when absent)."""
    return _pad(ctx, v2=True)


def reshape(ctx: OpContext) -> list[HostOp]:
    """RESHAPE to the output shape the file declares (batch 1 there, N at run time)."""
    x, x_name, xq = ctx.act_input(0)
    y, y_name, yq = ctx.act_output(0)
    if xq != yq:
        raise ctx.error(f"RESHAPE changes the quantization from {xq} to {yq}")
    if int(np.prod(x.shape)) != int(np.prod(y.shape)):
        raise ctx.error(f"input shape {x.shape} and output shape {y.shape} differ in size")
    tail = tuple(y.shape[1:])
    return _host(ctx, [x_name], y_name, lambda xs: H.reshape(xs[0], (len(xs[0]), *tail)), tail)


def concatenation(ctx: OpContext) -> list[HostOp]:
    """CONCATENATION of activations sharing the output's quantization (TFLite's int8 rule)."""
    ins = [ctx.act_input(i, f"input{i + 1}") for i in range(len(ctx.op.inputs))]
    y, y_name, yq = ctx.act_output(0)
    rank = len(y.shape)
    axis = int(ctx.option("Axis", 0))
    (axis,) = _axes(ctx, np.array([axis]), rank, "CONCATENATION joins along")
    p = _checked(ctx, lambda: H.concatenation_params(
        [q for _, _, q in ins], yq, axis, ctx.fused_activation(), strict=True))
    shape = list(ins[0][0].shape)
    for t, _, _ in ins[1:]:
        if len(t.shape) != rank or any(a != b for d, (a, b) in
                                       enumerate(zip(t.shape, shape, strict=True)) if d != axis):
            raise ctx.error(f"input {t.describe()} shape {t.shape} does not match {tuple(shape)} "
                            f"outside axis {axis}")
        shape[axis] += t.shape[axis]
    ctx.expect_shape(y, tuple(shape))
    return _host(ctx, [name for _, name, _ in ins], y_name, lambda xs: H.concatenate(xs, p), p)


def softmax(ctx: OpContext) -> list[HostOp]:
    """SOFTMAX int8 -> int8 over the last axis (LiteRT's reference kernel)."""
    x, x_name, xq = ctx.act_input(0)
    y, y_name, yq = ctx.act_output(0)
    ctx.expect_shape(y, x.shape)
    p = _checked(ctx, H.softmax_params, xq, yq, float(ctx.option("Beta", 1.0)))
    return _host(ctx, [x_name], y_name, lambda xs: H.softmax(xs[0], p), p)


def quantize(ctx: OpContext) -> list[HostOp]:
    """QUANTIZE float32 -> int8 (at the model's input) or int8 -> int8 (requantize)."""
    x_t = ctx.input_tensor(0)
    dtype = "float32" if x_t.dtype == "float32" else "int8"
    x, x_name, xq = ctx.act_input(0, dtype=dtype)
    y, y_name, yq = ctx.act_output(0)
    ctx.expect_shape(y, x.shape)
    if dtype == "float32":
        return _host(ctx, [x_name], y_name, lambda xs: H.quantize(xs[0], yq), yq)
    p = _checked(ctx, H.requantize_params, xq, yq)
    return _host(ctx, [x_name], y_name, lambda xs: H.requantize(xs[0], p), p)


def dequantize(ctx: OpContext) -> list[HostOp]:
    """DEQUANTIZE int8 -> float32 (at the model's output)."""
    x, x_name, xq = ctx.act_input(0)
    y, y_name, _ = ctx.act_output(0, dtype="float32")
    ctx.expect_shape(y, x.shape)
    return _host(ctx, [x_name], y_name, lambda xs: H.dequantize(xs[0], xq), xq)
