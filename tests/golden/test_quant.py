"""quantize / dequantize / choose_qparams and the error measures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import golden


def test_quantize_rounds_half_away_and_clamps():
    r = np.array([-1000.0, -0.25, -0.75, 0.25, 0.75, 0.5, 1000.0])
    # r / 0.5 = -2000, -0.5, -1.5, 0.5, 1.5, 1.0, 2000 round (away) to
    # -2000, -1, -2, 1, 2, 1, 2000, then + 3 and clamp
    assert golden.quantize(r, 0.5, 3).tolist() == [-128, 2, 1, 4, 5, 4, 127]
    assert golden.quantize(r, 0.5, 3, bits=4).tolist() == [-8, 2, 1, 4, 5, 4, 7]


def test_per_channel_axis():
    r = np.array([[1.0, 10.0, 100.0], [-1.0, -10.0, -100.0]])
    q = golden.quantize(r, [0.01, 0.1, 1.0], [0, 1, 2], axis=1)
    assert q.tolist() == [[100, 101, 102], [-100, -99, -98]]
    np.testing.assert_allclose(golden.dequantize(q, [0.01, 0.1, 1.0], [0, 1, 2], axis=1), r)
    q0 = golden.quantize(r, [0.01, 1.0], [0, 0], axis=0)
    assert q0.tolist() == [[100, 127, 127], [-1, -10, -100]]


@pytest.mark.parametrize("bits", [2, 3, 8, 12, 16])
@pytest.mark.parametrize("method", ["minmax", "percentile"])
def test_asymmetric_zero_is_exact_and_range_covered(bits, method):
    rng = np.random.default_rng(bits)
    r = rng.normal(1.5, 2.0, size=5000)
    p = golden.choose_qparams(r, bits, method=method, percentile=99.9)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    assert lo <= int(p.zero_point) <= hi and p.zero_point.dtype == np.int64
    assert (
        golden.dequantize(golden.quantize(0.0, p.scale, p.zero_point, bits), p.scale, p.zero_point)
        == 0.0
    )
    q = p.quantize(r)
    assert q.min() >= lo and q.max() <= hi
    if method == "minmax":  # every calibration value is within a step (half a step plus the nudge)
        assert np.abs(p.dequantize(q) - r).max() <= float(p.scale)


def test_symmetric_per_channel_weights():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 3, 3, 4)) * np.arange(1, 9)[:, None, None, None]
    p = golden.choose_qparams(w, 8, symmetric=True, axis=0)
    assert p.scale.shape == (8,) and not p.zero_point.any() and p.axis == 0 and p.symmetric
    q = p.quantize(w)
    # the extreme of each channel maps to +-127, never -128
    assert np.abs(q.reshape(8, -1)).max(axis=1).tolist() == [127] * 8 and q.min() >= -127
    np.testing.assert_allclose(p.scale, np.abs(w.reshape(8, -1)).max(axis=1) / 127)


def test_percentile_clips_outliers():
    r = np.concatenate([np.linspace(-1, 1, 10001), [1000.0]])
    assert golden.choose_qparams(r, method="percentile", percentile=99.9).scale < 0.01
    assert golden.choose_qparams(r).scale > 1.0


def test_per_channel_percentile():
    rng = np.random.default_rng(2)
    r = rng.uniform(-1, 1, size=(4, 1000)) * np.array([[1.0], [2.0], [4.0], [8.0]])
    r[:, 0] = 1000.0  # one outlier per channel
    p = golden.choose_qparams(r, 8, axis=0, method="percentile", percentile=99.0)
    assert p.scale.shape == p.zero_point.shape == (4,)
    # the outlier is ignored: each channel's range is about its own +-amplitude
    np.testing.assert_allclose(p.scale * 255 / np.array([2.0, 4.0, 8.0, 16.0]), 1.0, atol=0.05)
    ps = golden.choose_qparams(r, 8, symmetric=True, axis=0, method="percentile", percentile=99.0)
    np.testing.assert_allclose(ps.scale * 127 / np.array([1.0, 2.0, 4.0, 8.0]), 1.0, atol=0.05)
    q = p.quantize(r)
    assert (q[:, 0] == 127).all() and np.all(p.dequantize(p.quantize(np.zeros((4, 1)))) == 0.0)


def test_all_zero_input():
    p = golden.choose_qparams(np.zeros(10))
    assert (
        float(p.scale) == 1.0
        and golden.quantize(np.zeros(3), p.scale, p.zero_point).tolist() == [0] * 3
    )


@settings(max_examples=200, deadline=None)
@given(lo=st.floats(-1e3, 0.0), hi=st.floats(0.0, 1e3), bits=st.integers(2, 16))
def test_asymmetric_property_zero_exact(lo, hi, bits):
    p = golden.choose_qparams(np.array([lo, hi]), bits)
    assert float(p.dequantize(p.quantize(0.0))) == 0.0
    assert -(1 << (bits - 1)) <= int(p.zero_point) <= (1 << (bits - 1)) - 1


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (
            lambda: golden.quantize([1.0], 0.0, 0),
            ValueError,
            r"^scale must be finite and > 0, not 0\.0$",
        ),
        (
            lambda: golden.quantize([1.0], 0.1, 128),
            ValueError,
            r"^zero_point must be in \[-128, 127\] for bits=8, not 128$",
        ),
        (
            lambda: golden.quantize([1.0], 0.1, 0, bits=1),
            ValueError,
            r"^bits must be in \[2, 16\], not 1$",
        ),
        (
            lambda: golden.quantize([1.0], 0.1, 0, bits=17),
            ValueError,
            r"^bits must be in \[2, 16\], not 17$",
        ),
        (
            lambda: golden.quantize([1.0], 0.1, 0.5),
            TypeError,
            r"^zero_point must have an integer dtype, not float64$",
        ),
        (
            lambda: golden.quantize(np.ones((2, 3)), [0.1, 0.2], 0, axis=1),
            ValueError,
            r"^scale must have shape \(3,\) for axis 1, not \(2,\)$",
        ),
        (
            lambda: golden.quantize(np.ones((2, 3)), 0.1, 0, axis=2),
            ValueError,
            r"^axis must be in \[-2, 1\], not 2$",
        ),
        (
            lambda: golden.choose_qparams([1.0], method="kl"),
            ValueError,
            r"^method must be one of minmax, percentile, entropy, mse, not 'kl'$",
        ),
        (
            lambda: golden.choose_qparams([1.0], percentile=40),
            ValueError,
            r"^percentile must be in \(50, 100\] for an asymmetric range, not 40$",
        ),
        (lambda: golden.choose_qparams([]), ValueError, r"^r must not be empty"),
        (lambda: golden.choose_qparams([np.nan]), ValueError, r"^r must be finite"),
        (lambda: golden.quantize([np.inf], 0.1, 0), ValueError, r"^r must be finite"),
    ],
)
def test_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


# ---- error measures --------------------------------------------------------------------------
def test_sqnr_db():
    ref = np.array([3.0, -4.0])
    assert golden.sqnr_db(ref, ref) == float("inf")
    # signal 25, noise 0.25: 10 log10(100) = 20 dB
    assert golden.sqnr_db(ref, ref + np.array([0.5, 0.0])) == pytest.approx(20.0, abs=1e-12)
    with pytest.raises(
        ValueError, match=r"^test_float shape \(3,\) differs from reference_float shape \(2,\)$"
    ):
        golden.sqnr_db(ref, np.zeros(3))


def test_max_abs_error_lsb():
    ref = np.array([[0.0, 1.0], [2.0, -1.0]])
    q = np.array([[0, 10], [21, -10]])
    assert golden.max_abs_error_lsb(ref, q, 0.1, 0) == pytest.approx(1.0)
    # per channel along axis 1: column 1 has scale 0.2, so 10 -> 2.0 (1 off = 5 LSB)
    assert golden.max_abs_error_lsb(ref, q, [0.1, 0.2], [0, 0], axis=1) == pytest.approx(5.0)


def test_error_falls_with_bits():
    """SQNR of a quantized conv rises by about 6 dB per bit (end-to-end use of the float twins)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 8, 8, 4))
    w = rng.normal(size=(6, 3, 3, 4))
    ref = golden.conv2d_float(x, w, padding="SAME")
    sqnr = []
    for bits in (4, 8, 12):
        px, pw = (
            golden.choose_qparams(x, bits),
            golden.choose_qparams(w, bits, symmetric=True, axis=0),
        )
        xq, wq = px.quantize(x), pw.quantize(w)
        acc = golden.conv2d_acc(
            xq, wq, None, x_zp=int(px.zero_point), padding="SAME", a_bits=bits, w_bits=bits
        )
        sqnr.append(golden.sqnr_db(ref, acc * (float(px.scale) * pw.scale)))
    assert sqnr[0] + 15 < sqnr[1] and sqnr[1] + 15 < sqnr[2]
