"""Exact accumulators of the integer layers: matmul, fully connected, conv2d, depthwise conv2d.

Each ``*_acc`` function returns ``bias + sum w * (x - x_zp)`` as exact int64 (padded taps are
``x_zp``, so they add nothing); :mod:`golden.layers` re-exports them beside the requantized
layers.

Exactness: products are summed in a float32 (float64) BLAS matmul when the layer's own bound
``B = K * max|x - x_zp| * max|w|`` is below 2^24 (2^53), the float's integer range. Each product
and every partial sum, in any order of summation and with or without fused multiply-add, is an
integer of magnitude at most B, which the float represents exactly, so each operation is exact.
Otherwise (wide bit widths) the sum runs in int64, which :func:`check_accumulator` with
acc_bits <= 64 keeps from overflowing. Bias is added afterwards in int64.
"""

from __future__ import annotations

import numpy as np

from ._check import check_bits, check_in_range, check_int, int_array, int_range, pair
from ._conv import conv_core
from .accwidth import check_accumulator
from .geometry import conv_channels, normalize_padding

__all__ = ["matmul_acc", "fully_connected_acc", "conv2d_acc", "depthwise_conv2d_acc"]

_FLOAT32_EXACT = 1 << 24
_FLOAT64_EXACT = 1 << 53


def _operands(
    x: object,
    w: object,
    bias: object,
    x_zp: object,
    *,
    x_ndim: int,
    w_ndim: int,
    a_bits: int,
    w_bits: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    a_bits = check_bits("a_bits", a_bits)
    w_bits = check_bits("w_bits", w_bits)
    x = int_array("x", x, x_ndim)
    w = int_array("w", w, w_ndim)
    lo, hi = int_range(a_bits)
    x_zp = check_int("x_zp", x_zp, lo, hi)
    check_in_range("x", x, lo, hi, f"a_bits={a_bits}")
    wlo, whi = int_range(w_bits)
    check_in_range("w", w, wlo, whi, f"w_bits={w_bits}")
    if bias is not None:
        bias = int_array("bias", bias, 1)
    return x, w, bias, x_zp


def _exact_dtype(x: np.ndarray, w: np.ndarray, x_zp: int, k: int) -> type:
    """The cheapest dtype whose matmul is provably exact for these operands (see module doc)."""
    if x.size == 0 or w.size == 0:
        return np.int64
    xd = max(abs(int(x.max()) - x_zp), abs(int(x.min()) - x_zp))
    wm = max(abs(int(w.max())), abs(int(w.min())))
    bound = k * xd * wm
    if bound < _FLOAT32_EXACT:
        return np.float32
    return np.float64 if bound < _FLOAT64_EXACT else np.int64


def _finish(acc: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    if acc.dtype != np.int64:
        acc = acc.astype(np.int64)  # already exact integers
    if bias is not None:
        acc += bias
    return acc


def _check_bias(bias: np.ndarray | None, channels: int) -> int:
    if bias is None:
        return 0
    if bias.shape != (channels,):
        raise ValueError(
            f"bias must have shape ({channels},) (one per output channel), not {bias.shape}"
        )
    return int(np.abs(bias).max()) if bias.size else 0


def matmul_acc(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    x_zp: int,
    a_bits: int = 8,
    w_bits: int = 8,
    acc_bits: int = 32,
) -> np.ndarray:
    """Exact accumulators of a quantized matrix product.

    Parameters
    ----------
    x : (M, K) int ndarray
        Activations, signed a_bits-bit.
    w : (K, N) int ndarray
        Weights, signed w_bits-bit.
    bias : (N,) int ndarray or None
    x_zp : int
        Activation zero point, signed a_bits-bit.
    a_bits, w_bits : int
        Operand widths (2..16), used for range checks and the accumulator bound.
    acc_bits : int
        Accumulator width; K beyond the safe bound raises.

    Returns
    -------
    (M, N) int64 ndarray
        ``bias[n] + sum_k w[k, n] * (x[m, k] - x_zp)``.

    Raises
    ------
    TypeError
        If x, w or bias is not an integer array.
    ValueError
        On shape mismatch, values out of range or K too large for acc_bits.
    """
    x, w, bias, x_zp = _operands(x, w, bias, x_zp, x_ndim=2, w_ndim=2, a_bits=a_bits, w_bits=w_bits)
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"x has K={x.shape[1]} columns but w has {w.shape[0]} rows (x {x.shape}, w {w.shape})"
        )
    k, n = w.shape
    max_bias = _check_bias(bias, n)
    check_accumulator(k, a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits, max_abs_bias=max_bias)
    dt = _exact_dtype(x, w, x_zp, k)
    acc = (x - x_zp).astype(dt) @ w.astype(dt)
    return _finish(acc, bias)


def fully_connected_acc(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    x_zp: int,
    a_bits: int = 8,
    w_bits: int = 8,
    acc_bits: int = 32,
) -> np.ndarray:
    """Exact accumulators of a fully connected layer: x (B, in), w (out, in) -> (B, out) int64.

    Same checks and parameters as :func:`matmul_acc` with ``w`` transposed (TFLite layout).
    """
    w = int_array("w", w, 2)
    x = int_array("x", x, 2)
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"x has {x.shape[1]} input features but w has {w.shape[1]} (x {x.shape}, w {w.shape})"
        )
    return matmul_acc(x, w.T, bias, x_zp=x_zp, a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits)


