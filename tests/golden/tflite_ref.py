"""Plain-Python-int transcription of TFLite's and gemmlowp's reference requantization.

Written from the C++ sources (gemmlowp/fixedpoint/fixedpoint.h and
tensorflow/lite/kernels/internal/common.h), scalar by scalar, as an oracle independent of the
vectorized golden code. Two deliberate deviations, both from DESIGN.md: ``x * (1 << left_shift)`` is
not wrapped to int32 (the golden model is exact for wide accumulators), and the mult_bits-wide m0
is scaled back by ``2^(32 - mult_bits)`` before use.

``"halfup"`` (both roundings half up, TFLite's optimized kernels) is written independently of the
C++ transcriptions and of golden's shifts: each rounding is ``floor(v + 1/2)`` of an exact
rational (:func:`multiply_by_quantized_multiplier_half_up`).
"""

from __future__ import annotations

import math
from fractions import Fraction

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def c_div(a: int, b: int) -> int:
    """C++ integer division: truncation toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def saturating_rounding_doubling_high_mul(a: int, b: int) -> int:
    # std::int32_t SaturatingRoundingDoublingHighMul(std::int32_t a, std::int32_t b)
    overflow = a == b and a == INT32_MIN
    ab_64 = a * b
    nudge = (1 << 30) if ab_64 >= 0 else (1 - (1 << 30))
    ab_x2_high32 = c_div(ab_64 + nudge, 1 << 31)
    return INT32_MAX if overflow else ab_x2_high32


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    # IntegerType RoundingDivideByPOT(IntegerType x, int exponent)
    assert 0 <= exponent <= 31
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x: int, quantized_multiplier: int, shift: int) -> int:
    # int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t quantized_multiplier, int shift)
    left_shift = shift if shift > 0 else 0
    right_shift = 0 if shift > 0 else -shift
    return rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x * (1 << left_shift), quantized_multiplier),
        right_shift,
    )


def multiply_by_quantized_multiplier_single_rounding(
    x: int, quantized_multiplier: int, shift: int
) -> int:
    # The TFLITE_SINGLE_ROUNDING variant of MultiplyByQuantizedMultiplier.
    assert quantized_multiplier >= 0
    assert -31 <= shift <= 30
    total_shift = 31 - shift
    round_ = 1 << (total_shift - 1)
    result = x * quantized_multiplier + round_
    return result >> total_shift


def round_half_up(f: Fraction) -> int:
    """The integer nearest to an exact rational, ties toward +inf: floor(f + 1/2)."""
    return math.floor(f + Fraction(1, 2))


def multiply_by_quantized_multiplier_half_up(x: int, quantized_multiplier: int, shift: int) -> int:
    """DESIGN.md "halfup": y = round_half_up(x 2^l m0 / 2^31), then round_half_up(y / 2^r)."""
    left, right = max(shift, 0), max(-shift, 0)
    y = round_half_up(Fraction(x * 2**left * quantized_multiplier, 2**31))
    return round_half_up(Fraction(y, 2**right))


def round_half_away(f: Fraction) -> int:
    """std::round on an exact rational."""
    n = abs(f)
    r = int(n + Fraction(1, 2))  # floor for non-negative
    return r if f >= 0 else -r


def reduce_multiplier(m0: int, shift: int, mult_bits: int) -> tuple[int, int]:
    """DESIGN.md: m0_B = round_half_away(m0 / 2^(32-B)); 2^(B-1) is halved with shift + 1."""
    if mult_bits == 32:
        return m0, shift
    m0_b = round_half_away(Fraction(m0, 1 << (32 - mult_bits)))
    if m0_b == 1 << (mult_bits - 1):
        m0_b //= 2
        shift += 1
    return m0_b, shift


def requantize(
    acc: int,
    m0_b: int,
    shift: int,
    *,
    y_zp: int,
    act_min: int,
    act_max: int,
    rounding: str,
    mult_bits: int,
) -> int:
    """One output value; m0_b is the mult_bits-wide multiplier."""
    m0 = m0_b << (32 - mult_bits)
    if rounding == "tflite":
        scaled = multiply_by_quantized_multiplier(acc, m0, shift)
    elif rounding == "halfup":
        scaled = multiply_by_quantized_multiplier_half_up(acc, m0, shift)
    elif rounding == "single":
        scaled = multiply_by_quantized_multiplier_single_rounding(acc, m0, shift)
    else:
        raise ValueError(f"unknown rounding {rounding!r}")
    return min(max(scaled + y_zp, act_min), act_max)
