"""golden.hostops.fixedpoint against scalar transcriptions of gemmlowp and TFLite (Python ints)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from golden.hostops import fixedpoint as fp
from tests.golden import tflite_ref
from tests.golden.hostops import gemmlowp_ref as ref

RNG = np.random.default_rng(1234)
EDGES = [fp.INT32_MIN, fp.INT32_MIN + 1, -(1 << 30), -1, 0, 1, 1 << 30, fp.INT32_MAX]
INT32 = np.concatenate([EDGES, RNG.integers(fp.INT32_MIN, fp.INT32_MAX, 400, endpoint=True)])


def test_saturating_rounding_doubling_high_mul():
    a, b = (g.ravel() for g in np.meshgrid(INT32[:60], INT32[:60]))
    got = fp.saturating_rounding_doubling_high_mul(a, b)
    want = [tflite_ref.saturating_rounding_doubling_high_mul(int(x), int(y))
            for x, y in zip(a, b, strict=True)]
    assert got.tolist() == want
    assert fp.saturating_rounding_doubling_high_mul(fp.INT32_MIN, fp.INT32_MIN) == fp.INT32_MAX


@pytest.mark.parametrize("exponent", [0, 1, 2, 5, 12, 30, 31])
def test_rounding_divide_by_pot(exponent):
    got = fp.rounding_divide_by_pot(INT32, exponent)
    assert got.tolist() == [tflite_ref.rounding_divide_by_pot(int(x), exponent) for x in INT32]


@pytest.mark.parametrize("exponent", [-3, -1, 0, 1, 2, 5])
def test_saturating_rounding_multiply_by_pot(exponent):
    got = fp.saturating_rounding_multiply_by_pot(INT32, exponent)
    want = [ref.saturating_rounding_multiply_by_pot(int(x), exponent) for x in INT32]
    assert got.tolist() == want


def test_rounding_half_sum_and_clz():
    a, b = INT32[:200], INT32[200:400]
    assert fp.rounding_half_sum(a, b).tolist() == [
        ref.rounding_half_sum(int(x), int(y)) for x, y in zip(a, b, strict=True)]
    assert fp.count_leading_zeros_u32(INT32).tolist() == [
        32 - (int(x) & 0xFFFFFFFF).bit_length() for x in INT32]


def test_multiply_by_quantized_multiplier_matches_tflite_and_wraps():
    x = RNG.integers(-(1 << 20), 1 << 20, 300)
    m = RNG.integers(1 << 30, 1 << 31, 300)
    s = RNG.integers(-31, 8, 300)
    got = fp.multiply_by_quantized_multiplier(x, m, s)
    assert got.tolist() == [tflite_ref.multiply_by_quantized_multiplier(int(a), int(b), int(c))
                            for a, b, c in zip(x, m, s, strict=True)]
    # x * 2^left wraps to int32 as the compiled C++ does: 2^29 * 4 = 2^31 -> INT32_MIN.
    assert fp.multiply_by_quantized_multiplier(np.array(1 << 29), 1 << 30, 2) == -(1 << 30)


def test_exp_on_negative_values_matches_gemmlowp_and_exp():
    a = np.concatenate([[0, -1, -(1 << 24), -(1 << 26), -(1 << 30), fp.INT32_MIN],
                        -RNG.integers(0, 1 << 31, 2000)])
    got = fp.exp_on_negative_values(a, 5)
    assert got.tolist() == [ref.exp_on_negative_values(int(v), 5) for v in a]
    real = np.exp(a / float(1 << 26))
    assert np.max(np.abs(got / float(1 << 31) - real)) < 1e-6  # gemmlowp: about 2^-22


def test_one_over_one_plus_x_and_get_reciprocal():
    a = np.concatenate([[0, 1, fp.INT32_MAX], RNG.integers(0, 1 << 31, 2000)])
    got = fp.one_over_one_plus_x_for_x_in_0_1(a)
    assert got.tolist() == [ref.one_over_one_plus_x_for_x_in_0_1(int(v)) for v in a]
    assert np.max(np.abs(got / float(1 << 31) - 1 / (1 + a / float(1 << 31)))) < 1e-8
    sums = RNG.integers(1 << 19, 1 << 28, 500)
    scale, bits = fp.get_reciprocal(sums, 12)
    want = [ref.get_reciprocal(int(v), 12) for v in sums]
    assert list(zip(scale.tolist(), bits.tolist(), strict=True)) == want
    # 1/sum = scale * 2^-bits (Q0.31 scale of the sum normalized to [1, 2)).
    approx = scale / float(1 << 31) / 2.0 ** bits.astype(float)
    assert np.allclose(approx, (1 << 19) / sums.astype(float), rtol=1e-7)
    assert math.isclose(float(fp.wrap_int32(np.array(1 << 31))), -(1 << 31))
