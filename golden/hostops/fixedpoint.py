"""gemmlowp's int32 fixed-point arithmetic (fixedpoint/fixedpoint.h), vectorized.

Values are int32 held in int64 ndarrays; each function returns exactly the int32 that gemmlowp's
scalar code returns, including its saturations and (where C++ wraps) two's-complement wrap-around.
A ``FixedPoint<int32, I>`` is represented by its raw integer: the real value is
``raw / 2^(31 - I)``. These are the pieces TFLite's reference SOFTMAX and LOGISTIC are built
from; :func:`multiply_by_quantized_multiplier` is TFLite's int32 ``MultiplyByQuantizedMultiplier``
(double rounding) on top of :func:`golden.requant.multiply_by_quantized_multiplier`.
"""

from __future__ import annotations

import numpy as np

from ..requant import multiply_by_quantized_multiplier as _mbqm_exact

__all__ = [
    "INT32_MIN",
    "INT32_MAX",
    "wrap_int32",
    "saturating_rounding_doubling_high_mul",
    "rounding_divide_by_pot",
    "saturating_rounding_multiply_by_pot",
    "rounding_half_sum",
    "count_leading_zeros_u32",
    "multiply_by_quantized_multiplier",
    "exp_on_negative_values",
    "one_over_one_plus_x_for_x_in_0_1",
    "get_reciprocal",
]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def wrap_int32(x: np.ndarray) -> np.ndarray:
    """Two's-complement wrap of int64 values to int32 (what an overflowing int32 op yields)."""
    return ((np.asarray(x, dtype=np.int64) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def saturating_rounding_doubling_high_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``SaturatingRoundingDoublingHighMul(a, b)`` on int32 operands (ARM VQRDMULH).

    ``(a*b + nudge) / 2^31`` truncated, nudge = 2^30 or 1 - 2^30 by the sign of a*b, which equals
    ``floor((a*b + 2^30) / 2^31)`` (ties up); ``a == b == INT32_MIN`` saturates to INT32_MAX.
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    high = (a * b + (1 << 30)) >> 31
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, high)


def rounding_divide_by_pot(x: np.ndarray, exponent: object) -> np.ndarray:
    """``RoundingDivideByPOT(x, exponent)``: x / 2^exponent rounded, ties away from zero.

    ``exponent`` is an int or an int array in [0, 31], broadcast against ``x``.
    """
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << e) - 1
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + ((x & mask) > threshold)


def saturating_rounding_multiply_by_pot(x: np.ndarray, exponent: int) -> np.ndarray:
    """``SaturatingRoundingMultiplyByPOT<exponent>(x)``: saturating left shift or rounding right.

    For ``exponent > 0``, values beyond ``±(2^(31-exponent) - 1)`` saturate to INT32_MAX/MIN.
    """
    x = np.asarray(x, dtype=np.int64)
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    out = x << exponent
    out = np.where(x > threshold, INT32_MAX, out)
    return np.where(x < -threshold, INT32_MIN, out)


