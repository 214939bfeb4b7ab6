"""Scalar Python-int transcription of gemmlowp's fixed-point exp and reciprocal, as an oracle.

Written line by line from fixedpoint/fixedpoint.h and TFLite's GetReciprocal (internal/common.h),
independently of the vectorized golden.hostops.fixedpoint; int32 overflow wraps where the C++
would. SaturatingRoundingDoublingHighMul and RoundingDivideByPOT come from tests/golden/tflite_ref.
"""

from __future__ import annotations

from tests.golden.tflite_ref import (
    INT32_MAX,
    INT32_MIN,
    c_div,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)

__all__ = [
    "wrap",
    "saturating_rounding_multiply_by_pot",
    "rounding_half_sum",
    "exp_on_negative_values",
    "one_over_one_plus_x_for_x_in_0_1",
    "get_reciprocal",
]


def wrap(v: int) -> int:
    return (v + (1 << 31)) % (1 << 32) - (1 << 31)


def saturating_rounding_multiply_by_pot(x: int, exponent: int) -> int:
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (32 - 1 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return x * (1 << exponent)


def rounding_half_sum(a: int, b: int) -> int:
    s = a + b
    sign = 1 if s >= 0 else -1
    return c_div(s + sign, 2)


def _mul(a: int, b: int) -> int:
    return saturating_rounding_doubling_high_mul(a, b)


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a: int) -> int:
    constant_term = 1895147668
    constant_1_over_3 = 715827883
    x = wrap(a + (1 << 28))
    x2 = _mul(x, x)
    x3 = _mul(x2, x)
    x4 = _mul(x2, x2)
    x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2)
    x4_over_24_plus_x3_over_6_plus_x2_over_2 = saturating_rounding_multiply_by_pot(
        wrap(_mul(wrap(x4_over_4 + x3), constant_1_over_3) + x2), -1)
    return wrap(constant_term + _mul(constant_term,
                                     wrap(x + x4_over_24_plus_x3_over_6_plus_x2_over_2)))


def exp_on_negative_values(a: int, integer_bits: int = 5) -> int:
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_one_quarter = wrap((a & mask) - one_quarter)
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, integer_bits))
    remainder = wrap(a_mod_quarter_minus_one_quarter - a)
    for exponent, multiplier in ((-2, 1672461947), (-1, 1302514674), (0, 790015084),
                                 (1, 290630308), (2, 39332535), (3, 720401), (4, 242)):
        if integer_bits > exponent:
            shift_amount = fractional_bits + exponent
            if remainder & (1 << shift_amount):
                result = _mul(result, multiplier)
    if integer_bits > 5:
        clamp = -(1 << (36 - integer_bits))
        if a < clamp:
            result = 0
    if a == 0:
        result = INT32_MAX
    return result


def one_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    half_denominator = rounding_half_sum(a, INT32_MAX)
    constant_48_over_17 = 1515870810
    constant_neg_32_over_17 = -1010580540
    x = wrap(constant_48_over_17 + _mul(half_denominator, constant_neg_32_over_17))
    for _ in range(3):
        half_denominator_times_x = _mul(half_denominator, x)
        one_minus_half_denominator_times_x = wrap((1 << 29) - half_denominator_times_x)
        x = wrap(x + saturating_rounding_multiply_by_pot(
            _mul(x, one_minus_half_denominator_times_x), 2))
    return saturating_rounding_multiply_by_pot(x, 1)


def get_reciprocal(x: int, x_integer_digits: int) -> tuple[int, int]:
    u = x & 0xFFFFFFFF
    headroom_plus_one = 32 - u.bit_length()
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted_sum_minus_one = wrap(((u << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit
