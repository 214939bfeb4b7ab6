"""Properties every calibration method of choose_qparams shares, and its bad-input errors."""

from __future__ import annotations

import numpy as np
import pytest

import golden
from golden.calib_entropy import entropy_amax, entropy_range

BITS = list(range(2, 17))
SEARCHES = ["entropy", "mse"]


def rows_of_every_kind(rng: np.random.Generator, k: int = 600) -> np.ndarray:
    """One row each: two-sided with outliers, after ReLU, all negative, skewed, all zero."""
    x = rng.standard_normal((5, k))
    x[:, :3] *= 9
    x[1] = np.maximum(x[1], 0.0)
    x[2] = -np.abs(x[2])
    x[3] = np.where(x[3] < 0, 0.05 * x[3], x[3])
    x[4] = 0.0
    return x


def mse(x: np.ndarray, p: golden.QuantParams) -> float:
    return float(np.mean((x - p.dequantize(p.quantize(x))) ** 2))


@pytest.mark.parametrize("bits", BITS)
def test_range_inside_data_range(bits):
    x = rows_of_every_kind(np.random.default_rng(bits))
    lo, hi = np.minimum(x.min(axis=1), 0.0), np.maximum(x.max(axis=1), 0.0)
    rmin, rmax = entropy_range(x, bits, 256)
    assert (lo <= rmin).all() and (rmin <= 0).all() and (0 <= rmax).all() and (rmax <= hi).all()
    t = entropy_amax(x, bits, 256)
    assert (0 <= t).all() and (t <= np.abs(x).max(axis=1)).all()
    qmin, qmax = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    for method in SEARCHES:
        for symmetric in (False, True):
            ref = golden.choose_qparams(x, bits, symmetric=symmetric, axis=0)
            p = golden.choose_qparams(x, bits, symmetric=symmetric, axis=0, method=method)
            assert (p.scale <= ref.scale).all()
            assert ((qmin <= p.zero_point) & (p.zero_point <= qmax)).all()
            # the real window of the codes: inside the data range up to the zero-point nudge
            live = np.abs(x).max(axis=1) > 0
            bottom = p.scale * (qmin - p.zero_point)
            top = p.scale * (qmax - p.zero_point)
            if symmetric:  # the code qmin is one step beyond -amax by construction
                assert (top[live] <= np.abs(x).max(axis=1)[live]).all()
            else:
                assert (bottom[live] >= lo[live] - p.scale[live] / 2).all()
                assert (top[live] <= hi[live] + p.scale[live] / 2).all()
            # 0.0 stays exact whatever the range
            assert (p.dequantize(p.quantize(np.zeros((5, 1)))) == 0.0).all()


@pytest.mark.parametrize("bits", BITS)
def test_mse_error_never_above_minmax(bits):
    x = rows_of_every_kind(np.random.default_rng(50 + bits))
    for symmetric in (False, True):
        ref = golden.choose_qparams(x, bits, symmetric=symmetric, axis=0)
        p = golden.choose_qparams(x, bits, symmetric=symmetric, axis=0, method="mse")
        for c in range(x.shape[0]):
            pc = golden.QuantParams(p.scale[c], p.zero_point[c], bits, None, symmetric)
            rc = golden.QuantParams(ref.scale[c], ref.zero_point[c], bits, None, symmetric)
            assert mse(x[c], pc) <= mse(x[c], rc) * (1 + 1e-12)
    for row in x[:4]:  # per tensor too
        p = golden.choose_qparams(row, bits, method="mse")
        assert mse(row, p) <= mse(row, golden.choose_qparams(row, bits)) * (1 + 1e-12)


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("method", SEARCHES)
def test_without_outliers_the_range_approaches_minmax(bits, method):
    # uniform data: clipping only costs; what either method may trim shrinks with the step
    rng = np.random.default_rng(bits)
    u = rng.uniform(-1.0, 1.0, size=(3, 20_000))
    u[1] = np.abs(u[1])
    slack = 2.0 ** (1 - bits) + (0.01 if method == "mse" else 2 / 2048)
    sym = golden.choose_qparams(u, bits, symmetric=True, axis=0, method=method)
    ref = golden.choose_qparams(u, bits, symmetric=True, axis=0)
    assert (sym.scale / ref.scale >= 1 - slack).all()
    asym = golden.choose_qparams(u, bits, axis=0, method=method)
    ref = golden.choose_qparams(u, bits, axis=0)
    assert (asym.scale / ref.scale >= 1 - slack).all()


