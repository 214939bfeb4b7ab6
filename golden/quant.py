"""Affine quantization: q = clamp(round(r / S) + Z, qmin, qmax), per tensor or per channel.

Rounding is half away from zero (TFLite's TfLiteRound). Signed b-bit ranges for b in 2..16:
qmin = -2^(b-1), qmax = 2^(b-1) - 1. Symmetric parameters (weights) have Z = 0 and use
±(2^(b-1) - 1); asymmetric parameters (activations) make 0.0 exactly representable by rounding
the zero point to an integer inside the range ("nudging").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._check import check_bits, check_int, int_array, int_range

__all__ = ["quantize", "dequantize", "QuantParams", "choose_qparams", "round_half_away"]

METHODS = ("minmax", "percentile")


def round_half_away(v: np.ndarray) -> np.ndarray:
    """Round float64 to the nearest integer, ties away from zero (std::round)."""
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def _channel_shape(
    ndim: int, axis: int | None, name: str, value: np.ndarray, size: int
) -> np.ndarray:
    """Reshape a per-channel parameter so that it broadcasts along ``axis``."""
    if axis is None:
        if value.ndim != 0 and value.size != 1:
            raise ValueError(f"{name} must be a scalar without axis, not shape {value.shape}")
        return value.reshape(())
    if value.ndim == 0:
        return value
    if value.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},) for axis {axis}, not {value.shape}")
    shape = [1] * ndim
    shape[axis] = size
    return value.reshape(shape)


def _axis(axis: object, ndim: int) -> int | None:
    if axis is None:
        return None
    axis = check_int("axis", axis, -ndim if ndim else 0, ndim - 1 if ndim else 0)
    return axis % ndim if ndim else 0


def _scale(scale: object) -> np.ndarray:
    s = np.asarray(scale, dtype=np.float64)
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"scale must be finite and > 0, not {scale!r}")
    return s


def quantize(
    r: object, scale: object, zero_point: object, bits: int = 8, *, axis: int | None = None
) -> np.ndarray:
    """Quantize real values.

    Parameters
    ----------
    r : array_like of float
        Real values, any shape.
    scale : float or (C,) array_like
        Step in real units per LSB, > 0; per channel along ``axis`` if an array.
    zero_point : int or (C,) array_like of int
        In the signed ``bits`` range.
    bits : int
        Signed width, 2..16.
    axis : int or None
        Channel axis of ``r`` for per-channel parameters.

    Returns
    -------
    int64 ndarray, shape of ``r``
    """
    bits = check_bits("bits", bits)
    lo, hi = int_range(bits)
    r = np.asarray(r, dtype=np.float64)
    if not np.all(np.isfinite(r)):
        raise ValueError("r must be finite (found NaN or inf)")
    axis = _axis(axis, r.ndim)
    size = r.shape[axis] if axis is not None else 1
    s = _channel_shape(r.ndim, axis, "scale", _scale(scale), size)
    z = int_array("zero_point", np.asarray(zero_point))
    if z.size and (z.min() < lo or z.max() > hi):
        raise ValueError(f"zero_point must be in [{lo}, {hi}] for bits={bits}, not {zero_point!r}")
    z = _channel_shape(r.ndim, axis, "zero_point", z, size)
    q = round_half_away(r / s) + z
    return np.clip(q, lo, hi).astype(np.int64)


def dequantize(
    q: object, scale: object, zero_point: object, *, axis: int | None = None
) -> np.ndarray:
    """Real values ``(q - zero_point) * scale`` as float64, shape of ``q``."""
    q = int_array("q", np.asarray(q) if not isinstance(q, np.ndarray) else q)
    axis = _axis(axis, q.ndim)
    size = q.shape[axis] if axis is not None else 1
    s = _channel_shape(q.ndim, axis, "scale", _scale(scale), size)
    z = _channel_shape(
        q.ndim, axis, "zero_point", int_array("zero_point", np.asarray(zero_point)), size
    )
    return (q - z).astype(np.float64) * s


@dataclass(frozen=True, eq=False)
class QuantParams:
    """Quantization parameters of one tensor.

    Attributes
    ----------
    scale : float64 ndarray, shape () or (C,)
    zero_point : int64 ndarray, shape of scale
    bits : int
    axis : int or None
        Channel axis for per-channel parameters.
    symmetric : bool
    """

    scale: np.ndarray
    zero_point: np.ndarray
    bits: int
    axis: int | None
    symmetric: bool

    def quantize(self, r: object) -> np.ndarray:
        """Quantize ``r`` with these parameters (int64)."""
        return quantize(r, self.scale, self.zero_point, self.bits, axis=self.axis)

    def dequantize(self, q: object) -> np.ndarray:
        """Dequantize ``q`` with these parameters (float64)."""
        return dequantize(q, self.scale, self.zero_point, axis=self.axis)


def choose_qparams(
    r: object,
    bits: int = 8,
    *,
    symmetric: bool = False,
    axis: int | None = None,
    method: str = "minmax",
    percentile: float = 99.99,
) -> QuantParams:
    """Calibrate quantization parameters from data.

    Parameters
    ----------
    r : array_like of float
        Calibration data.
    bits : int
        Signed width, 2..16.
    symmetric : bool
        True: Z = 0 and scale = amax / (2^(bits-1) - 1) (weights). False: range widened to include
        0, scale = (rmax - rmin) / (2^bits - 1), Z = round(qmin - rmin / scale) clamped
        (activations).
    axis : int or None
        Per-channel along this axis (statistics over all other axes).
    method : {"minmax", "percentile"}
        Range from the extremes or from the ``percentile`` / ``100 - percentile`` percentiles
        (|r| percentile for symmetric).
    percentile : float
        In (50, 100].

    Returns
    -------
    QuantParams
        An all-zero range gives scale 1.0 and zero point 0.
    """
    bits = check_bits("bits", bits)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not 50 < float(percentile) <= 100:
        raise ValueError(f"percentile must be in (50, 100], not {percentile!r}")
    r = np.asarray(r, dtype=np.float64)
    if r.size == 0:
        raise ValueError(f"r must not be empty, got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("r must be finite (found NaN or inf)")
    axis = _axis(axis, r.ndim)
    red = None if axis is None else tuple(i for i in range(r.ndim) if i != axis)
    lo, hi = int_range(bits)
    if symmetric:
        a = np.abs(r)
        amax = a.max(axis=red) if method == "minmax" else np.percentile(a, percentile, axis=red)
        scale = amax / hi
        scale = np.where(scale > 0, scale, 1.0)  # all zero (or subnormal): any scale works
        zp = np.zeros(scale.shape, dtype=np.int64)
    else:
        if method == "minmax":
            rmin, rmax = r.min(axis=red), r.max(axis=red)
        else:
            rmin = np.percentile(r, 100 - percentile, axis=red)
            rmax = np.percentile(r, percentile, axis=red)
        rmin = np.minimum(rmin, 0.0)
        rmax = np.maximum(rmax, 0.0)
        scale = (rmax - rmin) / (hi - lo)
        ok = scale > 0  # else all zero (or subnormal): scale 1, zero point 0
        scale = np.where(ok, scale, 1.0)
        zp = np.where(ok, np.clip(round_half_away(lo - rmin / scale), lo, hi), 0).astype(np.int64)
    return QuantParams(
        np.asarray(scale, dtype=np.float64),
        np.asarray(zp, dtype=np.int64),
        bits,
        axis,
        bool(symmetric),
    )
