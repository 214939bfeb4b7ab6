"""MSE calibration: the clipping range that minimises the quantization mean squared error.

For data ``x`` (one row: a tensor, or one channel) and a candidate range with parameters
``(S, Z)`` from the same rules as the integer path (``golden.affine``), the error is

    MSE(S, Z) = mean_k (x_k - S * (clamp(round_half_away(x_k / S) + Z, qmin, qmax) - Z))^2

i.e. ``x - dequantize(quantize(x))`` with ``golden.quantize``'s rounding (half away from zero),
clamp and, for asymmetric ranges, nudged zero point. The search is exhaustive over a grid of
scaled ranges, ``alpha_m = m / grid`` for ``m = 1 .. grid``:

- symmetric (weights): ``[-alpha amax, alpha amax]``, ``amax = max |x|``;
- asymmetric (activations): ``alpha [min(x, 0), max(x, 0)]``; shrinking both ends by the same
  factor keeps the real position of the zero point, so the search is over the scale at the
  minmax zero point (for data after ReLU, over the upper end alone).

A grid rather than a golden-section search because the error is not unimodal in alpha at low
widths (rounding makes it ripple). ``alpha = 1`` is the minmax range itself, so the chosen range
never has a larger error than minmax on the calibration data. Ties go to the smaller range.
Exact zeros are dropped from a per-tensor search: every candidate represents 0.0 exactly, so
they add nothing to any candidate's error.

References: Wu et al. 2020, "Integer Quantization for Deep Learning Inference: Principles and
Empirical Evaluation", arXiv:2004.09602, section 4.2; Nagel et al. 2021, "A White Paper on
Neural Network Quantization", arXiv:2106.08295, section 3.4 (MSE range setting); Migacz 2017
for the contrasting KL criterion (``golden.calib_entropy``).
"""

from __future__ import annotations

import numpy as np

from ._check import int_range
from .affine import asymmetric_qparams, round_half_away, symmetric_qparams

__all__ = ["DEFAULT_GRID", "grid_alphas", "squared_error", "mse_amax", "mse_range"]

DEFAULT_GRID = 100
_BLOCK_ELEMENTS = 1 << 15


def grid_alphas(grid: int) -> np.ndarray:
    """The candidate factors ``m / grid``, ``m = 1 .. grid`` (the last is exactly 1.0)."""
    return np.arange(1, grid + 1) / grid


def squared_error(
    x: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, bits: int
) -> np.ndarray:
    """Sum over each row of ``(x - dequantize(quantize(x)))^2`` for many parameter sets.

    Parameters
    ----------
    x : (C, K) float64 ndarray
    scale : (M, C) float64 ndarray, > 0
    zero_point : (M, C) int ndarray
    bits : int

    Returns
    -------
    (M, C) float64 ndarray
        Squared error summed over the ``K`` values of each row, in squared real units.
    """
    lo, hi = int_range(bits)
    c, k = x.shape
    out = np.zeros(scale.shape)
    # blocks of candidates x values small enough to stay in cache between the passes below
    kstep = min(k, _BLOCK_ELEMENTS)
    mstep = max(1, _BLOCK_ELEMENTS // (kstep * c))
    for m0 in range(0, scale.shape[0], mstep):
        s = scale[m0 : m0 + mstep, :, None]
        z = zero_point[m0 : m0 + mstep, :, None].astype(np.float64)
        for k0 in range(0, k, kstep):
            xb = x[:, k0 : k0 + kstep]
            q = round_half_away(xb / s)  # the operations of quantize(), in its order,
            q += z
            np.clip(q, lo, hi, out=q)
            q -= z  # ... then those of dequantize()
            q *= s
            q -= xb
            out[m0 : m0 + mstep] += np.einsum("mck,mck->mc", q, q)
    return out


def _drop_zeros(x: np.ndarray) -> np.ndarray:
    if x.shape[0] != 1:  # rows would become ragged; per-channel rows are small anyway
        return x
    nz = x[x != 0]
    return nz.reshape(1, -1) if nz.size else x


def mse_amax(x: np.ndarray, bits: int, grid: int) -> np.ndarray:
    """Symmetric clipping threshold per row with the smallest quantization MSE.

    Parameters
    ----------
    x : (C, K) float64 ndarray, finite
    bits : int
    grid : int
        Number of candidates.

    Returns
    -------
    (C,) float64 ndarray, ``alpha * max |x[c]|`` for the best ``alpha``
    """
    amax = np.abs(x).max(axis=1)
    cand = grid_alphas(grid)[:, None] * amax[None, :]  # (M, C)
    scale, zp = symmetric_qparams(cand, bits)
    best = np.argmin(squared_error(_drop_zeros(x), scale, zp, bits), axis=0)
    return cand[best, np.arange(x.shape[0])]


def mse_range(x: np.ndarray, bits: int, grid: int) -> tuple[np.ndarray, np.ndarray]:
    """Asymmetric clipping range per row with the smallest quantization MSE.

    Parameters
    ----------
    x : (C, K) float64 ndarray, finite
    bits : int
    grid : int
        Number of candidates.

    Returns
    -------
    rmin, rmax : (C,) float64 ndarrays, ``alpha * (min(x[c], 0), max(x[c], 0))``
    """
    alphas = grid_alphas(grid)[:, None]
    lo = alphas * np.minimum(x.min(axis=1), 0.0)[None, :]
    hi = alphas * np.maximum(x.max(axis=1), 0.0)[None, :]
    scale, zp = asymmetric_qparams(lo, hi, bits)
    best = np.argmin(squared_error(_drop_zeros(x), scale, zp, bits), axis=0)
    cols = np.arange(x.shape[0])
    return lo[best, cols], hi[best, cols]
