"""Float64 twins of the integer layers, for quantization-error measurements.

Same layouts and geometry arguments as :mod:`golden.layers`; padding is 0.0.
"""

from __future__ import annotations

import numpy as np

from ._check import pair
from ._conv import conv_core
from .geometry import conv_channels, normalize_padding

__all__ = ["matmul_float", "fully_connected_float", "conv2d_float", "depthwise_conv2d_float"]


def _f64(name: str, value: object, ndim: int) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, not shape {a.shape}")
    return a


def _bias(bias: object, channels: int) -> np.ndarray | float:
    if bias is None:
        return 0.0
    b = np.asarray(bias, dtype=np.float64)
    if b.shape != (channels,):
        raise ValueError(f"bias must have shape ({channels},), not {b.shape}")
    return b


def matmul_float(x: object, w: object, bias: object = None) -> np.ndarray:
    """(M, K) @ (K, N) + bias (N,) -> (M, N) float64."""
    x, w = _f64("x", x, 2), _f64("w", w, 2)
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"x has K={x.shape[1]} columns but w has {w.shape[0]} rows")
    return x @ w + _bias(bias, w.shape[1])


def fully_connected_float(x: object, w: object, bias: object = None) -> np.ndarray:
    """x (B, in), w (out, in), bias (out,) -> (B, out) float64."""
    w = _f64("w", w, 2)
    return matmul_float(x, w.T, bias)


def conv2d_float(
    x: object,
    w: object,
    bias: object = None,
    *,
    stride: object = 1,
    padding: object = "VALID",
    dilation: object = 1,
    groups: int = 1,
) -> np.ndarray:
    """x NHWC, w OHWI (Cout, KH, KW, Cin // groups), bias (Cout,) -> (N, OH, OW, Cout) float64."""
    x, w = _f64("x", x, 4), _f64("w", w, 4)
    _, _, groups = conv_channels(x.shape, w.shape, groups=groups)
    out = conv_core(
        x,
        w,
        stride=pair("stride", stride),
        padding=normalize_padding(padding),
        dilation=pair("dilation", dilation),
        groups=groups,
    )
    return out + _bias(bias, w.shape[0])


def depthwise_conv2d_float(
    x: object,
    w: object,
    bias: object = None,
    *,
    stride: object = 1,
    padding: object = "VALID",
    dilation: object = 1,
) -> np.ndarray:
    """x NHWC, w (1, KH, KW, Cin * mult) -> (N, OH, OW, Cin * mult) float64."""
    x, w = _f64("x", x, 4), _f64("w", w, 4)
    cin, _, _ = conv_channels(x.shape, w.shape, depthwise=True)
    return conv2d_float(
        x,
        w.transpose(3, 1, 2, 0),
        bias,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=cin,
    )
