"""MSE calibration against a brute-force loop over the candidate grid using golden.quantize."""

from __future__ import annotations

import math

import numpy as np
import pytest

import golden
from golden import calib_mse as cm


def rha(v: float) -> float:
    return math.copysign(math.floor(abs(v) + 0.5), v)


def candidate(x: np.ndarray, bits: int, alpha: float, symmetric: bool) -> tuple[float, int]:
    """(scale, zero point) of the range ``alpha * minmax range``, from DESIGN.md's formulas."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if symmetric:
        s = alpha * float(np.abs(x).max()) / hi
        return (s if s > 0 else 1.0), 0
    rmin, rmax = alpha * min(float(x.min()), 0.0), alpha * max(float(x.max()), 0.0)
    s = (rmax - rmin) / (hi - lo)
    if not s > 0:
        return 1.0, 0
    return s, int(min(max(rha(lo - rmin / s), lo), hi))


def brute_mse(x: np.ndarray, bits: int, grid: int, symmetric: bool) -> tuple[int, list[float]]:
    """Index of the best candidate (first of equal errors) and every candidate's MSE."""
    errs = []
    for m in range(1, grid + 1):
        s, z = candidate(x, bits, m / grid, symmetric)
        back = golden.dequantize(golden.quantize(x, s, z, bits), s, z)
        errs.append(float(np.mean((x - back) ** 2)))
    return int(np.argmin(errs)), errs


def data(rng: np.random.Generator, kind: str, size) -> np.ndarray:
    x = rng.standard_normal(size)
    x.flat[:3] *= 7  # outliers
    if kind == "relu":
        return np.maximum(x, 0.0)
    if kind == "skewed":
        return np.where(x < 0, 0.1 * x, x) + 0.02
    return x


@pytest.mark.parametrize("bits", list(range(2, 17)))
@pytest.mark.parametrize("kind", ["normal", "relu", "skewed"])
def test_asymmetric_matches_brute_force(bits, kind):
    rng = np.random.default_rng(bits)
    x = data(rng, kind, 400)
    grid = 40
    best, errs = brute_mse(x, bits, grid, symmetric=False)
    s, z = candidate(x, bits, (best + 1) / grid, symmetric=False)
    p = golden.choose_qparams(x, bits, method="mse", grid=grid)
    assert float(p.scale) == s and int(p.zero_point) == z
    rmin, rmax = cm.mse_range(x.reshape(1, -1), bits, grid)
    assert rmin[0] == (best + 1) / grid * min(x.min(), 0.0)
    assert rmax[0] == (best + 1) / grid * max(x.max(), 0.0)


@pytest.mark.parametrize("bits", list(range(2, 17)))
def test_symmetric_per_channel_matches_brute_force(bits):
    rng = np.random.default_rng(100 + bits)
    w = data(rng, "normal", (4, 2, 30)) * np.array([0.1, 1.0, 3.0, 20.0])[:, None, None]
    grid = 50
    p = golden.choose_qparams(w, bits, symmetric=True, axis=0, method="mse", grid=grid)
    for c in range(4):
        best, _ = brute_mse(w[c].ravel(), bits, grid, symmetric=True)
        assert p.scale[c] == candidate(w[c].ravel(), bits, (best + 1) / grid, True)[0]
    assert not p.zero_point.any()


def test_squared_error_is_the_integer_path_error():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 257)) * 3
    x[0, :5] = [0.5, -0.5, 1.5, -2.5, 0.0]  # exact ties at scale 1
    scale = np.array([[1.0, 0.05, 0.3], [0.01, 2.0, 0.7]])
    zp = np.array([[0, 5, -100], [-128, 127, 3]])
    got = cm.squared_error(x, scale, zp, 8)
    for m in range(2):
        for c in range(3):
            back = golden.dequantize(golden.quantize(x[c], scale[m, c], zp[m, c]), scale[m, c],
                                     zp[m, c])
            assert got[m, c] == pytest.approx(float(np.sum((x[c] - back) ** 2)), rel=1e-13)


def test_grid_ends_at_minmax():
    a = cm.grid_alphas(100)
    assert a[-1] == 1.0 and a[0] == 0.01 and a.size == 100


def test_big_tensor_chunks_agree_with_one_pass():
    # more values than one block: the blocked sums must choose as a direct evaluation does
    rng = np.random.default_rng(11)
    x = data(rng, "normal", 100_000)
    best, _ = brute_mse(x, 4, 20, symmetric=False)
    p = golden.choose_qparams(x, 4, method="mse", grid=20)
    assert float(p.scale) == candidate(x, 4, (best + 1) / 20, False)[0]
