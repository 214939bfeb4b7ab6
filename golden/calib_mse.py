"""MSE calibration: the quantization parameters that minimise the mean squared error.

For the values ``x`` of one row (a tensor, or one channel) and parameters ``(S, Z)`` the error is

    MSE(S, Z) = mean_k (x_k - S (clamp(round_half_away(x_k / S) + Z, qmin, qmax) - Z))^2

i.e. ``x - dequantize(quantize(x))`` with ``golden.quantize``'s own rounding (half away from
zero) and clamp to the signed range ``[qmin, qmax] = [-2^(b-1), 2^(b-1) - 1]``. The search is
exhaustive over a grid of candidates:

- scales ``S_m = (m / grid) S_minmax`` for ``m = 1 .. grid``, ``S_minmax`` the minmax scale
  (``max |x| / (2^(b-1) - 1)`` symmetric, ``(max(x, 0) - min(x, 0)) / (2^b - 1)`` asymmetric);
- symmetric (weights): ``Z = 0``;
- asymmetric (activations): ``grid + 1`` zero points per scale, which slide the window of
  ``2^b - 1`` steps from the bottom to the top of the minmax range ``[r0, r1]``:
  ``Z_mg = clamp(round_half_away(qmin - b_mg / S_m), qmin, qmax)`` with
  ``b_mg = r0 + (g / grid) max(r1 - r0 - (2^b - 1) S_m, 0)``, ``g = 0 .. grid``. Each end is
  thus clipped independently (an outlier on one side costs no resolution on the other); for data
  after ReLU every position clamps to ``Z = qmin`` and the search is over the upper end alone.

``(S_grid, Z_grid,0)`` is the minmax pair itself, so the result never has a larger error than
minmax on the calibration data. The smallest error wins, ties to the smaller scale and then the
lower position. A grid rather than a golden-section search because the error is not unimodal
in the scale at low widths (rounding makes it ripple). Every candidate's error is evaluated
exactly from the sorted values, one vectorized pass per scale: the rounding residuals of the
values the candidate leaves inside its range (summed between the two clip points), plus the
clipping error of the values below and above it (from prefix sums of the distances to the
row's extremes). Exact zeros are dropped from a per-tensor search: every candidate represents
0.0 exactly, so they add nothing to any error.

Candidates clip into ``qmin`` as ``golden.quantize`` does, so a symmetric weight can take the
code ``-2^(b-1)`` when its range is clipped (as with ``method="percentile"``).

References: Nagel et al. 2021, "A White Paper on Neural Network Quantization",
arXiv:2106.08295 (quantization range setting: MSE by grid search); Wu et al. 2020, "Integer
Quantization for Deep Learning Inference: Principles and Empirical Evaluation",
arXiv:2004.09602 (activation calibration); Migacz 2017 for the KL criterion it is compared with
(``golden.calib_entropy``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._check import int_range
from .affine import asymmetric_qparams, round_half_away, symmetric_qparams

__all__ = ["DEFAULT_GRID", "grid_alphas", "mse_candidates", "mse_qparams"]

DEFAULT_GRID = 100
_BLOCK_ELEMENTS = 1 << 15


def grid_alphas(grid: int) -> np.ndarray:
    """The candidate factors ``m / grid``, ``m = 1 .. grid`` (the last is exactly 1.0)."""
    return np.arange(1, grid + 1) / grid


def _drop_zeros(x: np.ndarray) -> np.ndarray:
    if x.shape[0] != 1:  # rows would become ragged; per-channel rows are small anyway
        return x
    nz = x[x != 0]
    return nz.reshape(1, -1) if nz.size else x


def _prefix(v: np.ndarray) -> np.ndarray:
    """Prefix sums along axis 1 with a leading 0: ``out[:, j] = sum(v[:, :j])``."""
    out = np.zeros((v.shape[0], v.shape[1] + 1))
    np.cumsum(v, axis=1, out=out[:, 1:])
    return out


def _scaled_residuals(xs: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``q = round_half_away(xs / s)`` and the squared residuals ``(xs - q s)^2``, row-wise.

    Computed in blocks of columns that stay in cache across the passes.
    """
    c, k = xs.shape
    q = np.empty_like(xs)
    res = np.empty_like(xs)
    step = max(1, _BLOCK_ELEMENTS // c)
    sc = s[:, None]
    for k0 in range(0, k, step):
        xb = xs[:, k0 : k0 + step]
        qb = round_half_away(xb / sc)  # quantize()'s operations, in its order
        q[:, k0 : k0 + step] = qb
        qb *= sc  # ... and dequantize()'s: (q - Z) S, with q - Z = qb inside the range
        np.subtract(xb, qb, out=qb)
        np.square(qb, out=res[:, k0 : k0 + step])
    return q, res


def _sums_before(v: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``out[c, n] = sum(v[c, :j[c, n]])`` for a few indices per row.

    One pass over ``v`` (segment sums between the sorted distinct indices, then a short
    cumulative sum) instead of a full prefix sum, which numpy does not vectorize.
    """
    c, k = v.shape
    flat = np.concatenate([v, np.zeros((c, 1))], axis=1).ravel()  # index k of a row is valid
    base = (np.arange(c) * (k + 1))[:, None]
    keys = np.unique(np.concatenate([base, base + j], axis=1))  # every row's start included
    seg = np.add.reduceat(flat, keys)
    before = np.cumsum(seg) - seg  # sum of flat[:key] for each key
    return before[np.searchsorted(keys, base + j)] - before[np.searchsorted(keys, base)]


def _count_below(q: np.ndarray, t: np.ndarray, side: str) -> np.ndarray:
    """Per row, how many of the sorted integers ``q[c]`` are < ``t[c, n]`` (side "left") or
    <= it ("right")."""
    c, k = q.shape
    if c == 1:
        return np.searchsorted(q[0], t[0], side=side)[None, :]
    span = 2.0 * (np.abs(q).max() + np.abs(t).max() + 1.0)
    off = (np.arange(c) * span)[:, None]  # keeps rows apart in one sorted array (exact integers)
    idx = np.searchsorted((q + off).ravel(), (t + off).ravel(), side=side)
    return idx.reshape(t.shape) - (np.arange(c) * k)[:, None]


def _scan(x: np.ndarray, bits: int, grid: int, symmetric: bool) -> Iterator[tuple]:
    """Yield ``(m, s, z, err)`` per candidate scale: (C,), (C, P), (C, P) (module docstring).

    ``err`` is in units of ``4^expo`` per row, ``2^expo`` the power of two that brings
    ``max |x|`` to [0.5, 1).
    """
    lo, hi = int_range(bits)
    # search on x / 2^e with max |x| / 2^e in [0.5, 1): every step below scales exactly by
    # powers of two, so the choice is the same, and squares cannot overflow
    _, expo = np.frexp(np.abs(x).max(axis=1))
    x = np.ldexp(x, -expo[:, None])
    if symmetric:
        s_mm, _ = symmetric_qparams(np.abs(x).max(axis=1), bits)
    else:
        r0, r1 = np.minimum(x.min(axis=1), 0.0), np.maximum(x.max(axis=1), 0.0)
        s_mm, _ = asymmetric_qparams(r0, r1, bits)
        width = r1 - r0
        pos = np.arange(grid + 1) / grid
    xs = np.sort(_drop_zeros(x), axis=1)
    c, k = xs.shape
    rows = np.arange(c)[:, None]
    # clipped values are summed as distances to the row's extremes, so the terms stay small
    v = xs - xs[:, :1]
    u = xs[:, -1:] - xs
    v1, v2 = _prefix(v), _prefix(v * v)
    u1, u2 = (t[:, -1:] - t for t in (_prefix(u), _prefix(u * u)))  # sums from index j on
    for m, alpha in enumerate(grid_alphas(grid)):
        s = alpha * s_mm
        q, res = _scaled_residuals(xs, s)  # q is sorted like xs: rounding is monotone
        if symmetric:
            z = np.zeros((c, 1))
        else:
            b = r0[:, None] + pos[None, :] * np.maximum(width - (hi - lo) * s, 0.0)[:, None]
            z = np.clip(round_half_away(lo - b / s[:, None]), lo, hi)
        j0 = _count_below(q, lo - z, "left")  # clipped to qmin: q + z < qmin
        j1 = _count_below(q, hi - z, "right")  # not clipped to qmax: q + z <= qmax
        d = (lo - z) * s[:, None] - xs[:, :1]
        e = xs[:, -1:] - (hi - z) * s[:, None]
        inner = _sums_before(res, np.concatenate([j0, j1], axis=1))
        p = z.shape[1]
        err = (
            inner[:, p:]
            - inner[:, :p]
            + (v2[rows, j0] - 2.0 * d * v1[rows, j0] + j0 * d * d)
            + (u2[rows, j1] - 2.0 * e * u1[rows, j1] + (k - j1) * e * e)
        )
        yield m, np.ldexp(s, expo), z.astype(np.int64), err  # err in units of 4^expo


def mse_candidates(
    x: np.ndarray, bits: int, grid: int, symmetric: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every candidate of the grid (module docstring) with its summed squared error.

    Parameters
    ----------
    x : (C, K) float64 ndarray, finite
    bits : int
    grid : int
    symmetric : bool

    Returns
    -------
    scale : (C, grid) float64 ndarray
        ``S_m`` per row.
    zero_point : (C, grid, P) int64 ndarray
        ``P = 1`` (zeros) symmetric, ``grid + 1`` asymmetric.
    sq_error : (C, grid, P) float64 ndarray
        ``sum_k (x_k - dequantize(quantize(x_k)))^2`` over the row, squared real units (0 for an
        all-zero row).
    """
    out = list(_scan(x, bits, grid, symmetric))
    scale, zp, err = (np.stack([t[i] for t in out], axis=1) for i in (1, 2, 3))
    _, expo = np.frexp(np.abs(x).max(axis=1))
    return scale, zp, np.ldexp(err, 2 * expo[:, None, None])


def mse_qparams(
    x: np.ndarray, bits: int, grid: int, symmetric: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Scale and zero point per row with the smallest quantization MSE.

    Parameters
    ----------
    x : (C, K) float64 ndarray, finite
    bits : int
    grid : int
    symmetric : bool

    Returns
    -------
    scale : (C,) float64 ndarray
    zero_point : (C,) int64 ndarray
        An all-zero row gets minmax's ``(1.0, 0)``.
    """
    c = x.shape[0]
    rows = np.arange(c)
    best_err = np.full(c, np.inf)
    best_s, best_z = np.ones(c), np.zeros(c, dtype=np.int64)
    for _, s, z, err in _scan(x, bits, grid, symmetric):
        g = np.argmin(err, axis=1)  # first minimum: the lower position
        e = err[rows, g]
        better = e < best_err  # strict: ties keep the smaller scale
        best_err = np.where(better, e, best_err)
        best_s = np.where(better, s, best_s)
        best_z = np.where(better, z[rows, g], best_z)
    dead = ~(np.abs(x).max(axis=1) > 0)
    return np.where(dead, 1.0, best_s), np.where(dead, 0, best_z).astype(np.int64)
