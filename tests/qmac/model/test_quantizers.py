"""qmac.model.quantizers: fake quantization against golden's integer path, the STE mask, the
narrow weight range."""

from __future__ import annotations

import numpy as np
import pytest

import golden
from golden.affine import round_half_away
from qmac.model import quantizers as Q


def _values(rng, n, scale, zp, lo, hi):
    """Random reals over and beyond the range, plus exact rounding ties and the clamp edges."""
    span = np.arange(lo - 3, hi + 4)
    ties = (span - zp + 0.5) * scale
    edges = (np.array([lo, hi]) - zp) * scale
    wide = rng.uniform((lo - zp - 4) * scale, (hi - zp + 4) * scale, size=n)
    return np.concatenate([wide, ties, -ties, edges, edges + 0.49 * scale, edges - 0.51 * scale])


@pytest.mark.parametrize("bits", [2, 3, 4, 8, 16])
def test_fake_quant_equals_dequantize_of_the_integer_path(bits):
    rng = np.random.default_rng(bits)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    for _ in range(5):
        scale = float(rng.uniform(1e-3, 2.0))
        zp = int(rng.integers(lo, hi + 1))
        r = _values(rng, 500, scale, zp, lo, hi)
        got, _ = Q.fake_quant(r, scale, zp, lo, hi)
        want = golden.dequantize(golden.quantize(r, scale, zp, bits), scale, zp)
        assert np.array_equal(got, want)  # bit for bit, not approximately
        # and with a narrower clamp (a fused ReLU: act_min = Z)
        got, _ = Q.fake_quant(r, scale, zp, zp, hi)
        want = golden.dequantize(np.clip(golden.quantize(r, scale, zp, bits), zp, hi), scale, zp)
        assert np.array_equal(got, want)


def test_fake_quant_per_channel_equals_golden():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 3, 3, 4))
    scale = rng.uniform(0.01, 0.5, size=6)
    got, _ = Q.fake_quant(w, scale.reshape(6, 1, 1, 1), 0, -7, 7)
    q = np.clip(golden.quantize(w, scale, 0, 4, axis=0), -7, 7)
    assert np.array_equal(got, golden.dequantize(q, scale, 0, axis=0))


def test_ste_mask_is_identity_inside_the_range_and_zero_outside():
    """d fake_quant / d r by the STE: 1 where the clamp leaves the code alone, 0 where it clips.
    The value is flat (clipped) exactly where the mask is 0."""
    scale, zp, lo, hi = 0.25, -3, -8, 7
    r = np.linspace(-4.0, 4.0, 2001)
    value, inside = Q.fake_quant(r, scale, zp, lo, hi)
    code = round_half_away(r / scale) + zp
    assert np.array_equal(inside, (code >= lo) & (code <= hi))
    r_lo, r_hi = (lo - zp) * scale, (hi - zp) * scale
    assert inside[(r > r_lo + scale) & (r < r_hi - scale)].all()  # well inside: gradient 1
    assert not inside[(r < r_lo - scale) | (r > r_hi + scale)].any()  # clipped: gradient 0
    assert np.all(value[~inside & (r > 0)] == r_hi) and np.all(value[~inside & (r < 0)] == r_lo)
    # the STE gradient of sum(c * fake_quant(r)) is c * mask: what qat_forward_backward uses
    c = np.random.default_rng(1).normal(size=r.shape)
    ste = c * inside
    assert np.array_equal(ste[inside], c[inside]) and not ste[~inside].any()


@pytest.mark.parametrize("method", ["minmax", "mse"])
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_weights_use_the_narrow_range(method, bits):
    """Codes in ±(2^(b-1) - 1) even when the MSE scale clips (golden would allow -2^(b-1))."""
    rng = np.random.default_rng(bits)
    w = rng.standard_t(2, size=(8, 3, 3, 5))  # heavy tails: the MSE range clips
    w[0, 0, 0, 0] = -np.abs(w).max() * 3  # the most negative weight is an outlier
    n = (1 << (bits - 1)) - 1
    s = Q.weight_scale(w, bits, 0, method)
    q = Q.quantize_weights(w, s, bits, 0)
    assert q.min() >= -n and q.max() <= n
    assert np.array_equal(Q.quantize_weights(-w, s, bits, 0), -q)  # symmetric
    raw = golden.quantize(w, s, 0, bits, axis=0)
    if method == "mse":
        assert raw.min() == -n - 1  # the clipped range reaches -2^(b-1) in golden ...
    assert np.array_equal(q, np.clip(raw, -n, n))  # ... and quantize_weights narrows it
    value, inside, scale = Q.fake_quant_weights(w, bits, 0, method)
    assert np.array_equal(scale, s)
    assert np.array_equal(value, golden.dequantize(q, s, 0, axis=0))
    if method == "minmax":
        assert inside.all()


def test_bad_weight_method_and_width():
    w = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"^w_method must be one of minmax, mse, not 'kl'$"):
        Q.weight_scale(w, 4, 0, "kl")
    with pytest.raises(ValueError, match=r"^w_bits must be in \[2, 16\], not 1$"):
        Q.weight_scale(w, 1, 0)


def test_a_dead_channel_gets_the_scale_floor():
    """Weights of ~1e-10 (a channel QAT's weight decay has killed): the scale is floored at
    WEIGHT_SCALE_FLOOR of the layer's largest, the weights round to 0 and the bias code stays
    small, so an accumulator of the array's width can hold it."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3, 3, 1))
    w[2] *= 1e-10
    s = Q.weight_scale(w, 4, 0)
    assert s[2] == pytest.approx(Q.WEIGHT_SCALE_FLOOR * s.max(), rel=1e-15)
    assert np.array_equal(s[[0, 1, 3]], np.abs(w[[0, 1, 3]]).max(axis=(1, 2, 3)) / 7)
    assert not Q.quantize_weights(w, s, 4, 0)[2].any()
    assert abs(0.5 / (s[2] * 0.1)) < 2**16  # |bias| 0.5 at S_x 0.1 fits a 20-bit accumulator