def rounding_half_sum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``RoundingHalfSum(a, b)`` for int32: (a + b + sign) / 2 truncated toward zero."""
    s = np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64)
    t = s + np.where(s >= 0, 1, -1)
    return np.where(t >= 0, t >> 1, -((-t) >> 1))


def count_leading_zeros_u32(x: np.ndarray) -> np.ndarray:
    """``CountLeadingZeros(static_cast<uint32_t>(x))``: 32 for 0; int32 ``x`` is reinterpreted."""
    u = np.asarray(x, dtype=np.int64) & 0xFFFFFFFF
    _, bit_length = np.frexp(u.astype(np.float64))  # exact: u < 2^32 < 2^53
    return 32 - bit_length.astype(np.int64)


def multiply_by_quantized_multiplier(
    x: np.ndarray, quantized_multiplier: object, shift: object
) -> np.ndarray:
    """TFLite's int32 ``MultiplyByQuantizedMultiplier(x, m, shift)`` (double rounding).

    ``RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * 2^left, m), right)`` with
    ``left = max(shift, 0)``, ``right = max(-shift, 0)``; ``x * 2^left`` wraps to int32 as the
    compiled C++ does (it never does for the operands TFLite's own Prepare produces).

    Parameters
    ----------
    x : int64 ndarray
        int32 values.
    quantized_multiplier : int or int64 ndarray
        In [0, 2^31).
    shift : int or int64 ndarray
        In [-31, 30], positive = left; broadcast against ``x``.
    """
    x = np.asarray(x, dtype=np.int64)
    m = np.asarray(quantized_multiplier, dtype=np.int64)
    s = np.asarray(shift, dtype=np.int64)
    left = np.maximum(s, 0)
    if np.any(left):
        x = wrap_int32(x << left)
    return _mbqm_exact(x, m, np.minimum(s, 0), "tflite")


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a: np.ndarray) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor series around -1/8."""
    srdhm = saturating_rounding_doubling_high_mul
    constant_term = 1895147668  # exp(-1/8)
    constant_1_over_3 = 715827883
    x = a + (1 << 28)  # a + 1/8
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(srdhm(x4_over_4 + x3, constant_1_over_3) + x2, 1)
    return wrap_int32(constant_term + srdhm(constant_term, x + poly))


# exp(-2^k) in Q0.31 for k = -2..4 (gemmlowp's barrel-shifter constants).
_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """``exp_on_negative_values(FixedPoint<int32, integer_bits>)``: exp(a) for a <= 0, in Q0.31.

    Parameters
    ----------
    a : int64 ndarray
        Raw values of a Q(integer_bits).(31 - integer_bits) number, <= 0.
    integer_bits : int
        0..31 (TFLite's softmax uses 5).

    Returns
    -------
    int64 ndarray
        Raw Q0.31 results; exp(0) is INT32_MAX.
    """
    a = np.asarray(a, dtype=np.int64)
    frac_bits = 31 - integer_bits
    one_quarter = 1 << (frac_bits - 2)
    a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, integer_bits)
    )
    remainder = a_mod_quarter_minus_one_quarter - a
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = (remainder >> (frac_bits + exponent)) & 1
            result = np.where(
                bit != 0, saturating_rounding_doubling_high_mul(result, multiplier), result
            )
    if integer_bits > 5:
        clamp = -(1 << (36 - integer_bits))  # -32.0
        result = np.where(a < clamp, 0, result)
    return np.where(a == 0, INT32_MAX, result)


def one_over_one_plus_x_for_x_in_0_1(a: np.ndarray) -> np.ndarray:
    """``one_over_one_plus_x_for_x_in_0_1``: 1 / (1 + a) for a in [0, 1), Q0.31 in and out.

    Newton-Raphson in Q2.29 with gemmlowp's 48/17 and -32/17 starting constants, 3 iterations.
    """
    srdhm = saturating_rounding_doubling_high_mul
    half_denominator = rounding_half_sum(a, INT32_MAX)
    constant_48_over_17 = 1515870810
    constant_neg_32_over_17 = -1010580540
    one_q2 = 1 << 29
    x = wrap_int32(constant_48_over_17 + srdhm(half_denominator, constant_neg_32_over_17))
    for _ in range(3):
        half_denominator_times_x = srdhm(half_denominator, x)
        one_minus = wrap_int32(one_q2 - half_denominator_times_x)
        x = wrap_int32(x + saturating_rounding_multiply_by_pot(srdhm(x, one_minus), 2))
    return saturating_rounding_multiply_by_pot(x, 1)


def get_reciprocal(x: np.ndarray, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's ``GetReciprocal(x, x_integer_digits, &num_bits_over_unit)``.

    Returns
    -------
    shifted_scale : int64 ndarray
        Raw Q0.31 ``1 / (x normalized to [1, 2))``.
    num_bits_over_unit : int64 ndarray
        ``x_integer_digits - CountLeadingZeros(uint32(x))``.
    """
    x = np.asarray(x, dtype=np.int64)
    headroom_plus_one = count_leading_zeros_u32(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted = ((x & 0xFFFFFFFF) << headroom_plus_one) & 0xFFFFFFFF
    shifted_sum_minus_one = wrap_int32(shifted - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit
