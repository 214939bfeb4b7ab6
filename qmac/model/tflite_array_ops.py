"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED as array ops, with TFLite's own integers.

- Padding as TFLite resolves it (kernels/padding.h): SAME gives ``ceil(in / stride)`` outputs and
  ``max((out - 1) * stride + (f - 1) * dilation + 1 - in, 0)`` padded pixels, the odd one at the
  bottom/right; VALID gives ``(in + stride - ((f - 1) * dilation + 1)) // stride``. The importer
  stores the explicit ``(top, left, bottom, right)`` and checks the output shape the file declares.
- Multipliers as TFLite's Prepare derives them from the float32 scales, each through
  ``QuantizeMultiplier``: conv and depthwise (``PopulateConvolutionQuantizationParams``, per
  channel or per tensor) and per-channel FULLY_CONNECTED use ``double(s_in) * double(s_w[c]) /
  double(s_out)``; per-tensor FULLY_CONNECTED (``GetQuantizedConvolutionMultipler``) uses
  ``double(float(s_in * s_w)) / double(s_out)``, the product rounded to float32 first.
- Fused activations as the clamp (``CalculateActivationRangeQuantized``); an absent bias is zeros.
"""

from __future__ import annotations

import numpy as np

from golden.hostops import activation_range, quantize_multiplier_tflite
from golden.hostops import reshape as host_reshape
from qmac.model.network import ArrayOp, HostOp, TensorSpec
from qmac.model.tflite_context import OpContext

__all__ = ["conv_2d", "depthwise_conv_2d", "fully_connected", "tflite_padding",
           "conv_multipliers", "fc_multipliers"]

_MAX_SHIFT = 30  # the array's (and TFLite's single-rounding) largest left shift


def tflite_padding(
    padding: str, in_hw: tuple[int, int], kernel_hw: tuple[int, int],
    stride: tuple[int, int], dilation: tuple[int, int],
) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """``((out_h, out_w), (top, left, bottom, right))`` as TFLite's ComputePaddingHeightWidth."""
    out, before, after = [], [], []
    for size, f, s, d in zip(in_hw, kernel_hw, stride, dilation, strict=True):
        effective = (f - 1) * d + 1
        n = (size + s - 1) // s if padding == "SAME" else (size + s - effective) // s
        total = max((n - 1) * s + effective - size, 0) if padding == "SAME" else 0
        out.append(n)
        before.append(total // 2)
        after.append(total // 2 + total % 2)
    return (out[0], out[1]), (before[0], before[1], after[0], after[1])


def _quantize(ctx: OpContext, reals: list[float]) -> tuple[np.ndarray, np.ndarray]:
    m0, shift = [], []
    for c, real in enumerate(reals):
        m, s = quantize_multiplier_tflite(real)
        if s > _MAX_SHIFT:
            raise ctx.error(f"output channel {c}: multiplier s_in * s_w / s_out = {real!r} "
                            f"needs a left shift of {s} > {_MAX_SHIFT}")
        m0.append(m)
        shift.append(s)
    return np.asarray(m0, np.int64), np.asarray(shift, np.int64)


def conv_multipliers(s_in: float, s_w: np.ndarray, s_out: float) -> list[float]:
    """Real multipliers of conv, depthwise, per-channel FC: ``double(s_in) * double(s_w[c]) /
    double(s_out)``, evaluated left to right in float64 as the C++ does."""
    s_in, s_out = float(np.float32(s_in)), float(np.float32(s_out))
    return [s_in * float(w) / s_out for w in np.asarray(s_w, np.float32)]


def fc_multipliers(s_in: float, s_w: np.ndarray, s_out: float, per_channel: bool) -> list[float]:
    """Real multipliers of FULLY_CONNECTED (per tensor: the float32 product, then double)."""
    if per_channel:
        return conv_multipliers(s_in, s_w, s_out)
    product = float(np.float32(s_in) * np.asarray(s_w, np.float32)[0])
    return [product / float(np.float32(s_out))] * len(s_w)


def _stride_dilation(ctx: OpContext) -> tuple[tuple[int, int], tuple[int, int]]:
    stride = (int(ctx.option("StrideH", 1)), int(ctx.option("StrideW", 1)))
    dilation = (int(ctx.option("DilationHFactor", 1)), int(ctx.option("DilationWFactor", 1)))
    for label, v in (("stride", stride), ("dilation", dilation)):
        if min(v) < 1:
            raise ctx.error(f"{label} {v} must be >= 1")
    return stride, dilation


def _conv_like(ctx: OpContext, op: str) -> list:
    x, x_name, xq = ctx.act_input(0)
    y, y_name, yq = ctx.act_output(0)
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise ctx.error(f"input and output must be NHWC (4-D), not {x.shape} and {y.shape}")
    w_t = ctx.input_tensor(1, "weights")
    if len(w_t.shape) != 4:
        raise ctx.error(f"weights {w_t.describe()} must be 4-D, not {w_t.shape}")
    cin = x.shape[3]
    if op == "conv2d":
        cout, kh, kw, cin_g = w_t.shape
        w, s_w, _ = ctx.weights(1, axis=0)
        if cin_g < 1 or cin % cin_g or cout % (cin // cin_g):
            raise ctx.error(f"input channels {cin} and weights {w_t.shape} (OHWI) do not make "
                            "whole groups")
        groups = cin // cin_g
    else:
        _, kh, kw, cout = w_t.shape
        w, s_w, _ = ctx.weights(1, axis=3)
        if w_t.shape[0] != 1 or cout % cin:
            raise ctx.error(f"depthwise weights {w_t.shape} must be (1, KH, KW, C * multiplier) "
                            f"for {cin} input channels")
        groups = 1
    stride, dilation = _stride_dilation(ctx)
    out_hw, pads = tflite_padding(ctx.padding(), x.shape[1:3], (kh, kw), stride, dilation)
    if min(out_hw) < 1:
        raise ctx.error(f"kernel {kh}x{kw} (dilation {dilation}) leaves no output on input "
                        f"{x.shape[1]}x{x.shape[2]} with {ctx.padding()} padding")
    ctx.expect_shape(y, (1, *out_hw, cout))
    m0, shift = _quantize(ctx, conv_multipliers(xq.scale, s_w, yq.scale))
    act_min, act_max = activation_range(ctx.fused_activation(), yq)
    return [ArrayOp(
        name=ctx.op_name, op=op, input=x_name, output=y_name, w=w, bias=ctx.bias(2, cout),
        m0=m0, shift=shift, x_zp=xq.zero_point, y_zp=yq.zero_point, act_min=act_min,
        act_max=act_max, stride=stride, padding=pads, dilation=dilation, groups=groups,
    )]


def conv_2d(ctx: OpContext) -> list:
    """CONV_2D (groups when the input has a multiple of the weights' input channels)."""
    return _conv_like(ctx, "conv2d")


def depthwise_conv_2d(ctx: OpContext) -> list:
    """DEPTHWISE_CONV_2D; the channel multiplier is the weights' C * multiplier over C."""
    return _conv_like(ctx, "depthwise_conv2d")


def fully_connected(ctx: OpContext) -> list:
    """FULLY_CONNECTED on one row per sample (the input flattened, as TFLite does).

    With ``keep_num_dims`` and an output of more than two dimensions, the array op writes a 2-D
    tensor of qmac's own and a RESHAPE host op gives it the declared shape.
    """
    x, x_name, xq = ctx.act_input(0)
    y, y_name, yq = ctx.act_output(0)
    w_t = ctx.input_tensor(1, "weights")
    if len(w_t.shape) != 2:
        raise ctx.error(f"weights {w_t.describe()} must be 2-D (units, inputs), not {w_t.shape}")
    if int(ctx.option("WeightsFormat", 0)) != 0:
        raise ctx.error("shuffled weights (weights_format != DEFAULT) are not supported")
    units, k = w_t.shape
    size = int(np.prod(x.shape))
    if size != k:
        raise ctx.error(f"input {x.describe()} of shape {x.shape} holds {size} values per sample,"
                        f" not the weights' {k} (one row per sample)")
    if int(np.prod(y.shape)) != units or y.shape[-1] != units:
        raise ctx.error(f"output {y.describe()} has shape {y.shape}, not (1, {units})")
    w, s_w, per_channel = ctx.weights(1, axis=0)
    m0, shift = _quantize(ctx, fc_multipliers(xq.scale, s_w, yq.scale, per_channel))
    act_min, act_max = activation_range(ctx.fused_activation(), yq)
    target = y_name
    if len(y.shape) != 2:
        target = ctx.names.add(TensorSpec(f"{y_name}/2d", (1, units), "int8", yq.scale,
                                          yq.zero_point))
    fc = ArrayOp(
        name=ctx.op_name, op="fully_connected", input=x_name, output=target, w=w,
        bias=ctx.bias(2, units), m0=m0, shift=shift, x_zp=xq.zero_point, y_zp=yq.zero_point,
        act_min=act_min, act_max=act_max,
    )
    if target == y_name:
        return [fc]
    tail = tuple(y.shape[1:])
    return [fc, HostOp(
        name=f"{ctx.op_name}/reshape", op="RESHAPE", inputs=(target,), output=y_name,
        apply=lambda xs: host_reshape(xs[0], (len(xs[0]), *tail)), params=tail,
    )]