def test_heavy_tails_entropy_clips_at_8_bits():
    x = np.random.default_rng(4).standard_t(2, 50_000)  # |x| up to ~300, most within +-5
    for symmetric in (False, True):
        ref = golden.choose_qparams(x, 8, symmetric=symmetric)
        p = golden.choose_qparams(x, 8, symmetric=symmetric, method="entropy")
        assert float(p.scale) < 0.3 * float(ref.scale)


def test_heavy_tails_mse_clips_at_4_bits():
    # squared error weighs a clipped tail heavily: MSE trims less than KL, more at low widths
    x = np.random.default_rng(4).standard_t(2, 50_000)
    for symmetric in (False, True):
        ref = golden.choose_qparams(x, 4, symmetric=symmetric)
        p = golden.choose_qparams(x, 4, symmetric=symmetric, method="mse")
        assert float(p.scale) < 0.5 * float(ref.scale)
        assert mse(x, p) < 0.9 * mse(x, ref)


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("method", SEARCHES)
@pytest.mark.parametrize("symmetric", [False, True])
def test_per_channel_equals_each_channel_alone(bits, method, symmetric):
    x = rows_of_every_kind(np.random.default_rng(200 + bits), k=300)
    kw = dict(symmetric=symmetric, method=method, bins=128, grid=25)
    w = np.moveaxis(x.reshape(5, 3, 100), 0, 1)  # channels on axis 1 of a 3-d tensor
    p = golden.choose_qparams(w, bits, axis=1, **kw)
    assert p.scale.shape == p.zero_point.shape == (5,) and p.axis == 1
    for c in range(5):
        alone = golden.choose_qparams(w[:, c], bits, **kw)
        assert p.scale[c] == float(alone.scale) and p.zero_point[c] == int(alone.zero_point)


@pytest.mark.parametrize("method", SEARCHES)
@pytest.mark.parametrize("k", [-1000, -40, 37, 950])
def test_powers_of_two_scale_the_choice_exactly(method, k):
    # also far from 1, where squared errors of the raw values would overflow or underflow
    x = rows_of_every_kind(np.random.default_rng(3), k=200)
    for symmetric in (False, True):
        p = golden.choose_qparams(x, 6, symmetric=symmetric, axis=0, method=method)
        q = golden.choose_qparams(np.ldexp(x, k), 6, symmetric=symmetric, axis=0, method=method)
        assert np.array_equal(q.scale, np.ldexp(p.scale, k) * (p.scale != 1.0) + (p.scale == 1.0))
        assert np.array_equal(q.zero_point, p.zero_point)


@pytest.mark.parametrize("method", ["minmax", "percentile", "entropy", "mse"])
def test_shapes_and_types(method):
    rng = np.random.default_rng(0)
    p = golden.choose_qparams(rng.standard_normal((2, 3, 4)), 6, method=method)
    assert p.scale.shape == () and p.zero_point.shape == () and p.scale.dtype == np.float64
    assert p.zero_point.dtype == np.int64 and p.bits == 6 and p.axis is None
    q = golden.choose_qparams(rng.standard_normal((2, 3, 4)), 6, axis=-1, method=method)
    assert q.scale.shape == (4,) and q.axis == 2


@pytest.mark.parametrize("bits", [2, 3, 8, 13, 16])
@pytest.mark.parametrize("axis", [None, 0, 2])
def test_minmax_and_percentile_are_the_plain_formulas(bits, axis):
    # the results these two methods had before the searches were added, bit for bit
    rng = np.random.default_rng(bits)
    r = rng.standard_normal((4, 5, 6)) * 3 + 0.5
    r[1] = np.abs(r[1])
    red = None if axis is None else tuple(i for i in range(3) if i != axis)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    for method, p in (("minmax", 99.99), ("percentile", 99.0), ("percentile", 75.5)):
        if method == "minmax":
            amax, rmin, rmax = np.abs(r).max(axis=red), r.min(axis=red), r.max(axis=red)
        else:
            amax = np.percentile(np.abs(r), p, axis=red)
            rmin, rmax = np.percentile(r, 100 - p, axis=red), np.percentile(r, p, axis=red)
        sym = golden.choose_qparams(r, bits, symmetric=True, axis=axis, method=method, percentile=p)
        assert np.array_equal(sym.scale, amax / hi) and not sym.zero_point.any()
        rmin, rmax = np.minimum(rmin, 0.0), np.maximum(rmax, 0.0)
        scale = (rmax - rmin) / (hi - lo)
        v = lo - rmin / scale
        zp = np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5), lo, hi)
        asym = golden.choose_qparams(r, bits, axis=axis, method=method, percentile=p)
        assert np.array_equal(asym.scale, scale) and np.array_equal(asym.zero_point, zp)


