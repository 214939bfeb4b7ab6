"""Entropy calibration: TensorRT's KL-divergence threshold search over a histogram.

Migacz (2017), "8-bit Inference with TensorRT" (GTC talk S7310). Given a histogram ``h`` of ``B``
bins of width ``w`` over ``[0, top]`` and ``L`` quantized levels, every candidate threshold
``T_i = i w`` for ``i = L .. B`` is scored by the Kullback-Leibler divergence

    KL(P_i || Q_i) = sum_k p_k log(p_k / q_k)        (natural log, nats)

- reference ``P_i = (h_0, ..., h_{i-2}, h_{i-1} + sum_{k >= i} h_k)``: the first ``i`` bins with the
  clipped (outlier) mass folded into the last one;
- candidate ``Q_i``: the first ``i`` bins ``h_0 .. h_{i-1}`` (without the outliers, as in
  Migacz's pseudo-code) merged into ``L`` levels, bin ``k`` into level ``floor(k L / i)``, and
  expanded back: each level's mass is spread evenly over its bins where ``P_i`` is non-zero, and
  bins where ``P_i`` is zero stay zero;
- ``p = P_i / sum P_i``, ``q = Q_i / sum Q_i``; ``KL = inf`` where some ``p_k > 0`` has ``q_k = 0``
  (the last level had no unclipped mass).

The smallest KL wins; ties within ``1e-12`` nats (the rounding of the formula) go to the smaller
threshold. The threshold is the upper edge ``T_i = i w`` of the last kept bin (Migacz's slides
write ``(i + 0.5) w``; the edge is where ``P_i`` actually ends). When ``L >= B`` every candidate
is the identity and the threshold is ``top``: the histogram is too coarse for the width, so pass
more ``bins`` for wide quantizers.

The divergence is evaluated from prefix sums in ``O(L)`` per candidate, vectorized over
candidates and rows:
``KL_i = (sum_k P_k log P_k - sum_j PG_j log(G_j / N_j)) / N - log N + log sum_j G_j``
with ``G_j`` the unclipped mass of level ``j``, ``PG_j`` its mass in ``P_i`` (``G_j`` plus the
outliers for the last level), ``N_j`` its number of non-zero ``P_i`` bins and ``N`` the total
count.

Histogram layouts (exact zeros are left out: every candidate range represents 0.0 exactly, so
they carry no information about the threshold, and their spike in bin 0 would otherwise
dominate the divergence of the first level and pull the threshold down, the reason
pytorch-quantization overwrites bin 0 with bin 1):

- symmetric (weights): ``|x|`` over ``[0, max |x|]``, ``L = 2^(b-1)`` (TensorRT's 128 for 8 bits);
  the range is ``[-T, T]``.
- asymmetric, one sign (``min >= 0``, e.g. after ReLU, or ``max <= 0``): ``|x|`` over
  ``[0, max |x|]`` with ``L = 2^b`` (all codes lie on one side of the zero point); the range is
  ``[0, T]`` (or ``[-T, 0]``).
- asymmetric, both signs: two histograms of ``B`` bins over ``[0, M]``, ``M = max(-min, max)``, one
  of the positive values and one of the magnitudes of the negative ones; the threshold ``T`` is
  shared, each side has ``L = 2^(b-1)`` levels and its own outlier fold, and the divergence is that
  of the two-sided distribution. The range is ``[max(min, -T), min(max, T)]``. The level model is
  a symmetric grid; for strongly skewed data the asymmetric quantizer spends its codes over the
  narrower range, so there the search is an approximation (``method="mse"`` evaluates the actual
  quantizer).

References: Migacz 2017; Wu et al. 2020, "Integer Quantization for Deep Learning Inference:
Principles and Empirical Evaluation", arXiv:2004.09602 (activation calibration: max, entropy,
percentile); Nagel et al. 2021, "A White Paper on Neural Network Quantization",
arXiv:2106.08295 (quantization range setting).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DEFAULT_BINS",
    "row_histograms",
    "kl_divergence_curve",
    "inner_group_terms",
    "entropy_threshold_bin",
    "entropy_amax",
    "entropy_range",
]

DEFAULT_BINS = 2048
TIE_NATS = 1e-12
_CHUNK_ELEMENTS = 1 << 21  # bounds the (sides, rows, candidates, levels) work arrays


def row_histograms(a: np.ndarray, top: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row histograms of non-negative values, binned as ``np.histogram(a[c], bins, (0, t))``.

    Parameters
    ----------
    a : (C, K) float64 ndarray, ``0 <= a[c] <= top[c]``
    top : (C,) float64 ndarray
        Upper edge per row; a row with ``top == 0`` gets an all-zero histogram.
    bins : int

    Returns
    -------
    counts : (C, bins) int64 ndarray
        Exact zeros are not counted.
    edges : (C, bins + 1) float64 ndarray
        ``np.linspace(0, top[c], bins + 1)``.
    """
    c = a.shape[0]
    safe = np.where(top > 0, top, 1.0)
    edges = np.linspace(0.0, safe, bins + 1, axis=-1)
    # np.histogram's own rule: a first guess from the scaled value, then corrected against the
    # edges (the guess can be one off near an edge); the last bin is closed.
    idx = ((a / safe[:, None]) * bins).astype(np.intp)
    np.minimum(idx, bins - 1, out=idx)
    rows = np.arange(c)[:, None]
    idx -= a < edges[rows, idx]
    idx += (a >= edges[rows, idx + 1]) & (idx != bins - 1)
    flat = (idx + rows * bins)[a > 0]
    counts = np.bincount(flat, minlength=c * bins).reshape(c, bins).astype(np.int64)
    return counts, edges


