"""ONNX per-tensor quantization (int8 and uint8) and onnxruntime's float32 arithmetic on it.

ONNX quantized tensors are int8 or uint8 with a float32 scale and a zero point of the same type.
onnxruntime's CPU kernels (MLAS, x86-64) compute in float32 and round to nearest, ties to even:

- QuantizeLinear: ``rint(clamp(float32(x) / scale, qmin - zp, qmax - zp)) + zp`` (the division
  in float32, ``_mm512_div_ps``/``_mm_div_ps``).
- DequantizeLinear: ``float32(q - zp) * scale`` in float32.
- The requantization of integer accumulators (``MlasRequantizeOutput``, used by QLinearConv,
  QGemm and QLinearGlobalAveragePool): ``rint(clamp(float32(acc) * scale, qmin - zp,
  qmax - zp)) + zp`` with ``scale`` a float32.

:func:`fma_float32` is the exact fused multiply-add that onnxruntime's AVX2 kernels use (the
product and sum rounded once to float32), emulated in float64 without double rounding.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from .._check import check_int, int_array
from .tensor_quant import TensorQuant

__all__ = [
    "ONNX_QTYPES",
    "QLinearQuant",
    "qlinear_tensor",
    "quantize_linear",
    "dequantize_linear",
    "requantize_float32",
    "fma_float32",
]

#: Element types of ONNX quantized activations: (qmin, qmax).
ONNX_QTYPES = {"int8": (-128, 127), "uint8": (0, 255)}


@dataclass(frozen=True)
class QLinearQuant:
    """Scale, zero point and element type of one ONNX quantized tensor.

    Parameters
    ----------
    scale : float
        Finite and > 0; rounded to float32 on construction (what an ONNX scale tensor holds).
    zero_point : int
        In the range of ``dtype``.
    dtype : {"int8", "uint8"}

    Raises
    ------
    TypeError, ValueError
        Naming the parameter and the bad value.
    """

    scale: float
    zero_point: int
    dtype: str = "int8"

    def __post_init__(self) -> None:
        if self.dtype not in ONNX_QTYPES:
            raise ValueError(f"dtype must be one of {', '.join(ONNX_QTYPES)}, not {self.dtype!r}")
        s = self.scale
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (numbers.Real, np.floating)):
            raise TypeError(f"scale must be a real number, not {s!r}")
        with np.errstate(over="ignore"):
            s32 = float(np.float32(s))
        if not math.isfinite(s32) or s32 <= 0.0:
            raise ValueError(f"scale must be finite and > 0 as a float32, not {s!r}")
        object.__setattr__(self, "scale", s32)
        lo, hi = ONNX_QTYPES[self.dtype]
        object.__setattr__(self, "zero_point", check_int("zero_point", self.zero_point, lo, hi))

    @property
    def qmin(self) -> int:
        return ONNX_QTYPES[self.dtype][0]

    @property
    def qmax(self) -> int:
        return ONNX_QTYPES[self.dtype][1]

    @property
    def offset(self) -> int:
        """What the int8 form subtracts from values and zero point: 128 for uint8, else 0."""
        return 128 if self.dtype == "uint8" else 0

    @property
    def scale32(self) -> np.float32:
        return np.float32(self.scale)

    def to_int8(self) -> TensorQuant:
        """The same tensor as int8: uint8 values and zero point minus 128 (exact)."""
        return TensorQuant(self.scale, self.zero_point - self.offset)


def qlinear_tensor(name: str, value: object, q: QLinearQuant) -> np.ndarray:
    """``value`` as int64 after checking it holds integers in the range of ``q.dtype``."""
    arr = int_array(name, value)
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < q.qmin or hi > q.qmax:
            bad = lo if lo < q.qmin else hi
            raise ValueError(f"{name} must hold {q.dtype} values in [{q.qmin}, {q.qmax}], "
                             f"found {bad}")
    return arr


def quantize_linear(x: object, q: QLinearQuant) -> np.ndarray:
    """QuantizeLinear float32 -> int8/uint8 as onnxruntime computes it.

    Parameters
    ----------
    x : float ndarray
        Taken as float32 (the op's input type).
    q : QLinearQuant

    Returns
    -------
    int64 ndarray, shape of ``x``, values in ``[q.qmin, q.qmax]``

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point ndarray.
    ValueError
        If ``x`` holds a NaN.
    """
    if not isinstance(q, QLinearQuant):
        raise TypeError(f"q must be a QLinearQuant, not {type(q).__name__}")
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(f"x must be a floating-point ndarray, not "
                        f"{x.dtype if isinstance(x, np.ndarray) else type(x).__name__}")
    if np.isnan(x).any():
        raise ValueError("x must not hold NaN")
    with np.errstate(over="ignore"):
        v = x.astype(np.float32) / q.scale32
    v = np.clip(v, np.float32(q.qmin - q.zero_point), np.float32(q.qmax - q.zero_point))
    return np.rint(v).astype(np.int64) + q.zero_point


def dequantize_linear(v: object, q: QLinearQuant) -> np.ndarray:
    """DequantizeLinear int8/uint8 -> float32: ``float32(v - zp) * scale``.

    Parameters
    ----------
    v : int ndarray
        Values in the range of ``q.dtype``.
    q : QLinearQuant

    Returns
    -------
    float32 ndarray, shape of ``v``
    """
    if not isinstance(q, QLinearQuant):
        raise TypeError(f"q must be a QLinearQuant, not {type(q).__name__}")
    va = qlinear_tensor("v", v, q)
    # v - zp has at most 9 bits: exact in float32, so one float32 multiply, correctly rounded.
    return (va - q.zero_point).astype(np.float32) * q.scale32


def requantize_float32(
    acc: object, scale: object, zero_point: int, qmin: int, qmax: int
) -> np.ndarray:
    """``MlasRequantizeOutput``: integer accumulators to int8/uint8 with a float32 scale.

    Parameters
    ----------
    acc : (..., C) int ndarray
        int32 accumulators (bias included).
    scale : float or (C,) array_like
        Per-tensor or per-channel float32 multipliers (``s_x * s_w / s_y`` in float32).
    zero_point, qmin, qmax : int
        Output zero point and type range.

    Returns
    -------
    int64 ndarray, shape of ``acc``
    """
    a = int_array("acc", acc)
    s = np.asarray(scale, dtype=np.float32)
    v = a.astype(np.float32) * s  # int32 -> float32 rounds ties to even, as cvtdq2ps
    v = np.clip(v, np.float32(qmin - zero_point), np.float32(qmax - zero_point))
    return np.rint(v).astype(np.int64) + int(zero_point)


def fma_float32(a: object, b: object, c: object) -> np.ndarray:
    """``float32(a * b + c)`` rounded once (ties to even), as the FMA instruction computes it.

    Exact when ``a * b`` is exact in float64 (true for ``a`` an integer below 2^29 in magnitude
    and ``b`` a float32, the only use here): the float64 sum is corrected for the one case where
    rounding it to float32 would round twice, a float64 sum lying exactly halfway between two
    float32 values while the exact sum does not.

    Parameters
    ----------
    a, b, c : float32 array_like
        Broadcast against each other.

    Returns
    -------
    float32 ndarray
    """
    a32, b32, c32 = (np.asarray(v, np.float32) for v in (a, b, c))
    shape = np.broadcast_shapes(a32.shape, b32.shape, c32.shape)
    p = (np.broadcast_to(a32, shape).astype(np.float64) * np.broadcast_to(b32, shape)).ravel()
    c64 = np.broadcast_to(c32, shape).astype(np.float64).ravel()
    s = p + c64
    r = s.astype(np.float32)
    # Rounding the float64 sum to float32 drops its low 29 mantissa bits (float32-normal range);
    # it can round twice only where those bits are exactly 1000...0 (a float32 halfway point).
    bits = s.view(np.int64) & ((1 << 29) - 1)
    tiny = np.abs(s) < 2.0**-125  # float32 subnormals drop more bits: check them all
    idx = np.flatnonzero((bits == (1 << 28)) | (tiny & (s != 0)))
    if idx.size:
        ps, cs, ss = p[idx], c64[idx], s[idx]
        bv = ss - ps
        err = (ps - (ss - bv)) + (cs - bv)  # TwoSum: the exact error of the float64 addition
        rs = r[idx]
        r64 = rs.astype(np.float64)
        toward = np.where(ss > r64, np.float32(np.inf), np.float32(-np.inf)).astype(np.float32)
        other = np.nextafter(rs, toward)
        halfway = (r64 != ss) & (ss == (r64 + other.astype(np.float64)) / 2)
        # At a halfway float64 sum float32 chose rs by ties-to-even; the exact sum lies on the
        # side of err, so it belongs to `other` when err points there.
        fix = halfway & (err != 0) & (np.sign(err) == np.sign(other.astype(np.float64) - r64))
        r[idx] = np.where(fix, other, rs)
    return r.reshape(shape)
