"""Quantization parameters of an ONNX graph as the array needs them, checked.

Activations: a per-tensor float32 scale and an int8 or uint8 zero point. Weights: int8,
symmetric (zero points all 0), one scale per output channel on the output-channel axis; anything
else is refused with the reason. Bias: int32 with scale ``float32(s_x * s_w[c])`` and zero point
0. Multipliers: ``golden.quantize_multiplier`` of ``double(s_x) * double(s_w[c]) /
double(s_y)``, exactly as TFLite derives them (``multiplier="tflite"``), or of onnxruntime's
float32 ``s_x * s_w[c] / s_y`` (``multiplier="onnxruntime"``, which onnxruntime's float
requantization uses).
"""

from __future__ import annotations

import numpy as np

import golden
from golden.hostops import ONNX_QTYPES, QLinearQuant
from qmac.model.onnx_graph import OnnxGraph, OnnxImportError

__all__ = ["MULTIPLIERS", "activation_quant", "weight_values", "bias_values", "multipliers"]

MULTIPLIERS = ("tflite", "onnxruntime")
_BIAS_RTOL = 1e-6


def _scalar(a: np.ndarray) -> bool:
    return a.size == 1


def activation_quant(graph: OnnxGraph, scale: str, zero_point: str | None, node,
                     what: str = "tensor") -> QLinearQuant:
    """Per-tensor quantization from a (scale, zero point) input pair of ``node``.

    Raises
    ------
    OnnxImportError
        Non-constant or non-scalar parameters, or an element type other than int8/uint8.
    """
    s = graph.const(scale, f"{what} scale", node)
    if not _scalar(s):
        raise OnnxImportError(f"{graph.label(node)}: {what} scale {scale!r} must be one value "
                              f"(per-tensor activations), not shape {s.shape}")
    if zero_point:
        z = graph.const(zero_point, f"{what} zero point", node)
        dtype = z.dtype.name
        if not _scalar(z):
            raise OnnxImportError(f"{graph.label(node)}: {what} zero point {zero_point!r} must "
                                  f"be one value, not shape {z.shape}")
        zp = int(z.reshape(()))
    else:
        dtype, zp = "uint8", 0  # ONNX's default zero point
    if dtype not in ONNX_QTYPES:
        raise OnnxImportError(f"{graph.label(node)}: {what} is {dtype}; qmac runs int8 and uint8 "
                              "activations")
    return QLinearQuant(float(s.reshape(())), zp, dtype)


def weight_values(graph: OnnxGraph, w: str, scale: str, zero_point: str | None, node,
                  axis: int, cout: int) -> tuple[np.ndarray, np.ndarray]:
    """The weights and their per-channel scales, checked to be per-channel symmetric int8.

    Parameters
    ----------
    w, scale, zero_point : str
        Tensor names (the DequantizeLinear inputs, or the QLinear op's).
    axis : int
        The output-channel axis of ``w`` as stored (0 for OIHW and Gemm ``transB=1``).
    cout : int
        Number of output channels.

    Returns
    -------
    w : int64 ndarray, shape as stored
    scales : (cout,) float32 ndarray
    """
    rule = (f"weights {w!r} must be per-channel symmetric int8 (int8 values, zero points all "
            f"0, one scale per output channel on axis {axis}: quantize_static(..., "
            "per_channel=True, weight_type=QuantType.QInt8))")
    wv = graph.const(w, "weights", node)
    if wv.dtype != np.int8:
        raise OnnxImportError(f"{graph.label(node)}: {rule}; found {wv.dtype} weights")
    s = np.asarray(graph.const(scale, "weight scale", node), dtype=np.float32).reshape(-1)
    if s.size != cout:
        kind = "one scale (per-tensor)" if s.size == 1 else f"{s.size} scales"
        raise OnnxImportError(f"{graph.label(node)}: {rule}; found {kind} for {cout} channels")
    if zero_point:
        z = graph.const(zero_point, "weight zero point", node)
        if z.dtype != np.int8 or np.any(z != 0):
            nz = "" if z.dtype != np.int8 else f" {int(z.reshape(-1)[np.argmax(z != 0)])}"
            raise OnnxImportError(f"{graph.label(node)}: {rule}; found {z.dtype} zero point{nz}")
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise OnnxImportError(f"{graph.label(node)}: weight scales must be finite and > 0")
    return wv.astype(np.int64), s


def bias_values(graph: OnnxGraph, b: str | None, x: QLinearQuant, w_scale: np.ndarray, node,
                scale: str | None = None, zero_point: str | None = None) -> np.ndarray:
    """int32 bias (zeros when absent), checked against the scale ``float32(s_x * s_w[c])``.

    ``scale``/``zero_point`` are the bias DequantizeLinear's (QDQ); a QLinear op's bias has the
    implicit scale.
    """
    cout = w_scale.size
    if not b:
        return np.zeros(cout, dtype=np.int64)
    bv = graph.const(b, "bias", node)
    if bv.dtype != np.int32 or bv.size != cout:
        raise OnnxImportError(f"{graph.label(node)}: bias {b!r} must be {cout} int32 values "
                              f"(quantized with scale s_x * s_w), not {bv.size} {bv.dtype}")
    if scale:
        want = x.scale32 * w_scale
        got = np.asarray(graph.const(scale, "bias scale", node), np.float32).reshape(-1)
        got = np.broadcast_to(got, want.shape)
        if not np.allclose(got, want, rtol=_BIAS_RTOL, atol=0):
            c = int(np.argmax(~np.isclose(got, want, rtol=_BIAS_RTOL, atol=0)))
            raise OnnxImportError(
                f"{graph.label(node)}: bias {b!r} scale {float(got[c])!r} (channel {c}) is not "
                f"input scale x weight scale = {float(want[c])!r}"
            )
        if zero_point:
            z = graph.const(zero_point, "bias zero point", node)
            if np.any(z != 0):
                raise OnnxImportError(f"{graph.label(node)}: bias {b!r} zero point must be 0")
    return bv.reshape(-1).astype(np.int64)


def multipliers(x: QLinearQuant, w_scale: np.ndarray, y: QLinearQuant,
                mode: str = "tflite") -> tuple[np.ndarray, np.ndarray]:
    """Per-channel Q31 ``(m0, shift)`` of ``s_x * s_w[c] / s_y``.

    Parameters
    ----------
    mode : {"tflite", "onnxruntime"}
        ``"tflite"``: the real multiplier in float64 from the float32 scales, as TFLite's
        ``PopulateConvolutionQuantizationParams``. ``"onnxruntime"``: the float32 value that
        onnxruntime's QLinearConv/QGemm compute (``x_scale * w_scale / y_scale`` in float32).
    """
    if mode not in MULTIPLIERS:
        raise ValueError(f"multiplier must be one of {', '.join(MULTIPLIERS)}, not {mode!r}")
    sw = np.asarray(w_scale, dtype=np.float32)
    if mode == "tflite":
        real = float(x.scale) * sw.astype(np.float64) / float(y.scale)
    else:
        real = (x.scale32 * sw / y.scale32).astype(np.float64)
    return golden.quantize_multiplier(real)