def _with_zero(v: np.ndarray) -> np.ndarray:
    """Prefix sums along the last axis with a leading 0: ``out[..., i] = sum(v[..., :i])``."""
    out = np.zeros(v.shape[:-1] + (v.shape[-1] + 1,), dtype=v.dtype)
    np.cumsum(v, axis=-1, out=out[..., 1:])
    return out


def _xlogx(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(v > 0, v * np.log(v), 0.0)


def _group_term(g: np.ndarray, nz: np.ndarray) -> np.ndarray:
    """``G log(G / N)`` of a level of unclipped mass ``G`` over ``N`` non-zero bins (0 if G = 0)."""
    return g * np.log(np.maximum(g, 0.5) / np.maximum(nz, 0.5))


def inner_group_terms(
    cs: np.ndarray, nzc: np.ndarray, starts: np.ndarray, *, table: bool
) -> np.ndarray:
    """``sum_j G_j log(G_j / N_j)`` over the levels before the last of every candidate.

    Parameters
    ----------
    cs, nzc : (B + 1, M) float64 ndarrays
        Prefix sums (leading 0) of the counts and of the non-zero bins, one column per histogram.
    starts : (n, L + 1) int ndarray
        First bin of each level of each candidate (``starts[:, L]`` = the candidate ``i``).
    table : bool
        True: tabulate the term of every bin interval ``[s, s + len)`` of the lengths that occur
        and sum table entries (cheaper when there are few lengths, i.e. many levels); False:
        compute it for every level of every candidate. The results are identical.

    Returns
    -------
    (n, M) float64 ndarray
    """
    b1, m = cs.shape
    n, lv = starts.shape[0], starts.shape[1] - 2  # levels before the last
    out = np.empty((n, m))
    if table:
        lens = np.diff(starts[:, : lv + 1], axis=1)
        maxlen = int(lens.max()) if lens.size else 0
        tab = np.zeros(((maxlen + 1) * b1, m))
        for ln in range(1, maxlen + 1):
            tab[ln * b1 : ln * b1 + b1 - ln] = _group_term(cs[ln:] - cs[:-ln], nzc[ln:] - nzc[:-ln])
        idx = lens * b1 + starts[:, :lv]
        step = max(1, _CHUNK_ELEMENTS // max(1, lv * m))
        for k0 in range(0, n, step):
            out[k0 : k0 + step] = tab[idx[k0 : k0 + step]].sum(axis=1)
        return out
    step = max(1, _CHUNK_ELEMENTS // max(1, (lv + 1) * m))
    for k0 in range(0, n, step):
        b = starts[k0 : k0 + step, : lv + 1]
        g = np.diff(cs[b], axis=1)  # (k, L - 1, M)
        nz = np.diff(nzc[b], axis=1)
        out[k0 : k0 + step] = _group_term(g, nz).sum(axis=1)
    return out


def kl_divergence_curve(hists: object, levels: int) -> tuple[int, np.ndarray]:
    """KL(P_i || Q_i) of every candidate threshold bin ``i`` (module docstring).

    Parameters
    ----------
    hists : (S, C, B) array_like of non-negative int
        Counts; ``S = 1`` for a one-sided histogram, ``S = 2`` for the two sides of zero (they
        share the threshold and are scored as one distribution). ``C`` rows are independent.
    levels : int
        Quantized levels per side, >= 1.

    Returns
    -------
    first : int
        The first candidate, ``min(levels, B)``.
    kl : (C, B - first + 1) float64 ndarray
        Divergence in nats of candidate ``i = first + column``; ``inf`` where ``Q_i`` misses mass
        of ``P_i``; 0 for a row without data.
    """
    h = np.asarray(hists)
    if h.ndim != 3 or h.dtype.kind not in "iu" or (h.size and h.min() < 0):
        raise ValueError(f"hists must be an (S, C, B) array of counts, not {h.dtype} {h.shape}")
    s, c, b = h.shape
    levels = int(levels)
    if levels < 1:
        raise ValueError(f"levels must be >= 1, not {levels}")
    if levels >= b:  # every candidate keeps each bin as its own level: only i = B is left
        return b, np.zeros((c, 1))
    i = np.arange(levels, b + 1)
    starts = (np.arange(levels + 1)[None, :] * i[:, None] + levels - 1) // levels  # (n, L + 1)
    maxlen = -(-b // levels)
    table = maxlen * (b + 1) <= i.size * (levels - 1)
    per_row = s * (maxlen + 1) * (b + 1) if table else s * (b + 1)
    step = max(1, _CHUNK_ELEMENTS // per_row)
    kl = np.empty((c, i.size))
    for r0 in range(0, c, step):
        kl[r0 : r0 + step] = _kl_rows(h[:, r0 : r0 + step], i, starts, table)
    return levels, kl


def _kl_rows(h: np.ndarray, i: np.ndarray, starts: np.ndarray, table: bool) -> np.ndarray:
    s, r, b = h.shape
    # bins first, (side, row) columns last: gathering level boundaries copies contiguous rows
    h = h.reshape(s * r, b).T.astype(np.float64)  # counts are exact in float64
    cs, nzc, hl = (_with_zero(v.T).T for v in (h, (h > 0).astype(np.float64), _xlogx(h)))
    out = cs[-1] - cs[i]  # (n, S R) outlier mass
    h_last = h[i - 1]
    first_last = starts[:, -2]  # first bin of the last level
    g_last = cs[i] - cs[first_last]
    # the outliers make the last kept bin non-zero in P even where the histogram is empty
    nz_last = nzc[i] - nzc[first_last] + ((h_last == 0) & (out > 0))
    grp = inner_group_terms(cs, nzc, starts, table=table)
    with np.errstate(divide="ignore", invalid="ignore"):
        # the outlier mass is in the last level too: -inf where that level has no unclipped mass
        pg = g_last + out
        grp += np.where(pg > 0, pg * np.log(g_last / nz_last), 0.0)
        plogp = hl[i - 1] + _xlogx(h_last + out)
        a = (plogp - grp).reshape(i.size, s, r).sum(axis=1).T  # (R, n)
        sq = cs[i].reshape(i.size, s, r).sum(axis=1).T  # sum of Q_i, both sides
        n = cs[-1].reshape(s, r).sum(axis=0)[:, None]
        kl = a / n - np.log(n) + np.log(sq)
    kl = np.where(np.isinf(a) | (sq == 0), np.inf, kl)
    return np.where(n > 0, kl, 0.0)


def entropy_threshold_bin(hists: object, levels: int) -> np.ndarray:
    """Number of kept bins ``i`` of the smallest KL per row (ties to the smaller ``i``).

    Parameters
    ----------
    hists : (S, C, B) array_like of non-negative int
    levels : int

    Returns
    -------
    (C,) int64 ndarray, in ``[min(levels, B), B]``
    """
    first, kl = kl_divergence_curve(hists, levels)
    best = kl.min(axis=-1, keepdims=True)
    return first + np.argmax(kl <= best + TIE_NATS, axis=-1).astype(np.int64)


def entropy_amax(x: np.ndarray, bits: int, bins: int) -> np.ndarray:
    """Symmetric threshold per row: ``|x|`` histogram, ``2^(bits-1)`` levels.

    Parameters
    ----------
    x : (C, K) float64 ndarray, finite
    bits : int
    bins : int

    Returns
    -------
    (C,) float64 ndarray, in ``[0, max |x[c]|]``
    """
    a = np.abs(x)
    top = a.max(axis=1)
    counts, edges = row_histograms(a, top, bins)
    i = entropy_threshold_bin(counts[None], 1 << (bits - 1))
    return np.where(top > 0, edges[np.arange(x.shape[0]), i], 0.0)


def entropy_range(x: np.ndarray, bits: int, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Asymmetric range per row (one-sided or two-sided layout, module docstring).

    Parameters
    ----------
    x : (C, K) float64 ndarray, finite
    bits : int
    bins : int

    Returns
    -------
    rmin, rmax : (C,) float64 ndarrays
        ``min(x[c], 0) <= rmin <= 0 <= rmax <= max(x[c], 0)``.
    """
    xmin, xmax = x.min(axis=1), x.max(axis=1)
    rmin, rmax = np.zeros(x.shape[0]), np.zeros(x.shape[0])
    pos = (xmin >= 0) & (xmax > 0)
    neg = (xmax <= 0) & (xmin < 0)
    both = (xmin < 0) & (xmax > 0)
    for rows, sign in ((pos, 1.0), (neg, -1.0)):
        if rows.any():
            a = np.abs(x[rows])
            top = a.max(axis=1)
            counts, edges = row_histograms(a, top, bins)
            i = entropy_threshold_bin(counts[None], 1 << bits)
            t = edges[np.arange(a.shape[0]), i]
            (rmax if sign > 0 else rmin)[rows] = sign * t
    if both.any():
        xb = x[both]
        top = np.maximum(-xmin[both], xmax[both])
        hp, edges = row_histograms(np.maximum(xb, 0.0), top, bins)
        hn, _ = row_histograms(np.maximum(-xb, 0.0), top, bins)
        i = entropy_threshold_bin(np.stack([hn, hp]), 1 << (bits - 1))
        t = edges[np.arange(xb.shape[0]), i]
        rmin[both] = np.maximum(xmin[both], -t)
        rmax[both] = np.minimum(xmax[both], t)
    return rmin, rmax
