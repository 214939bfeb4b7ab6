"""Entropy (KL) calibration against a brute-force search written from Migacz's pseudo-code."""

from __future__ import annotations

import math

import numpy as np
import pytest

import golden
from golden import calib_entropy as ce

TIE = 1e-12


def brute_kl(sides: list[list[int]], levels: int) -> dict[int, float]:
    """KL(P_i || Q_i) for every candidate ``i``, one plain loop per candidate.

    ``sides`` holds one histogram (one-sided) or two (the two sides of zero, sharing ``i``).
    """
    nbins = len(sides[0])
    out = {}
    for i in range(min(levels, nbins), nbins + 1):
        p_all: list[float] = []
        q_all: list[float] = []
        for hist in sides:
            p = [float(v) for v in hist[:i]]
            p[i - 1] += float(sum(hist[i:]))  # fold the outliers into the last kept bin
            width = i / levels  # bins per level (exact: levels is a power of two)
            members: dict[int, list[int]] = {}
            for k in range(i):
                members.setdefault(math.floor(k / width), []).append(k)
            q = [0.0] * i
            for ks in members.values():
                mass = sum(hist[k] for k in ks)  # the bins themselves, without the outliers
                alive = [k for k in ks if p[k] > 0]
                for k in alive:
                    q[k] = mass / len(alive)
            p_all += p
            q_all += q
        sp, sq = sum(p_all), sum(q_all)
        kl = 0.0
        for pk, qk in zip(p_all, q_all, strict=True):
            if pk == 0:
                continue
            if qk == 0:
                kl = math.inf
                break
            kl += (pk / sp) * math.log((pk / sp) / (qk / sq))
        out[i] = kl
    return out


def brute_bin(sides: list[list[int]], levels: int) -> int:
    kl = brute_kl(sides, levels)
    best = min(kl.values())
    return min(i for i, v in kl.items() if v <= best + TIE)


def random_hist(rng: np.random.Generator, nbins: int, sparse: bool) -> list[int]:
    h = rng.integers(0, 40, size=nbins)
    if sparse:
        h[rng.random(nbins) < 0.5] = 0
    h[-1] = max(h[-1], 1)  # a histogram of data up to its maximum has a non-empty last bin
    return h.tolist()


@pytest.mark.parametrize("nbins", [16, 64, 128])
@pytest.mark.parametrize("levels", [1, 2, 4, 8, 16, 32, 64, 128, 256])
@pytest.mark.parametrize("sides", [1, 2])
def test_curve_and_bin_match_brute_force(nbins, levels, sides):
    rng = np.random.default_rng(nbins * 1000 + levels * 10 + sides)
    hists = [[random_hist(rng, nbins, sparse=bool(r % 2)) for r in range(5)] for _ in range(sides)]
    first, kl = ce.kl_divergence_curve(np.array(hists), levels)
    chosen = ce.entropy_threshold_bin(np.array(hists), levels)
    for r in range(5):
        ref = brute_kl([hists[s][r] for s in range(sides)], levels)
        assert first == min(ref)
        got = {first + j: float(v) for j, v in enumerate(kl[r])}
        assert got.keys() == ref.keys()
        for i, v in ref.items():
            assert got[i] == pytest.approx(v, rel=1e-9, abs=1e-12), (r, i)
        assert int(chosen[r]) == brute_bin([hists[s][r] for s in range(sides)], levels)


def test_empty_last_level_is_infinite_and_never_chosen():
    # data at 0..3 and one outlier in the last bin: any threshold that leaves the last level
    # without unclipped mass gives Q = 0 where P holds the outliers
    h = [9, 5, 3, 2, 0, 0, 0, 0, 0, 0, 0, 1]
    first, kl = ce.kl_divergence_curve(np.array([[h]]), 2)
    ref = brute_kl([h], 2)
    assert first == 2
    infinite = [first + j for j, v in enumerate(kl[0]) if np.isinf(v)]
    assert infinite == [i for i, v in ref.items() if math.isinf(v)] and infinite
    assert int(ce.entropy_threshold_bin(np.array([[h]]), 2)[0]) == brute_bin([h], 2)


@pytest.mark.parametrize(
    ("hist", "levels", "expected"),
    [([38] * 15 + [0] * 6, 4, 15), ([26] * 22 + [0], 4, 22), ([6] * 5 + [0] * 7, 8, 8)],
)
def test_exact_ties_go_to_the_smaller_threshold(hist, levels, expected):
    # every candidate from `expected` on has KL = 0 exactly; the prefix-sum formula leaves
    # +-1e-15 of rounding on some of them, which must not decide
    assert brute_bin([hist], levels) == expected
    assert int(ce.entropy_threshold_bin(np.array([[hist]]), levels)[0]) == expected


def test_table_and_direct_group_terms_are_identical():
    rng = np.random.default_rng(7)
    h = rng.integers(0, 9, size=(200, 6)).astype(np.float64)
    h[rng.random(h.shape) < 0.4] = 0
    cs = np.vstack([np.zeros((1, 6)), np.cumsum(h, axis=0)])
    nzc = np.vstack([np.zeros((1, 6)), np.cumsum(h > 0, axis=0)])
    for levels in (2, 8, 32, 128):
        i = np.arange(levels, 201)
        starts = (np.arange(levels + 1)[None, :] * i[:, None] + levels - 1) // levels
        a = ce.inner_group_terms(cs, nzc, starts, table=True)
        b = ce.inner_group_terms(cs, nzc, starts, table=False)
        assert np.array_equal(a, b)


