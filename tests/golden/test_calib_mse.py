"""MSE calibration against a brute-force loop over the candidate grid using golden.quantize."""

from __future__ import annotations

import math

import numpy as np
import pytest

import golden
from golden import calib_mse as cm


def rha(v: float) -> float:
    return math.copysign(math.floor(abs(v) + 0.5), v)


def candidates(x: np.ndarray, bits: int, grid: int, symmetric: bool):
    """The documented grid, from plain formulas: yields (m, g, scale, zero point)."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if symmetric:
        s_mm = float(np.abs(x).max()) / hi
        s_mm = s_mm if s_mm > 0 else 1.0
        for m in range(1, grid + 1):
            yield m, 0, (m / grid) * s_mm, 0
        return
    r0, r1 = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    s_mm = (r1 - r0) / (hi - lo)
    s_mm = s_mm if s_mm > 0 else 1.0
    for m in range(1, grid + 1):
        s = (m / grid) * s_mm
        for g in range(grid + 1):
            bottom = r0 + (g / grid) * max((r1 - r0) - (hi - lo) * s, 0.0)
            yield m, g, s, int(min(max(rha(lo - bottom / s), lo), hi))


def brute(x: np.ndarray, bits: int, grid: int, symmetric: bool):
    """Every candidate's squared error through golden.quantize / dequantize, and the first best."""
    errs = {}
    for m, g, s, z in candidates(x, bits, grid, symmetric):
        back = golden.dequantize(golden.quantize(x, s, z, bits), s, z)
        errs[m, g] = (s, z, float(np.sum((x - back) ** 2)))
    best = min(errs, key=lambda key: (errs[key][2], key))
    return errs, errs[best][:2]


def data(rng: np.random.Generator, kind: str, size) -> np.ndarray:
    x = rng.standard_normal(size)
    x.flat[:3] *= 7  # outliers
    if kind == "relu":
        return np.maximum(x, 0.0)
    if kind == "skewed":
        return np.where(x < 0, 0.1 * x, x) + 0.02
    if kind == "one_tail":  # a single outlier on one side
        x = np.clip(x, -3.0, 3.0)
        x.flat[0] = 25.0
    return x


def check_surface(x: np.ndarray, bits: int, grid: int, symmetric: bool) -> None:
    errs, _ = brute(x, bits, grid, symmetric)
    scale, zp, err = cm.mse_candidates(x.reshape(1, -1), bits, grid, symmetric)
    for (m, g), (s, z, e) in errs.items():
        assert scale[0, m - 1] == s and zp[0, m - 1, g] == z, (m, g)
        assert err[0, m - 1, g] == pytest.approx(e, rel=1e-9, abs=1e-300), (m, g)


@pytest.mark.parametrize("bits", list(range(2, 17)))
@pytest.mark.parametrize("kind", ["normal", "relu", "skewed", "one_tail"])
def test_asymmetric_matches_brute_force(bits, kind):
    rng = np.random.default_rng(bits)
    x = data(rng, kind, 300)
    grid = 12
    check_surface(x, bits, grid, symmetric=False)
    _, (s, z) = brute(x, bits, grid, symmetric=False)
    p = golden.choose_qparams(x, bits, method="mse", grid=grid)
    assert float(p.scale) == s and int(p.zero_point) == z


@pytest.mark.parametrize("bits", list(range(2, 17)))
def test_symmetric_per_channel_matches_brute_force(bits):
    rng = np.random.default_rng(100 + bits)
    w = data(rng, "normal", (4, 2, 30)) * np.array([0.1, 1.0, 3.0, 20.0])[:, None, None]
    grid = 50
    check_surface(w[2].ravel(), bits, grid, symmetric=True)
    p = golden.choose_qparams(w, bits, symmetric=True, axis=0, method="mse", grid=grid)
    for c in range(4):
        _, (s, _) = brute(w[c].ravel(), bits, grid, symmetric=True)
        assert p.scale[c] == s
    assert not p.zero_point.any()


def test_ends_are_clipped_independently():
    # a quarter of the values at -1 (a clamp) and a long positive tail: shrinking the minmax
    # range about its zero point (one factor for both ends) would clip the spike with the tail
    rng = np.random.default_rng(8)
    x = np.concatenate([np.full(5_000, -1.0), rng.exponential(1.0, 15_000)])
    bits, grid = 4, 100
    p = golden.choose_qparams(x, bits, method="mse", grid=grid)
    lo_r = float(p.scale) * (-8 - int(p.zero_point))
    hi_r = float(p.scale) * (7 - int(p.zero_point))
    assert lo_r <= -0.95 and hi_r < 0.7 * x.max()
    best_shrunk = min(
        float(np.mean((x - q.dequantize(q.quantize(x))) ** 2))
        for a in cm.grid_alphas(grid)
        for q in [golden.choose_qparams(a * np.array([x.min(), x.max()]), bits)]
    )
    assert float(np.mean((x - p.dequantize(p.quantize(x))) ** 2)) < 0.5 * best_shrunk


def test_minmax_is_a_candidate():
    rng = np.random.default_rng(10)
    for bits in (2, 5, 8, 16):
        x = data(rng, "skewed", 200)
        scale, zp, _ = cm.mse_candidates(x.reshape(1, -1), bits, 30, False)
        ref = golden.choose_qparams(x, bits)
        assert scale[0, -1] == float(ref.scale) and zp[0, -1, 0] == int(ref.zero_point)


def test_grid_ends_at_minmax():
    a = cm.grid_alphas(100)
    assert a[-1] == 1.0 and a[0] == 0.01 and a.size == 100


@pytest.mark.parametrize("symmetric", [False, True])
def test_big_tensor_agrees_with_brute_force(symmetric):
    # more values than one block of the residual pass
    rng = np.random.default_rng(11)
    x = data(rng, "skewed", 100_000)
    _, (s, z) = brute(x, 4, 6, symmetric)
    p = golden.choose_qparams(x, 4, symmetric=symmetric, method="mse", grid=6)
    assert float(p.scale) == s and int(p.zero_point) == z


def test_all_zero_rows_get_minmax_parameters():
    x = np.zeros((3, 8))
    x[1, 2] = -0.5
    for symmetric in (False, True):
        p = golden.choose_qparams(x, 8, symmetric=symmetric, axis=0, method="mse")
        assert p.scale[0] == p.scale[2] == 1.0 and p.zero_point[0] == p.zero_point[2] == 0
        assert p.scale[1] < 1.0
