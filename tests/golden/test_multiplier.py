"""quantize_multiplier / reduce_multiplier: TFLite's convention, DESIGN.md's mult_bits rule."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import golden
from tests.golden import tflite_ref as ref


def _tflite_quantize_multiplier(real: float) -> tuple[int, int]:
    """Transcription of tflite::QuantizeMultiplier (quantization_util.cc) in Python ints."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = ref.round_half_away(Fraction(q) * (1 << 31))
    assert q_fixed <= 1 << 31
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if shift > 30:
        shift, q_fixed = 30, (1 << 31) - 1
    return q_fixed, shift


def test_scalar_gives_0d_arrays_and_known_values():
    m0, shift = golden.quantize_multiplier(0.5)
    assert m0.shape == () and m0.dtype == np.int64 and shift.dtype == np.int64
    assert (int(m0), int(shift)) == (1 << 30, 0)
    assert tuple(map(int, golden.quantize_multiplier(1.0))) == (1 << 30, 1)
    assert tuple(map(int, golden.quantize_multiplier(0.0))) == (0, 0)


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0.0, max_value=2.0**32, allow_nan=False, allow_infinity=False))
def test_matches_tflite_quantize_multiplier(real):
    m0, shift = golden.quantize_multiplier(real)
    assert (int(m0), int(shift)) == _tflite_quantize_multiplier(real)


def test_vectorized_over_channels():
    rng = np.random.default_rng(0)
    real = np.exp(rng.uniform(-25, 5, size=200))
    m0, shift = golden.quantize_multiplier(real)
    assert m0.shape == shift.shape == (200,)
    assert [(int(a), int(b)) for a, b in zip(m0, shift, strict=True)] == [
        _tflite_quantize_multiplier(float(r)) for r in real
    ]


@pytest.mark.parametrize("mult_bits", range(8, 33))
def test_round_trip_relative_error(mult_bits):
    """m0 * 2^shift / 2^31 is within 2^-(B-1) of real (relative), plus 2^-31 for B < 32.

    m0_B has B-1 significant bits (in [2^(B-2), 2^(B-1))), so one rounding costs at most half a unit
    in 2^(B-2): 2^-(B-1) relative. DESIGN.md derives m0_B from the already rounded Q31 m0, and that
    first rounding can add up to 0.5 / 2^30 = 2^-31 relative.
    """
    rng = np.random.default_rng(mult_bits)
    real = np.exp(rng.uniform(math.log(2.0**-30), math.log(2.0**29), size=2000))
    m0, shift = golden.quantize_multiplier(real, mult_bits)
    assert np.all(m0 >= 1 << (mult_bits - 2)) and np.all(m0 < 1 << (mult_bits - 1))
    approx = np.array(
        [
            Fraction(int(a) << (32 - mult_bits)) * Fraction(2) ** int(s) / (1 << 31)
            for a, s in zip(m0, shift, strict=True)
        ]
    )
    rel = np.array(
        [
            abs(a - Fraction(float(r))) / Fraction(float(r))
            for a, r in zip(approx, real, strict=True)
        ]
    )
    bound = Fraction(1, 1 << (mult_bits - 1)) + (Fraction(1, 1 << 31) if mult_bits < 32 else 0)
    assert max(rel) <= bound


@settings(max_examples=300, deadline=None)
@given(
    m0=st.integers(1 << 30, (1 << 31) - 1), shift=st.integers(-31, 29), mult_bits=st.integers(8, 32)
)
def test_reduce_matches_design_rule(m0, shift, mult_bits):
    ours = golden.reduce_multiplier(m0, shift, mult_bits)
    assert (int(ours[0]), int(ours[1])) == ref.reduce_multiplier(m0, shift, mult_bits)


def test_reduce_carry_and_saturation():
    # 2^31 - 1 rounds to 2^(B-1) for B < 32: halved, shift + 1.
    assert tuple(map(int, golden.reduce_multiplier((1 << 31) - 1, 3, 8))) == (64, 4)
    # At shift 30 the carry cannot go to 31: saturate to the largest B-bit value, as TFLite does.
    assert tuple(map(int, golden.reduce_multiplier((1 << 31) - 1, 30, 8))) == (127, 30)
    assert tuple(map(int, golden.reduce_multiplier(0, 0, 8))) == (0, 0)
    m0, shift = golden.reduce_multiplier(np.array([1 << 30, 1 << 30]), np.array([-3, 2]), 16)
    assert m0.tolist() == [1 << 14, 1 << 14] and shift.tolist() == [-3, 2]


def test_quantize_with_mult_bits_is_quantize_then_reduce():
    real = np.array([1e-4, 0.3, 0.999999, 1.7, 123.0])
    for bits in (8, 12, 16, 24):
        q31 = golden.quantize_multiplier(real)
        np.testing.assert_array_equal(
            np.stack(golden.quantize_multiplier(real, bits)),
            np.stack(golden.reduce_multiplier(*q31, bits)),
        )


def test_tiny_flushes_to_zero_and_huge_saturates():
    m0, shift = golden.quantize_multiplier([2.0**-40, 2.0**40])
    assert m0.tolist() == [0, (1 << 31) - 1] and shift.tolist() == [0, 30]


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (
            lambda: golden.quantize_multiplier(-0.5),
            ValueError,
            r"^real must be finite and >= 0, not -0\.5$",
        ),
        (
            lambda: golden.quantize_multiplier(float("nan")),
            ValueError,
            r"^real must be finite and >= 0, not nan$",
        ),
        (
            lambda: golden.quantize_multiplier(0.5, 33),
            ValueError,
            r"^mult_bits must be in \[8, 32\], not 33$",
        ),
        (
            lambda: golden.quantize_multiplier(0.5, 7),
            ValueError,
            r"^mult_bits must be in \[8, 32\], not 7$",
        ),
        (
            lambda: golden.quantize_multiplier(0.5, 8.0),
            TypeError,
            r"^mult_bits must be an integer, not 8\.0$",
        ),
        (
            lambda: golden.reduce_multiplier(1 << 31, 0, 8),
            ValueError,
            r"^m0 must be in \[0, 2\^31\), not 2147483648$",
        ),
        (
            lambda: golden.reduce_multiplier(1 << 30, 31, 8),
            ValueError,
            r"^shift must be in \[-31, 30\], not 31$",
        ),
        (
            lambda: golden.reduce_multiplier(np.array([0.5]), 0, 8),
            TypeError,
            r"^m0 must have an integer dtype",
        ),
    ],
)
def test_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