def test_symmetric_percentile_below_50():
    x = np.arange(1.0, 101.0)
    p = golden.choose_qparams(x, 8, symmetric=True, method="percentile", percentile=40)
    assert float(p.scale) == np.percentile(x, 40) / 127


def test_methods_listed():
    assert golden.CALIBRATION_METHODS == ("minmax", "percentile", "entropy", "mse")


ALL = ["minmax", "percentile", "entropy", "mse"]


@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        (dict(bits=1), ValueError, r"^bits must be in \[2, 16\], not 1$"),
        (dict(bits=17), ValueError, r"^bits must be in \[2, 16\], not 17$"),
        (dict(bits=8.0), TypeError, r"^bits must be an integer, not 8\.0$"),
        (dict(percentile=0), ValueError, r"^percentile must be in \(0, 100\], not 0$"),
        (dict(percentile=100.5), ValueError, r"^percentile must be in \(0, 100\], not 100\.5$"),
        (dict(percentile=-3), ValueError, r"^percentile must be in \(0, 100\], not -3$"),
        (dict(percentile=float("nan")), ValueError, r"^percentile must be in \(0, 100\], not nan$"),
        (
            dict(percentile=50),
            ValueError,
            r"^percentile must be in \(50, 100\] for an asymmetric range, not 50$",
        ),
        (
            dict(percentile=12.5),
            ValueError,
            r"^percentile must be in \(50, 100\] for an asymmetric range, not 12\.5$",
        ),
        (dict(percentile="99"), TypeError, r"^percentile must be a real number, not '99'$"),
        (dict(percentile=True), TypeError, r"^percentile must be a real number, not True$"),
        (dict(bins=0), ValueError, r"^bins must be in \[1, 1048576\], not 0$"),
        (dict(bins=2.5), TypeError, r"^bins must be an integer, not 2\.5$"),
        (dict(grid=0), ValueError, r"^grid must be in \[1, 4096\], not 0$"),
        (dict(grid=None), TypeError, r"^grid must be an integer, not None$"),
        (dict(symmetric="yes"), TypeError, r"^symmetric must be a bool, not 'yes'$"),
        (dict(r=[]), ValueError, r"^r must not be empty, got shape \(0,\)$"),
        (
            dict(r=np.zeros((4, 0)), axis=0),
            ValueError,
            r"^r must not be empty, got shape \(4, 0\)$",
        ),
        (dict(r=[1.0, np.nan]), ValueError, r"^r must be finite, found nan at index \(1,\)$"),
        (dict(r=[[1.0], [np.inf]]), ValueError, r"^r must be finite, found inf at index \(1, 0\)$"),
        (dict(r=-np.inf), ValueError, r"^r must be finite, found -inf$"),
        (dict(axis=2), ValueError, r"^axis must be in \[-1, 0\], not 2$"),
    ],
)
def test_bad_input(method, kwargs, exc, pattern):
    args = dict(r=[1.0, -2.0, 3.0], bits=8, method=method)
    args.update(kwargs)
    with pytest.raises(exc, match=pattern):
        golden.choose_qparams(args.pop("r"), args.pop("bits"), **args)


@pytest.mark.parametrize(
    ("method", "exc", "pattern"),
    [
        ("kl", ValueError, r"^method must be one of minmax, percentile, entropy, mse, not 'kl'$"),
        ("MSE", ValueError, r"^method must be one of minmax, percentile, entropy, mse, not 'MSE'$"),
        (3, TypeError, r"^method must be a str, not 3$"),
    ],
)
def test_unknown_method(method, exc, pattern):
    with pytest.raises(exc, match=pattern):
        golden.choose_qparams([1.0], method=method)