@pytest.mark.parametrize("bins", [1, 7, 64, 2048])
def test_row_histograms_equal_numpy(bins):
    rng = np.random.default_rng(bins)
    a = np.abs(rng.standard_normal((4, 3000))) * np.array([[1.0], [1e-3], [7.0], [1.0]])
    a[1, ::5] = 0.0
    a[3] = np.round(a[3] * 8) / 8  # many values exactly on bin edges
    a[3, 0] = a[3].max()
    counts, edges = ce.row_histograms(a, a.max(axis=1), bins)
    for c in range(4):
        ref, ref_edges = np.histogram(a[c][a[c] > 0], bins=bins, range=(0.0, a[c].max()))
        assert counts[c].tolist() == ref.tolist()
        assert np.array_equal(edges[c], ref_edges)


def layout_hists(x: np.ndarray, bins: int, bits: int):
    """The documented histogram layouts, built with np.histogram: (sides, levels, edges)."""
    if x.min() >= 0 or x.max() <= 0:
        a = np.abs(x[x != 0])
        h, e = np.histogram(a, bins=bins, range=(0.0, a.max()))
        return [h.tolist()], 1 << bits, e
    top = max(-x.min(), x.max())
    hn, _ = np.histogram(-x[x < 0], bins=bins, range=(0.0, top))
    hp, e = np.histogram(x[x > 0], bins=bins, range=(0.0, top))
    return [hn.tolist(), hp.tolist()], 1 << (bits - 1), e


@pytest.mark.parametrize("bits", list(range(2, 17)))
def test_choose_qparams_symmetric_per_channel_matches_brute_force(bits):
    rng = np.random.default_rng(bits)
    w = rng.standard_normal((3, 40)) * np.array([[0.5], [1.0], [3.0]])
    w[:, :3] *= 6  # outliers
    w[0, 5] = 0.0
    bins = 64
    p = golden.choose_qparams(w, bits, symmetric=True, axis=0, method="entropy", bins=bins)
    for c in range(3):
        a = np.abs(w[c][w[c] != 0])
        h, e = np.histogram(a, bins=bins, range=(0.0, a.max()))
        t = e[brute_bin([h.tolist()], 1 << (bits - 1))]
        assert p.scale[c] == t / ((1 << (bits - 1)) - 1)
    assert not p.zero_point.any()


@pytest.mark.parametrize("bits", list(range(2, 17)))
@pytest.mark.parametrize("kind", ["relu", "negative", "mixed", "skewed"])
def test_choose_qparams_asymmetric_matches_brute_force(bits, kind):
    rng = np.random.default_rng(bits)
    x = rng.standard_normal(300)
    x[:4] *= 8
    if kind == "relu":
        x = np.maximum(x, 0.0)
    elif kind == "negative":
        x = -np.abs(x)
    elif kind == "skewed":
        x = np.where(x < 0, 0.05 * x, x)
    bins = 48
    sides, levels, e = layout_hists(x, bins, bits)
    t = e[brute_bin(sides, levels)]
    if kind == "relu":
        rmin, rmax = 0.0, t
    elif kind == "negative":
        rmin, rmax = -t, 0.0
    else:
        rmin, rmax = max(x.min(), -t), min(x.max(), t)
    p = golden.choose_qparams(x, bits, method="entropy", bins=bins)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    scale = (rmax - rmin) / (hi - lo)
    v = lo - rmin / scale
    zp = min(max(math.copysign(math.floor(abs(v) + 0.5), v), lo), hi)
    assert float(p.scale) == scale and int(p.zero_point) == zp


def test_wide_quantizer_with_coarse_histogram_keeps_max():
    # 12-bit symmetric has 2048 levels: no candidate below the full 2048-bin histogram
    rng = np.random.default_rng(3)
    w = rng.standard_normal((4, 500))
    p = golden.choose_qparams(w, 12, symmetric=True, axis=0, method="entropy")
    np.testing.assert_array_equal(p.scale, np.abs(w).max(axis=1) / 2047)
    # more bins than levels restores the search
    q = golden.choose_qparams(w, 12, symmetric=True, axis=0, method="entropy", bins=1 << 14)
    assert (q.scale <= p.scale).all()


def test_outliers_are_clipped():
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.standard_normal(100_000), [60.0, -55.0]])
    p = golden.choose_qparams(x, 8, symmetric=True, method="entropy")
    amax = float(p.scale) * 127
    assert 2.5 < amax < 10.0  # the bulk (|x| < ~4.5) kept, the two outliers clipped


def test_exact_zeros_do_not_pull_the_threshold_down():
    rng = np.random.default_rng(6)
    x = np.abs(rng.standard_normal(20_000))
    with_zeros = np.concatenate([x, np.zeros(200_000)])
    a = golden.choose_qparams(x, 8, method="entropy")
    b = golden.choose_qparams(with_zeros, 8, method="entropy")
    assert float(a.scale) == float(b.scale) and int(a.zero_point) == int(b.zero_point)


def test_all_zero_rows():
    w = np.zeros((3, 10))
    w[1] = np.linspace(-1, 1, 10)
    p = golden.choose_qparams(w, 8, symmetric=True, axis=0, method="entropy")
    assert p.scale[0] == 1.0 and p.scale[2] == 1.0 and 0 < p.scale[1] <= 1 / 127
    q = golden.choose_qparams(w, 8, axis=0, method="entropy")
    assert q.scale[0] == 1.0 and q.zero_point[0] == 0 and q.scale[1] > 0


def test_curve_bad_input():
    with pytest.raises(ValueError, match=r"^hists must be an \(S, C, B\) array of counts, not "):
        ce.kl_divergence_curve(np.ones((2, 3)), 4)
    with pytest.raises(ValueError, match=r"^levels must be >= 1, not 0$"):
        ce.kl_divergence_curve(np.ones((1, 2, 3), dtype=int), 0)
