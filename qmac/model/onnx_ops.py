"""Network ops from resolved ONNX nodes: the array ops (Conv, Gemm, MatMul) and the host ops.

The importer (:mod:`qmac.model.onnx_import`) resolves a node's quantized inputs and output, in
either graph format, to :class:`QTensor` records; the functions here turn them into
:class:`~qmac.model.network.ArrayOp` and :class:`~qmac.model.network.HostOp`. Network tensors
are int8: a uint8 tensor's values and zero point are 128 lower (exact); host ops with
onnxruntime's float semantics convert back to the model's own type around the computation,
because their float arithmetic depends on the stored values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import golden
import golden.hostops as H
from qmac.model.network import ArrayOp, HostOp
from qmac.model.onnx_graph import OnnxImportError

__all__ = [
    "QTensor", "conv_pads", "conv_output_shape", "max_pool_output_shape", "clamp_range",
    "conv_op", "fc_op", "add_op", "gap_op", "max_pool_op", "flatten_op", "float_flatten_op",
    "clip_op", "int_clamp_op", "quantize_op", "dequantize_op", "requantize_op",
]


@dataclass(frozen=True)
class QTensor:
    """A quantized network tensor: its name and its quantization in the model's own type."""

    name: str
    q: H.QLinearQuant


def _pair(attrs: dict, key: str, default: int = 1) -> tuple[int, int]:
    v = list(attrs.get(key, [default, default]))
    return int(v[0]), int(v[1])