def conv2d_acc(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    x_zp: int,
    stride: object = 1,
    padding: object = "VALID",
    dilation: object = 1,
    groups: int = 1,
    a_bits: int = 8,
    w_bits: int = 8,
    acc_bits: int = 32,
) -> np.ndarray:
    """Exact accumulators of a quantized 2-D convolution.

    Parameters
    ----------
    x : (N, H, W, Cin) int ndarray
        NHWC activations, signed a_bits-bit.
    w : (Cout, KH, KW, Cin // groups) int ndarray
        OHWI weights.
    bias : (Cout,) int ndarray or None
    x_zp : int
        Activation zero point; padded taps hold it.
    stride, dilation : int or (h, w)
        At least 1.
    padding : {"SAME", "VALID"} or int or (top, left, bottom, right)
    groups : int
        Cin and Cout divisible by groups; output channel o reads group o // (Cout // groups).
    a_bits, w_bits, acc_bits : int
        See :func:`matmul_acc`.

    Returns
    -------
    (N, OH, OW, Cout) int64 ndarray
    """
    x, w, bias, x_zp = _operands(x, w, bias, x_zp, x_ndim=4, w_ndim=4, a_bits=a_bits, w_bits=w_bits)
    stride = pair("stride", stride)
    dilation = pair("dilation", dilation)
    padding = normalize_padding(padding)
    _, cout, groups = conv_channels(x.shape, w.shape, groups=groups)
    _, kh, kw, cin_g = w.shape
    max_bias = _check_bias(bias, cout)
    k = kh * kw * cin_g
    check_accumulator(k, a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits, max_abs_bias=max_bias)
    dt = _exact_dtype(x, w, x_zp, k)
    acc = conv_core(
        (x - x_zp).astype(dt),
        w.astype(dt),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    )
    return _finish(acc, bias)


def _depthwise_as_grouped(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, int]:
    """Depthwise weights (1, KH, KW, C*mult) as grouped OHWI (C*mult, KH, KW, 1), and C."""
    x = int_array("x", x, 4)
    w = int_array("w", w, 4)
    cin, _, _ = conv_channels(x.shape, w.shape, depthwise=True)
    return w.transpose(3, 1, 2, 0), cin


def depthwise_conv2d_acc(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    x_zp: int,
    stride: object = 1,
    padding: object = "VALID",
    dilation: object = 1,
    a_bits: int = 8,
    w_bits: int = 8,
    acc_bits: int = 32,
) -> np.ndarray:
    """Exact accumulators of a depthwise convolution (TFLite layout).

    Parameters
    ----------
    x : (N, H, W, Cin) int ndarray
    w : (1, KH, KW, Cin * mult) int ndarray
        Output channel ``c * mult + j`` reads input channel ``c``.
    bias : (Cin * mult,) int ndarray or None
    x_zp, stride, padding, dilation, a_bits, w_bits, acc_bits
        As in :func:`conv2d_acc`.

    Returns
    -------
    (N, OH, OW, Cin * mult) int64 ndarray
    """
    w_ohwi, cin = _depthwise_as_grouped(x, w)
    return conv2d_acc(
        x,
        w_ohwi,
        bias,
        x_zp=x_zp,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=cin,
        a_bits=a_bits,
        w_bits=w_bits,
        acc_bits=acc_bits,
    )
