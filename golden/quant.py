"""Affine quantization: q = clamp(round(r / S) + Z, qmin, qmax), per tensor or per channel.

Rounding is half away from zero (TFLite's TfLiteRound). Signed b-bit ranges for b in 2..16:
qmin = -2^(b-1), qmax = 2^(b-1) - 1. Symmetric parameters (weights) have Z = 0 and use
±(2^(b-1) - 1); asymmetric parameters (activations) make 0.0 exactly representable by rounding
the zero point to an integer inside the range ("nudging"). ``choose_qparams`` calibrates them
from data with one of :data:`METHODS` (docs/CALIBRATION.md).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ._check import check_bits, check_finite, check_int, int_array, int_range
from .affine import asymmetric_qparams, round_half_away, symmetric_qparams
from .calib_entropy import DEFAULT_BINS, entropy_amax, entropy_range
from .calib_mse import DEFAULT_GRID, mse_qparams

__all__ = [
    "quantize",
    "dequantize",
    "QuantParams",
    "choose_qparams",
    "round_half_away",
    "METHODS",
]

METHODS = ("minmax", "percentile", "entropy", "mse")
_MAX_BINS = 1 << 20
_MAX_GRID = 1 << 12


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
    check_finite("r", r)
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


def _check_percentile(percentile: object, symmetric: bool) -> float:
    if isinstance(percentile, (bool, np.bool_)) or not isinstance(percentile, numbers.Real):
        raise TypeError(f"percentile must be a real number, not {percentile!r}")
    if not 0 < float(percentile) <= 100:
        raise ValueError(f"percentile must be in (0, 100], not {percentile!r}")
    if not symmetric and not float(percentile) > 50:
        # the range [P(100 - p), P(p)] is empty (crossed) for p < 50 and a point for p = 50
        raise ValueError(
            f"percentile must be in (50, 100] for an asymmetric range, not {percentile!r}"
        )
    return float(percentile)


def _rows(r: np.ndarray, axis: int | None) -> np.ndarray:
    """``r`` as (C, K): one row per channel along ``axis``, or a single row."""
    if axis is None:
        return r.reshape(1, -1)
    return np.moveaxis(r, axis, 0).reshape(r.shape[axis], -1)


def choose_qparams(
    r: object,
    bits: int = 8,
    *,
    symmetric: bool = False,
    axis: int | None = None,
    method: str = "minmax",
    percentile: float = 99.99,
    bins: int = DEFAULT_BINS,
    grid: int = DEFAULT_GRID,
) -> QuantParams:
    """Calibrate quantization parameters from data.

    Parameters
    ----------
    r : array_like of float
        Calibration data, finite, not empty.
    bits : int
        Signed width, 2..16.
    symmetric : bool
        True: Z = 0 and scale = amax / (2^(bits-1) - 1) (weights). False: range widened to include
        0, scale = (rmax - rmin) / (2^bits - 1), Z = round(qmin - rmin / scale) clamped
        (activations).
    axis : int or None
        Per-channel along this axis (statistics over all other axes).
    method : {"minmax", "percentile", "entropy", "mse"}
        How the range is chosen (docs/CALIBRATION.md):

        - ``"minmax"``: the extremes (``max |r|`` for symmetric).
        - ``"percentile"``: the ``percentile`` / ``100 - percentile`` percentiles of ``r``
          (the ``percentile`` of ``|r|`` for symmetric).
        - ``"entropy"``: TensorRT's KL-divergence threshold over a ``bins``-bin histogram
          (Migacz 2017; ``golden.calib_entropy``).
        - ``"mse"``: of the scales ``m / grid * minmax scale``, ``m = 1 .. grid`` (with Z = 0,
          or with ``grid + 1`` zero points sliding the range across the minmax range), the
          pair with the smallest mean squared quantization error on ``r``
          (``golden.calib_mse``).
    percentile : float
        In (0, 100] for symmetric, in (50, 100] for asymmetric ranges (below 50 the
        two percentiles cross and the range is empty). Checked for every method.
    bins : int
        Histogram bins (per side of zero) for ``"entropy"``, 1..2^20.
    grid : int
        Number of candidate scales (and zero-point positions - 1) for ``"mse"``, 1..4096.

    Returns
    -------
    QuantParams
        scale and zero_point of shape () without ``axis``, (C,) with it. An all-zero range gives
        scale 1.0 and zero point 0.

    Raises
    ------
    TypeError
        A non-integer ``bits``, ``bins`` or ``grid``, a non-string ``method``, a non-real
        ``percentile``.
    ValueError
        An unknown ``method``, a value out of its range, an empty or non-finite ``r``, an
        ``axis`` outside ``r``'s dimensions.
    """
    bits = check_bits("bits", bits)
    if not isinstance(method, str):
        raise TypeError(f"method must be a str, not {method!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not isinstance(symmetric, (bool, np.bool_)):
        raise TypeError(f"symmetric must be a bool, not {symmetric!r}")
    symmetric = bool(symmetric)
    percentile = _check_percentile(percentile, symmetric)
    bins = check_int("bins", bins, 1, _MAX_BINS)
    grid = check_int("grid", grid, 1, _MAX_GRID)
    r = np.asarray(r, dtype=np.float64)
    if r.size == 0:
        raise ValueError(f"r must not be empty, got shape {r.shape}")
    check_finite("r", r)
    axis = _axis(axis, r.ndim)
    red = None if axis is None else tuple(i for i in range(r.ndim) if i != axis)
    shape = () if axis is None else (r.shape[axis],)
    rows = _rows(r, axis)
    if method == "mse":  # searches the scale (and zero point) directly, not a range
        scale, zp = (v.reshape(shape) for v in mse_qparams(rows, bits, grid, symmetric))
    elif symmetric:
        if method == "minmax":
            amax = np.abs(r).max(axis=red)
        elif method == "percentile":
            amax = np.percentile(np.abs(r), percentile, axis=red)
        else:
            amax = entropy_amax(rows, bits, bins).reshape(shape)
        scale, zp = symmetric_qparams(amax, bits)
    else:
        if method == "minmax":
            rmin, rmax = r.min(axis=red), r.max(axis=red)
        elif method == "percentile":
            rmin = np.percentile(r, 100 - percentile, axis=red)
            rmax = np.percentile(r, percentile, axis=red)
        else:
            rmin, rmax = (v.reshape(shape) for v in entropy_range(rows, bits, bins))
        scale, zp = asymmetric_qparams(rmin, rmax, bits)
    return QuantParams(
        np.asarray(scale, dtype=np.float64),
        np.asarray(zp, dtype=np.int64),
        bits,
        axis,
        symmetric,
    )
