"""AVERAGE_POOL_2D and MAX_POOL_2D on int8 NHWC tensors (reference_integer_ops/pooling.h).

Geometry is TFLite's ``ComputePaddingHeightWidth``: SAME gives ``ceil(in / stride)`` outputs and
``total = max((out - 1) * stride + filter - in, 0)`` padded pixels, ``total // 2`` before (the
extra one after); VALID gives ``(in + stride - filter) // stride``. Padded taps are not counted:
the window is clipped to the image. The average sums the raw int8 values (input and output share
scale and zero point) and divides by the number of taps, rounding half away from zero:
``(acc + n/2) / n`` for acc > 0, ``(acc - n/2) / n`` otherwise, in C integer division. Both
clamp to the fused activation's range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._check import pair
from .fused_activation import activation_range
from .tensor_quant import INT8_MIN, TensorQuant, check_quant, int8_tensor

__all__ = ["PoolParams", "pool_params", "pool_geometry", "average_pool_2d", "max_pool_2d"]

PADDINGS = ("SAME", "VALID")
_SCALE_TOLERANCE = 1.0e-6  # TFLite's TFLITE_DCHECK_LE(|s_in - s_out|, 1e-6) in pooling.cc


@dataclass(frozen=True)
class PoolParams:
    """TFLite's ``PoolParams`` for int8 pooling (build with :func:`pool_params`).

    Attributes
    ----------
    filter_hw, stride_hw : (int, int)
    padding : {"SAME", "VALID"}
    act_min, act_max : int
        Fused activation clamp.
    """

    filter_hw: tuple[int, int]
    stride_hw: tuple[int, int]
    padding: str
    act_min: int
    act_max: int


def pool_params(
    input: TensorQuant,
    output: TensorQuant,
    filter_size: object,
    stride: object,
    padding: str,
    activation: str = "NONE",
) -> PoolParams:
    """Pooling parameters from the op's options and its tensors' quantization.

    Parameters
    ----------
    input, output : TensorQuant
        Must be equal (zero points equal, scales within 1e-6), as TFLite's kernels assume.
    filter_size, stride : int or (int, int)
        (height, width), each >= 1.
    padding : {"SAME", "VALID"}
    activation : {"NONE", "RELU", "RELU6", "RELU_N1_TO_1"}

    Raises
    ------
    TypeError, ValueError
        Naming the parameter and the bad value.
    """
    check_quant("input", input)
    check_quant("output", output)
    if input.zero_point != output.zero_point or abs(input.scale - output.scale) > _SCALE_TOLERANCE:
        raise ValueError(
            f"pooling needs equal input and output quantization (TFLite rescales nothing), not "
            f"input {input} and output {output}"
        )
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {', '.join(PADDINGS)}, not {padding!r}")
    act_min, act_max = activation_range(activation, output)
    return PoolParams(pair("filter_size", filter_size), pair("stride", stride), padding,
                      act_min, act_max)


def pool_geometry(
    in_hw: tuple[int, int], params: PoolParams
) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((out_h, out_w), (pad_top, pad_left))`` as TFLite's ComputePaddingHeightWidth.

    Raises
    ------
    ValueError
        If VALID padding leaves no output (filter larger than the input).
    """
    out, before = [], []
    for size, f, s, axis in zip(in_hw, params.filter_hw, params.stride_hw, ("height", "width"),
                                strict=True):
        n = -(-size // s) if params.padding == "SAME" else (size + s - f) // s
        if n < 1:
            raise ValueError(
                f"filter {axis} {f} leaves no output on input {axis} {size} with "
                f"{params.padding} padding and stride {s}"
            )
        out.append(n)
        before.append(max((n - 1) * s + f - size, 0) // 2)
    return (out[0], out[1]), (before[0], before[1])


def _windows(x: np.ndarray, params: PoolParams, fill: int) -> tuple[np.ndarray, np.ndarray]:
    """Padded (fill) windows (N, OH, OW, C, FH, FW) and the tap mask windows (OH, OW, FH, FW)."""
    _, h, w, _ = x.shape
    (oh, ow), (pt, pl) = pool_geometry((h, w), params)
    (fh, fw), (sh, sw) = params.filter_hw, params.stride_hw
    hp = max((oh - 1) * sh + fh, pt + h)
    wp = max((ow - 1) * sw + fw, pl + w)
    xp = np.full((x.shape[0], hp, wp, x.shape[3]), fill, dtype=np.int64)
    xp[:, pt:pt + h, pl:pl + w, :] = x
    inside = np.zeros((hp, wp), dtype=np.int64)
    inside[pt:pt + h, pl:pl + w] = 1
    win = sliding_window_view(xp, (fh, fw), axis=(1, 2))[:, : (oh - 1) * sh + 1 : sh,
                                                         : (ow - 1) * sw + 1 : sw]
    taps = sliding_window_view(inside, (fh, fw))[: (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw]
    return win, taps


def _check(x: object, params: object, name: str = "x") -> np.ndarray:
    if not isinstance(params, PoolParams):
        raise TypeError(f"params must be PoolParams, not {type(params).__name__}")
    return int8_tensor(name, x, ndim=4)


def average_pool_2d(x: object, params: PoolParams) -> np.ndarray:
    """AVERAGE_POOL_2D.

    Parameters
    ----------
    x : (N, H, W, C) int ndarray
        int8 values.
    params : PoolParams

    Returns
    -------
    (N, OH, OW, C) int64 ndarray
    """
    xa = _check(x, params)
    win, taps = _windows(xa, params, 0)
    acc = win.sum(axis=(-2, -1))
    n = taps.sum(axis=(-2, -1))[None, :, :, None]
    half = n // 2
    avg = np.where(acc > 0, (acc + half) // n, -((half - acc) // n))
    return np.minimum(np.maximum(avg, params.act_min), params.act_max)


def max_pool_2d(x: object, params: PoolParams) -> np.ndarray:
    """MAX_POOL_2D: the largest tap of each window (padding never wins: it is int8's minimum).

    Parameters
    ----------
    x : (N, H, W, C) int ndarray
        int8 values.
    params : PoolParams

    Returns
    -------
    (N, OH, OW, C) int64 ndarray
    """
    xa = _check(x, params)
    win, _ = _windows(xa, params, INT8_MIN)
    out = win.max(axis=(-2, -1))
    return np.minimum(np.maximum(out, params.act_min), params.act_max)
