"""ONNX pooling on quantized NHWC tensors: QLinearGlobalAveragePool as onnxruntime computes it, and
MaxPool with ONNX's explicit pads and dilations.

QLinearGlobalAveragePool (com.microsoft; onnxruntime also fuses DequantizeLinear ->
GlobalAveragePool -> QuantizeLinear into it) sums each channel exactly, subtracts
``z_x * n`` (n = H * W), and requantizes in float32 (``MlasQLinearGlobalAveragePool``)::

    scale = s_x / (s_y * float(n))                     float32
    y     = rint(clamp(float(sum - z_x * n) * scale, qmin - z_y, qmax - z_y)) + z_y

onnxruntime refuses ``scale`` below 2^-32 or from 256 up, and images of 2^24 pixels or more.

MaxPool keeps the quantization; a padded tap never wins (ONNX pads MaxPool with -inf), so the
result is the largest value of each window's taps inside the image. The same integers for int8
and uint8 (the order of the values is that of their real values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._check import check_int, int_array
from .onnx_quant import QLinearQuant, qlinear_tensor

__all__ = [
    "QLinearGlobalAveragePoolParams",
    "qlinear_global_average_pool_params",
    "qlinear_global_average_pool",
    "max_pool_output_size",
    "onnx_max_pool",
]

_MAX_IMAGE = 1 << 24


@dataclass(frozen=True)
class QLinearGlobalAveragePoolParams:
    """Quantization and float32 scale of one QLinearGlobalAveragePool.

    Attributes
    ----------
    x, y : QLinearQuant
        Input and output (one element type).
    image_size : int
        H * W of the input.
    scale : float
        ``s_x / (s_y * float(image_size))`` in float32.
    """

    x: QLinearQuant
    y: QLinearQuant
    image_size: int
    scale: float


def qlinear_global_average_pool_params(
    x: QLinearQuant, y: QLinearQuant, image_size: int
) -> QLinearGlobalAveragePoolParams:
    """The op's constants, checked as onnxruntime checks them.

    Raises
    ------
    TypeError
        If a quantization is not a QLinearQuant or ``image_size`` not an integer.
    ValueError
        Different element types, ``image_size`` outside [1, 2^24), or a scale outside
        [2^-32, 256) (onnxruntime: "parameter out of computation range").
    """
    for name, q in (("x", x), ("y", y)):
        if not isinstance(q, QLinearQuant):
            raise TypeError(f"{name} must be a QLinearQuant, not {type(q).__name__}")
    if x.dtype != y.dtype:
        raise ValueError(f"x and y must have one element type, not {x.dtype} and {y.dtype}")
    n = check_int("image_size", image_size, 1, _MAX_IMAGE - 1)
    scale = x.scale32 / (y.scale32 * np.float32(n))
    if not 2.0**-32 <= float(scale) < 256.0:
        raise ValueError(f"s_x / (s_y * image_size) = {float(scale)!r} is outside [2^-32, 256), "
                         "onnxruntime's computation range for QLinearGlobalAveragePool")
    return QLinearGlobalAveragePoolParams(x, y, n, float(scale))


def qlinear_global_average_pool(
    x: object, params: QLinearGlobalAveragePoolParams
) -> np.ndarray:
    """Mean over H and W, requantized in float32.

    Parameters
    ----------
    x : (N, H, W, C) int ndarray
        Stored values of ``params.x``'s type, H * W = ``params.image_size``.
    params : QLinearGlobalAveragePoolParams

    Returns
    -------
    (N, 1, 1, C) int64 ndarray
    """
    if not isinstance(params, QLinearGlobalAveragePoolParams):
        raise TypeError(f"params must be QLinearGlobalAveragePoolParams, not "
                        f"{type(params).__name__}")
    xa = qlinear_tensor("x", x, params.x)
    if xa.ndim != 4 or xa.shape[1] * xa.shape[2] != params.image_size:
        raise ValueError(f"x must have shape (N, H, W, C) with H * W = {params.image_size}, not "
                         f"{xa.shape}")
    acc = xa.sum(axis=(1, 2), keepdims=True) - params.x.zero_point * params.image_size
    y = params.y
    v = acc.astype(np.float32) * np.float32(params.scale)
    v = np.clip(v, np.float32(y.qmin - y.zero_point), np.float32(y.qmax - y.zero_point))
    return np.rint(v).astype(np.int64) + y.zero_point


def max_pool_output_size(size: int, kernel: int, stride: int, pad_total: int,
                         dilation: int = 1) -> int:
    """ONNX MaxPool output length (``ceil_mode=0``): floor((in + pads - span) / stride) + 1."""
    span = (kernel - 1) * dilation + 1
    return (size + pad_total - span) // stride + 1


def onnx_max_pool(
    x: object,
    kernel: tuple[int, int],
    strides: tuple[int, int] = (1, 1),
    pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    dilations: tuple[int, int] = (1, 1),
) -> np.ndarray:
    """MaxPool of an NHWC integer tensor, ONNX geometry (``ceil_mode=0``).

    Parameters
    ----------
    x : (N, H, W, C) int ndarray
    kernel, strides, dilations : (int, int)
        (height, width), each >= 1.
    pads : (top, left, bottom, right)
        ONNX order ``[h_begin, w_begin, h_end, w_end]``, each >= 0 and below the kernel span.

    Returns
    -------
    (N, OH, OW, C) int64 ndarray

    Raises
    ------
    ValueError
        Bad geometry (naming the parameter), or no output.
    """
    xa = int_array("x", x, ndim=4)
    kh, kw = (check_int("kernel", k, 1) for k in kernel)
    sh, sw = (check_int("strides", s, 1) for s in strides)
    dh, dw = (check_int("dilations", d, 1) for d in dilations)
    pt, pl, pb, pr = (check_int("pads", p, 0) for p in pads)
    span_h, span_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if max(pt, pb) >= span_h or max(pl, pr) >= span_w:
        raise ValueError(f"pads {tuple(pads)} must be smaller than the kernel span "
                         f"({span_h}, {span_w})")
    n, h, w, c = xa.shape
    oh = max_pool_output_size(h, kh, sh, pt + pb, dh)
    ow = max_pool_output_size(w, kw, sw, pl + pr, dw)
    if oh < 1 or ow < 1:
        raise ValueError(f"kernel {(kh, kw)} leaves no output on input {(h, w)} with pads "
                         f"{tuple(pads)}")
    floor = int(xa.min()) - 1 if xa.size else 0  # below every value: a pad never wins
    xp = np.full((n, h + pt + pb, w + pl + pr, c), floor, dtype=np.int64)
    xp[:, pt:pt + h, pl:pl + w, :] = xa
    win = sliding_window_view(xp, (span_h, span_w), axis=(1, 2))
    win = win[:, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, :, ::dh, ::dw]
    return win.max(axis=(-2, -1))
