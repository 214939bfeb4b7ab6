"""The affine quantizer's shared rules: its rounding and the parameters of a real range.

Both ``quantize`` and the calibration searches (which evaluate many candidate ranges) use these,
so a range chosen by a search quantizes exactly as the integer path does.
"""

from __future__ import annotations

import numpy as np

from ._check import int_range

__all__ = ["round_half_away", "symmetric_qparams", "asymmetric_qparams"]


def round_half_away(v: np.ndarray) -> np.ndarray:
    """Round float64 to the nearest integer, ties away from zero (std::round)."""
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def symmetric_qparams(amax: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Scale and zero point of the symmetric range ``[-amax, amax]``.

    Parameters
    ----------
    amax : float ndarray, any shape, >= 0
    bits : int
        Signed width, 2..16 (checked by the caller).

    Returns
    -------
    scale : float64 ndarray, shape of ``amax``
        ``amax / (2^(bits-1) - 1)``; 1.0 where that is 0 (an all-zero range: any scale works).
    zero_point : int64 ndarray of zeros, shape of ``amax``
    """
    _, hi = int_range(bits)
    scale = np.asarray(amax, dtype=np.float64) / hi
    scale = np.where(scale > 0, scale, 1.0)
    return scale, np.zeros(scale.shape, dtype=np.int64)


def asymmetric_qparams(
    rmin: np.ndarray, rmax: np.ndarray, bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """Scale and nudged zero point of the range ``[rmin, rmax]`` widened to include 0.

    Parameters
    ----------
    rmin, rmax : float ndarray, same shape
    bits : int
        Signed width, 2..16 (checked by the caller).

    Returns
    -------
    scale : float64 ndarray
        ``(rmax - rmin) / (2^bits - 1)`` after widening; 1.0 where that is 0.
    zero_point : int64 ndarray
        ``clamp(round_half_away(qmin - rmin / scale), qmin, qmax)`` so that 0.0 is exact; 0 where
        the range is all zero.
    """
    lo, hi = int_range(bits)
    rmin = np.minimum(rmin, 0.0)
    rmax = np.maximum(rmax, 0.0)
    scale = (rmax - rmin) / (hi - lo)
    ok = scale > 0  # else all zero (or subnormal): scale 1, zero point 0
    scale = np.where(ok, scale, 1.0)
    zp = np.where(ok, np.clip(round_half_away(lo - rmin / scale), lo, hi), 0).astype(np.int64)
    return scale, zp
