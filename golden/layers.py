"""Integer layers: the exact accumulators of :mod:`golden.accumulate` (re-exported here) and the
requantized layers, which follow them with :func:`golden.requantize`, the output zero point and the
clamp (the out_bits range by default)."""

from __future__ import annotations

import numpy as np

from ._check import check_bits, check_int, int_range
from .accumulate import conv2d_acc, depthwise_conv2d_acc, fully_connected_acc, matmul_acc
from .requant import requantize

__all__ = [
    "matmul_acc",
    "matmul",
    "fully_connected_acc",
    "fully_connected",
    "conv2d_acc",
    "conv2d",
    "depthwise_conv2d_acc",
    "depthwise_conv2d",
]


def _requant(
    acc: np.ndarray,
    *,
    y_zp: int,
    m0: object,
    shift: object,
    act_min: int | None,
    act_max: int | None,
    rounding: str,
    mult_bits: int,
    out_bits: int,
) -> np.ndarray:
    out_bits = check_bits("out_bits", out_bits)
    lo, hi = int_range(out_bits)
    y_zp = check_int("y_zp", y_zp, lo, hi)
    act_min = lo if act_min is None else check_int("act_min", act_min, lo, hi)
    act_max = hi if act_max is None else check_int("act_max", act_max, lo, hi)
    return requantize(
        acc,
        m0,
        shift,
        y_zp=y_zp,
        act_min=act_min,
        act_max=act_max,
        rounding=rounding,
        mult_bits=mult_bits,
    )


_REQUANT_DOC = """
    Requantized output: the ``*_acc`` twin followed by :func:`golden.requantize`.

    Parameters
    ----------
    x, w, bias, x_zp, stride, padding, dilation, groups, a_bits, w_bits, acc_bits
        As in the ``*_acc`` twin (layouts, ranges, the accumulator check).
    y_zp : int
        Output zero point, signed out_bits-bit.
    m0, shift : (Cout,) int arrays or ints
        The mult_bits-wide multipliers (``quantize_multiplier(real, mult_bits)``).
    act_min, act_max : int or None
        Output clamp; None is the out_bits range.
    rounding : {"tflite", "single"}
        Double (gemmlowp) or single rounding, see :func:`golden.requantize`.
    mult_bits : int
        Width of m0, 8..32.
    out_bits : int
        Signed output width, 2..16.

    Returns
    -------
    int64 ndarray
        Layout of the ``*_acc`` twin, values in [act_min, act_max].

    Raises
    ------
    TypeError, ValueError
        Naming the parameter and the bad value.
"""


_Pad = str | int | tuple[int, int, int, int]
_Pair = int | tuple[int, int]


def matmul(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    x_zp: int,
    y_zp: int,
    m0: object,
    shift: object,
    act_min: int | None = None,
    act_max: int | None = None,
    rounding: str = "tflite",
    mult_bits: int = 32,
    out_bits: int = 8,
    a_bits: int = 8,
    w_bits: int = 8,
    acc_bits: int = 32,
) -> np.ndarray:
    acc = matmul_acc(x, w, bias, x_zp=x_zp, a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits)
    return _requant(
        acc,
        y_zp=y_zp,
        m0=m0,
        shift=shift,
        act_min=act_min,
        act_max=act_max,
        rounding=rounding,
        mult_bits=mult_bits,
        out_bits=out_bits,
    )


def fully_connected(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    x_zp: int,
    y_zp: int,
    m0: object,
    shift: object,
    act_min: int | None = None,
    act_max: int | None = None,
    rounding: str = "tflite",
    mult_bits: int = 32,
    out_bits: int = 8,
    a_bits: int = 8,
    w_bits: int = 8,
    acc_bits: int = 32,
) -> np.ndarray:
    acc = fully_connected_acc(
        x, w, bias, x_zp=x_zp, a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits
    )
    return _requant(
        acc,
        y_zp=y_zp,
        m0=m0,
        shift=shift,
        act_min=act_min,
        act_max=act_max,
        rounding=rounding,
        mult_bits=mult_bits,
        out_bits=out_bits,
    )


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    x_zp: int,
    y_zp: int,
    m0: object,
    shift: object,
    stride: _Pair = 1,
    padding: _Pad = "VALID",
    dilation: _Pair = 1,
    groups: int = 1,
    act_min: int | None = None,
    act_max: int | None = None,
    rounding: str = "tflite",
    mult_bits: int = 32,
    out_bits: int = 8,
    a_bits: int = 8,
    w_bits: int = 8,
    acc_bits: int = 32,
) -> np.ndarray:
    acc = conv2d_acc(
        x,
        w,
        bias,
        x_zp=x_zp,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        a_bits=a_bits,
        w_bits=w_bits,
        acc_bits=acc_bits,
    )
    return _requant(
        acc,
        y_zp=y_zp,
        m0=m0,
        shift=shift,
        act_min=act_min,
        act_max=act_max,
        rounding=rounding,
        mult_bits=mult_bits,
        out_bits=out_bits,
    )


def depthwise_conv2d(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    x_zp: int,
    y_zp: int,
    m0: object,
    shift: object,
    stride: _Pair = 1,
    padding: _Pad = "VALID",
    dilation: _Pair = 1,
    act_min: int | None = None,
    act_max: int | None = None,
    rounding: str = "tflite",
    mult_bits: int = 32,
    out_bits: int = 8,
    a_bits: int = 8,
    w_bits: int = 8,
    acc_bits: int = 32,
) -> np.ndarray:
    acc = depthwise_conv2d_acc(
        x,
        w,
        bias,
        x_zp=x_zp,
        stride=stride,
        padding=padding,
        dilation=dilation,
        a_bits=a_bits,
        w_bits=w_bits,
        acc_bits=acc_bits,
    )
    return _requant(
        acc,
        y_zp=y_zp,
        m0=m0,
        shift=shift,
        act_min=act_min,
        act_max=act_max,
        rounding=rounding,
        mult_bits=mult_bits,
        out_bits=out_bits,
    )


for _f, _name in (
    (matmul, "matmul"),
    (fully_connected, "fully_connected"),
    (conv2d, "conv2d"),
    (depthwise_conv2d, "depthwise_conv2d"),
):
    _f.__doc__ = f"Quantized {_name.replace('_', ' ')}." + _REQUANT_DOC
