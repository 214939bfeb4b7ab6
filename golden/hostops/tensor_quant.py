"""Per-tensor int8 quantization as a .tflite file stores it, and the checks every host op shares.

A .tflite tensor carries ``scale`` as a float32 and ``zero_point`` as an int64. TFLite's kernels
read the float32 and widen it to double where their C++ says so; :class:`TensorQuant` therefore
keeps the float32 value (a Python float holding exactly that float32), so that every multiplier
derived from it is the one TFLite derives.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from .._check import check_int, int_array

__all__ = ["TensorQuant", "INT8_MIN", "INT8_MAX", "int8_tensor", "check_quant"]

INT8_MIN = -128
INT8_MAX = 127


@dataclass(frozen=True)
class TensorQuant:
    """Scale and zero point of one int8 tensor.

    Parameters
    ----------
    scale : float
        Real units per LSB, finite and > 0. Rounded to float32 on construction (that is what a
        .tflite file can hold); :attr:`scale` is that float32 value as a Python float.
    zero_point : int
        In [-128, 127].

    Raises
    ------
    TypeError
        If ``scale`` is not a real number or ``zero_point`` not an integer.
    ValueError
        If ``scale`` is not finite and positive (also after rounding to float32) or
        ``zero_point`` is outside the int8 range.
    """

    scale: float
    zero_point: int

    def __post_init__(self) -> None:
        s = self.scale
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (numbers.Real, np.floating)):
            raise TypeError(f"scale must be a real number, not {s!r}")
        with np.errstate(over="ignore"):
            s32 = float(np.float32(s))
        if not math.isfinite(s32) or s32 <= 0.0:
            raise ValueError(f"scale must be finite and > 0 as a float32, not {s!r}")
        object.__setattr__(self, "scale", s32)
        zp = check_int("zero_point", self.zero_point, INT8_MIN, INT8_MAX)
        object.__setattr__(self, "zero_point", zp)

    @property
    def scale32(self) -> np.float32:
        """The scale as a NumPy float32."""
        return np.float32(self.scale)


def check_quant(name: str, value: object) -> TensorQuant:
    """``value`` if it is a :class:`TensorQuant`, else a TypeError naming ``name``."""
    if not isinstance(value, TensorQuant):
        raise TypeError(f"{name} must be a TensorQuant, not {type(value).__name__}")
    return value


def int8_tensor(name: str, value: object, ndim: int | None = None) -> np.ndarray:
    """``value`` as an int64 ndarray after checking dtype, rank and the int8 range.

    Raises
    ------
    TypeError
        If ``value`` is not an integer ndarray.
    ValueError
        If it has the wrong number of dimensions or a value outside [-128, 127].
    """
    arr = int_array(name, value, ndim)
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < INT8_MIN or hi > INT8_MAX:
            bad = lo if lo < INT8_MIN else hi
            raise ValueError(f"{name} must hold int8 values in [-128, 127], found {bad}")
    return arr