def conv_pads(where: str, attrs: dict, in_hw: tuple[int, int], kernel: tuple[int, int],
              stride: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """Explicit ``(top, left, bottom, right)`` pads from ONNX's ``pads`` or ``auto_pad``."""
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("NOTSET", ""):
        pads = [int(p) for p in attrs.get("pads", [0, 0, 0, 0])]
        if len(pads) != 4:
            raise OnnxImportError(f"{where}: pads {pads} must have 4 entries (2-D)")
        return tuple(pads)  # ONNX order [h_begin, w_begin, h_end, w_end] = golden's
    if auto == "VALID":
        return (0, 0, 0, 0)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        top, left, bottom, right = golden.resolve_padding("SAME", in_hw, kernel, stride,
                                                          dilation)
        if auto == "SAME_LOWER":  # the extra pixel at the beginning
            return (bottom, right, top, left)
        return (top, left, bottom, right)
    raise OnnxImportError(f"{where}: auto_pad {auto!r} is not supported")


def clamp_range(out: H.QLinearQuant, clip: tuple[float, float] | None) -> tuple[int, int]:
    """``(act_min, act_max)`` in the int8 form, from the type's range and a folded Relu/Clip.

    The quantizer deletes a Relu and gives its output zero point the type's minimum: the clamp
    to the type's range is then the Relu. A Relu or Clip left in the graph narrows the clamp to
    its bounds quantized as QuantizeLinear does (a monotone map, so clip-then-quantize equals
    quantize-then-clamp).
    """
    lo, hi = out.qmin, out.qmax
    if clip is not None:
        qlo, qhi = H.quantize_linear(np.array(clip, dtype=np.float32), out).tolist()
        lo, hi = max(lo, qlo), min(hi, qhi)
    return lo - out.offset, hi - out.offset


def conv_output_shape(where: str, attrs: dict, x_shape: tuple, w_shape: tuple) -> tuple:
    """ONNX (NCHW) output shape of a 2-D Conv on ``x_shape`` with OIHW weights ``w_shape``."""
    if len(w_shape) != 4 or len(x_shape) != 4:
        raise OnnxImportError(f"{where}: only 2-D convolutions are supported "
                              f"(input {x_shape}, weights {w_shape})")
    kernel = (w_shape[2], w_shape[3])
    stride, dilation = _pair(attrs, "strides"), _pair(attrs, "dilations")
    pads = conv_pads(where, attrs, (x_shape[2], x_shape[3]), kernel, stride, dilation)
    group = int(attrs.get("group", 1))
    if group < 1 or x_shape[1] % group or w_shape[0] % group or w_shape[1] * group != x_shape[1]:
        raise OnnxImportError(f"{where}: group {group} does not fit input channels "
                              f"{x_shape[1]} and weights {w_shape}")
    try:
        oh, ow = golden.conv_output_size(x_shape[2:], kernel, stride=stride, padding=pads,
                                         dilation=dilation)
    except ValueError as exc:
        raise OnnxImportError(f"{where}: {exc}") from None
    return (x_shape[0], w_shape[0], oh, ow)


def conv_op(name: str, where: str, attrs: dict, x: QTensor, x_shape: tuple, w: np.ndarray,
            w_scale: np.ndarray, bias: np.ndarray, y: QTensor, clip, m0_shift) -> ArrayOp:
    """A 2-D Conv / QLinearConv as conv2d or depthwise_conv2d (OIHW -> OHWI or 1HW(C*mult))."""
    conv_output_shape(where, attrs, x_shape, w.shape)
    cin = x_shape[1]
    group = int(attrs.get("group", 1))
    kernel = (w.shape[2], w.shape[3])
    stride, dilation = _pair(attrs, "strides"), _pair(attrs, "dilations")
    pads = conv_pads(where, attrs, (x_shape[2], x_shape[3]), kernel, stride, dilation)
    if group > 1 and group == cin and w.shape[1] == 1:
        op, w_arr, groups = "depthwise_conv2d", w.transpose(1, 2, 3, 0), 1
    else:
        op, w_arr, groups = "conv2d", w.transpose(0, 2, 3, 1), group
    act_min, act_max = clamp_range(y.q, clip)
    m0, shift = m0_shift
    return ArrayOp(
        name=name, op=op, input=x.name, output=y.name, w=np.ascontiguousarray(w_arr),
        bias=bias, m0=m0, shift=shift, x_zp=x.q.zero_point - x.q.offset,
        y_zp=y.q.zero_point - y.q.offset, act_min=act_min, act_max=act_max, stride=stride,
        padding=pads, dilation=dilation, groups=groups,
    )


def fc_op(name: str, x: QTensor, w_out_in: np.ndarray, bias: np.ndarray, y: QTensor, clip,
          m0_shift) -> ArrayOp:
    """Gemm / QGemm / MatMul / QLinearMatMul as fully_connected (weights [out, in])."""
    act_min, act_max = clamp_range(y.q, clip)
    m0, shift = m0_shift
    return ArrayOp(
        name=name, op="fully_connected", input=x.name, output=y.name,
        w=np.ascontiguousarray(w_out_in), bias=bias, m0=m0, shift=shift,
        x_zp=x.q.zero_point - x.q.offset, y_zp=y.q.zero_point - y.q.offset,
        act_min=act_min, act_max=act_max,
    )


def _clamped(fn, y: H.QLinearQuant, clip):
    """``fn`` (int8 form in and out) followed by a folded Relu/Clip's clamp."""
    if clip is None:
        return fn
    lo, hi = clamp_range(y, clip)
    return lambda xs: np.minimum(np.maximum(fn(xs), lo), hi)


def add_op(name: str, where: str, a: QTensor, b: QTensor, y: QTensor, clip) -> HostOp:
    """Add / QLinearAdd with onnxruntime's float32 kernel (in the model's own type)."""
    try:
        p = H.qlinear_add_params(a.q, b.q, y.q)
    except ValueError as exc:
        raise OnnxImportError(f"{where}: {exc}") from None
    oa, ob, oy = a.q.offset, b.q.offset, y.q.offset

    def apply(xs):
        return H.qlinear_add(xs[0] + oa, xs[1] + ob, p) - oy

    return HostOp(name, "QLinearAdd", (a.name, b.name), y.name, _clamped(apply, y.q, clip), p)


def gap_op(name: str, where: str, x: QTensor, x_shape_nchw: tuple, y: QTensor, clip) -> HostOp:
    """GlobalAveragePool / QLinearGlobalAveragePool, requantized as onnxruntime does."""
    if len(x_shape_nchw) != 4:
        raise OnnxImportError(f"{where}: only 4-D (NCHW) inputs are supported, not "
                              f"{x_shape_nchw}")
    try:
        p = H.qlinear_global_average_pool_params(x.q, y.q, x_shape_nchw[2] * x_shape_nchw[3])
    except ValueError as exc:
        raise OnnxImportError(f"{where}: {exc}") from None
    ox, oy = x.q.offset, y.q.offset

    def apply(xs):
        return H.qlinear_global_average_pool(xs[0] + ox, p) - oy

    return HostOp(name, "QLinearGlobalAveragePool", (x.name,), y.name,
                  _clamped(apply, y.q, clip), p)


def _same_quant(where: str, x: QTensor, y: QTensor) -> None:
    if (x.q.scale, x.q.zero_point, x.q.dtype) != (y.q.scale, y.q.zero_point, y.q.dtype):
        raise OnnxImportError(
            f"{where}: input and output quantization must be equal (it moves values "
            f"without rescaling), not {x.q} and {y.q}"
        )


def _max_pool_geometry(where: str, attrs: dict, x_shape_nchw: tuple):
    kernel = tuple(int(k) for k in attrs.get("kernel_shape", []))
    if len(kernel) != 2 or len(x_shape_nchw) != 4:
        raise OnnxImportError(f"{where}: only 2-D max pooling is supported")
    stride, dilation = _pair(attrs, "strides"), _pair(attrs, "dilations")
    pads = conv_pads(where, attrs, x_shape_nchw[2:], kernel, stride, dilation)
    out_hw, ceil_hw = [], []
    for n, k, s, p0, p1, d in zip(x_shape_nchw[2:], kernel, stride, pads[:2], pads[2:],
                                  dilation, strict=True):
        out_hw.append(H.max_pool_output_size(n, k, s, p0 + p1, d))
        ceil_hw.append(-(-(n + p0 + p1 - (k - 1) * d - 1) // s) + 1)
    if int(attrs.get("ceil_mode", 0)) and ceil_hw != out_hw:
        raise OnnxImportError(f"{where}: ceil_mode=1 adds a row or column here "
                              f"({ceil_hw} instead of {out_hw}); only the floor geometry is "
                              "supported")
    if min(out_hw) < 1:
        raise OnnxImportError(f"{where}: kernel {kernel} leaves no output on "
                              f"{x_shape_nchw[2:]}")
    return kernel, stride, pads, dilation, (*x_shape_nchw[:2], *out_hw)


def max_pool_output_shape(where: str, attrs: dict, x_shape_nchw: tuple) -> tuple:
    """ONNX (NCHW) output shape of a MaxPool (``ceil_mode=1`` only where it changes nothing)."""
    return _max_pool_geometry(where, attrs, x_shape_nchw)[-1]


def max_pool_op(name: str, where: str, attrs: dict, x: QTensor, x_shape_nchw: tuple,
                y: QTensor) -> HostOp:
    """MaxPool on quantized values (the same integers for int8 and its uint8 shift)."""
    _same_quant(where, x, y)
    kernel, stride, pads, dilation, _ = _max_pool_geometry(where, attrs, x_shape_nchw)

    def apply(xs):
        return H.onnx_max_pool(xs[0], kernel, stride, pads, dilation)

    params = dict(kernel=kernel, strides=stride, pads=pads, dilations=dilation)
    return HostOp(name, "MaxPool", (x.name,), y.name, apply, params)


def flatten_op(name: str, where: str, op_type: str, x: QTensor, y: QTensor) -> HostOp:
    """Flatten(axis=1) or a Reshape to (N, features): ONNX's NCHW element order."""
    _same_quant(where, x, y)

    def apply(xs):
        return H.flatten_nchw(xs[0])

    return HostOp(name, op_type, (x.name,), y.name, apply, {"axis": 1})


def float_flatten_op(name: str, op_type: str, x: str, y: str) -> HostOp:
    """Flatten / Reshape-to-2-D of the float model input, before its QuantizeLinear."""

    def apply(xs):
        v = np.asarray(xs[0])
        v = v.transpose(0, 3, 1, 2) if v.ndim == 4 else v
        return np.ascontiguousarray(v).reshape(len(v), -1)

    return HostOp(name, op_type, (x,), y, apply, {"axis": 1})


def clip_op(name: str, op_type: str, x: QTensor, y: QTensor, clip: tuple[float, float]) -> HostOp:
    """A standalone Relu/Clip: a clamp when the quantization is kept, else float semantics."""
    if (x.q.scale, x.q.zero_point, x.q.dtype) == (y.q.scale, y.q.zero_point, y.q.dtype):
        lo, hi = clamp_range(y.q, clip)

        def apply(xs):
            return np.minimum(np.maximum(xs[0], lo), hi)
    else:
        lo_f, hi_f = (np.float32(v) for v in clip)

        def apply(xs):
            f = np.clip(H.dequantize_linear(xs[0] + x.q.offset, x.q), lo_f, hi_f)
            return H.quantize_linear(f, y.q) - y.q.offset

    return HostOp(name, op_type, (x.name,), y.name, apply, {"min": clip[0], "max": clip[1]})


def int_clamp_op(name: str, op_type: str, x: QTensor, y: QTensor, lo: int, hi: int) -> HostOp:
    """Relu/Clip applied to a quantized tensor itself: a clamp to stored values [lo, hi]."""
    lo8, hi8 = lo - x.q.offset, hi - x.q.offset

    def apply(xs):
        return np.minimum(np.maximum(xs[0], lo8), hi8)

    return HostOp(name, op_type, (x.name,), y.name, apply, {"min": lo, "max": hi})


def quantize_op(name: str, x: str, y: QTensor) -> HostOp:
    """QuantizeLinear of a float network input (onnxruntime: float32 division, ties to even)."""
    off = y.q.offset

    def apply(xs):
        return H.quantize_linear(xs[0], y.q) - off

    return HostOp(name, "QuantizeLinear", (x,), y.name, apply, y.q)


def dequantize_op(name: str, x: QTensor, y: str) -> HostOp:
    """DequantizeLinear to a float network output: ``float32(q - zp) * scale``."""
    off = x.q.offset

    def apply(xs):
        return H.dequantize_linear(xs[0] + off, x.q)

    return HostOp(name, "DequantizeLinear", (x.name,), y, apply, x.q)


def requantize_op(name: str, x: QTensor, y: QTensor) -> HostOp:
    """A DequantizeLinear -> QuantizeLinear pair between two quantizations (float32)."""

    def apply(xs):
        f = H.dequantize_linear(xs[0] + x.q.offset, x.q)
        return H.quantize_linear(f, y.q) - y.q.offset

    return HostOp(name, "QuantizeLinear", (x.name,), y.name, apply, y.q)
