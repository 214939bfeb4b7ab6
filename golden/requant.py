"""Requantization of exact accumulators to the output width, bit-exact with TFLite.

``rounding="tflite"`` is gemmlowp's MultiplyByQuantizedMultiplier:
``RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc * 2^max(shift,0), m0), max(-shift,0))``
with two roundings (ties up in the high multiply, ties away from zero in the shift).
``rounding="single"`` is TFLITE_SINGLE_ROUNDING: ``(acc * m0 + 2^(30-shift)) >> (31-shift)``.
``rounding="halfup"`` is the double rounding of TFLite's optimized kernels: the same high multiply
as ``"tflite"``, ``y = ((acc * 2^l) * m0 + 2^30) >> 31``, then ``(y + 2^(r-1)) >> r`` (ties up
instead of away from zero), with ``l = max(shift, 0)`` and ``r = max(-shift, 0)``; it differs from
``"tflite"`` only where ``y / 2^r`` is a negative tie.
All are evaluated exactly (no int32 wrap of ``acc * 2^shift``): in int64 when every intermediate
provably fits, else in Python integers (object arrays), which wide accumulators need (acc_bits up to
48 times a Q31 m0 times a left shift overflows int64).
"""

from __future__ import annotations

import numpy as np

from ._check import check_int, int_array
from .multiplier import SHIFT_MAX, SHIFT_MIN

__all__ = ["requantize", "multiply_by_quantized_multiplier", "ROUNDINGS"]

#: The requantization rounding modes (DESIGN.md, "Requantization").
ROUNDINGS = ("tflite", "single", "halfup")
#: The modes that round twice (high multiply, then a rounding shift by ``max(-shift, 0)``).
_DOUBLE = ("tflite", "halfup")
_INT64_LIMIT = (1 << 63) - 1


def _check_params(m0: object, shift: object, mult_bits: int) -> tuple[np.ndarray, np.ndarray]:
    m0 = int_array("m0", m0)
    shift = int_array("shift", shift)
    for name, arr in (("m0", m0), ("shift", shift)):
        if arr.ndim > 1:
            raise ValueError(
                f"{name} must be a scalar or a 1-D per-channel array, not shape {arr.shape}"
            )
    top = 1 << (mult_bits - 1)
    if m0.size and (m0.min() < 0 or m0.max() >= top):
        bad = int(m0.min()) if m0.min() < 0 else int(m0.max())
        raise ValueError(
            f"m0 must be in [0, 2^{mult_bits - 1}) for mult_bits={mult_bits}, not {bad}"
        )
    if shift.size and (shift.min() < SHIFT_MIN or shift.max() > SHIFT_MAX):
        bad = int(shift.min()) if shift.min() < SHIFT_MIN else int(shift.max())
        raise ValueError(f"shift must be in [{SHIFT_MIN}, {SHIFT_MAX}], not {bad}")
    return m0, shift


def multiply_by_quantized_multiplier(
    acc: np.ndarray, m0: np.ndarray, shift: np.ndarray, rounding: str = "tflite"
) -> np.ndarray:
    """Exact scaled accumulator ``~ acc * m0 * 2^shift / 2^31`` before zero point and clamp.

    Parameters
    ----------
    acc : int64 ndarray, shape (..., C)
        Accumulators.
    m0 : int64 ndarray, shape () or (C,)
        Q31 multipliers in [0, 2^31) (already scaled by ``2^(32 - mult_bits)``).
    shift : int64 ndarray, shape () or (C,)
        Shifts in [-31, 30], positive = left.
    rounding : {"tflite", "single", "halfup"}

    Returns
    -------
    int64 ndarray or object ndarray, shape of ``acc``
        Object (Python int) elements only when the result does not fit int64.
    """
    amax = max(abs(int(acc.max())), abs(int(acc.min()))) if acc.size else 0
    mmax = max(int(m0.max()) if m0.size else 0, 1)
    if rounding in _DOUBLE:
        left_max = int(max(shift.max(), 0)) if shift.size else 0
        wide = ((amax << left_max) * mmax + (1 << 30)) > _INT64_LIMIT
    else:
        wide = amax * mmax + (1 << 61) > _INT64_LIMIT
    if not wide:
        return _mbqm_int64(acc, m0, shift, rounding)
    if amax < 1 << 62 and (shift.size == 0 or int(shift.max()) <= 0):
        return _mbqm_limbs(acc, m0, shift, rounding)
    return _mbqm_exact(acc.astype(object), m0.astype(object), shift.astype(object), rounding)


def _mbqm_exact(acc: np.ndarray, m0: np.ndarray, shift: np.ndarray, rounding: str) -> np.ndarray:
    """Literal transcription of the formulas; works on int64 and on Python-int object arrays."""
    if rounding in _DOUBLE:
        left = np.maximum(shift, 0)
        right = np.maximum(-shift, 0)
        ab = (acc << left) * m0
        # SaturatingRoundingDoublingHighMul: (ab + nudge) / 2^31 truncating, nudge = 2^30 or
        # 1 - 2^30 by sign, equals floor((ab + 2^30) / 2^31) for all ab (ties up). It never
        # saturates here: m0 >= 0 so a == b == INT32_MIN cannot happen.
        high = (ab + (1 << 30)) >> 31
        if rounding == "halfup":
            # floor(high / 2^r + 1/2); (1 << r) >> 1 is 0 for r = 0 (no rounding).
            return (high + ((np.ones_like(right) << right) >> 1)) >> right
        # RoundingDivideByPOT: ties away from zero.
        mask = (np.ones_like(right) << right) - 1
        threshold = (mask >> 1) + (high < 0)
        return (high >> right) + ((high & mask) > threshold)
    total = 31 - shift
    return (acc * m0 + (np.ones_like(total) << (total - 1))) >> total


def _mbqm_int64(acc: np.ndarray, m0: np.ndarray, shift: np.ndarray, rounding: str) -> np.ndarray:
    """The integers of :func:`_mbqm_exact`, in place on int64 (the caller proved no overflow)."""
    out = np.empty(np.broadcast_shapes(acc.shape, m0.shape, shift.shape), dtype=np.int64)
    if rounding == "single":
        total = 31 - shift
        np.multiply(acc, m0, out=out)
        out += np.left_shift(1, total - 1)
        out >>= total
        return out
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    if np.any(left):
        np.left_shift(acc, left, out=out)
        out *= m0
    else:
        np.multiply(acc, m0, out=out)
    out += 1 << 30
    out >>= 31  # high = floor((ab + 2^30) / 2^31), see _mbqm_exact
    return _second_rounding(out, right, rounding)


def _mbqm_limbs(acc: np.ndarray, m0: np.ndarray, shift: np.ndarray, rounding: str) -> np.ndarray:
    """Wide accumulators (|acc| < 2^62) with shift <= 0, exactly in int64 limbs.

    With acc = a1 * 2^31 + a0 (0 <= a0 < 2^31, |a1| <= 2^31) and m0 < 2^31, for any c >= 0:
    floor((acc * m0 + c) / 2^31) = a1 * m0 + floor((a0 * m0 + c) / 2^31), and every term fits
    int64. The high multiply uses c = 2^30; single rounding with total shift T = 31 - shift >= 31
    uses c = 2^(T-1) and then floors by the remaining 2^(T-31) (nested floors compose).
    """
    a1 = acc >> 31
    a0 = acc & ((1 << 31) - 1)
    out = np.empty(np.broadcast_shapes(acc.shape, m0.shape, shift.shape), dtype=np.int64)
    np.multiply(a0, m0, out=out)
    if rounding == "single":
        total = 31 - shift
        out += np.left_shift(1, total - 1)
        out >>= 31
        out += a1 * m0
        out >>= total - 31
        return out
    out += 1 << 30
    out >>= 31
    out += a1 * m0
    return _second_rounding(out, -shift, rounding)


def _second_rounding(out: np.ndarray, right: np.ndarray, rounding: str) -> np.ndarray:
    """The rounding shift of a double-rounding mode on int64 ``out`` by 2^right, in place."""
    if rounding == "halfup":
        if np.any(right):
            out += np.left_shift(1, right) >> 1
            out >>= right
        return out
    return _rounding_divide_by_pot(out, right)


def _rounding_divide_by_pot(out: np.ndarray, right: np.ndarray) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT of int64 ``out`` by 2^right (right >= 0), in place."""
    if not np.any(right):
        return out
    # RoundingDivideByPOT(x, r) = floor((x + 2^(r-1) - [x < 0]) / 2^r) for r > 0 (ties away
    # from zero); [x < 0] is -(x >> 63), and channels with r = 0 must not get it.
    neg = out >> 63
    if not np.all(right):
        neg &= -(right > 0).astype(np.int64)
    out += np.left_shift(1, right) >> 1
    out += neg
    out >>= right
    return out


def requantize(
    acc: object,
    m0: object,
    shift: object,
    *,
    y_zp: int = 0,
    act_min: int = -128,
    act_max: int = 127,
    rounding: str = "tflite",
    mult_bits: int = 32,
) -> np.ndarray:
    """Requantize exact accumulators per output channel (DESIGN.md, "Requantization").

    Parameters
    ----------
    acc : int ndarray, shape (..., C)
        Exact accumulators including bias; ``|acc| < 2^62``.
    m0 : int or (C,) int array
        The mult_bits-wide multipliers, in ``[0, 2^(mult_bits-1))`` (as returned by
        ``quantize_multiplier(real, mult_bits)``), broadcast along the last axis of ``acc``.
    shift : int or (C,) int array
        In [-31, 30], positive = left.
    y_zp : int
        Output zero point, added after scaling.
    act_min, act_max : int
        Inclusive output clamp (a fused ReLU/ReLU6 is a clamp).
    rounding : {"tflite", "single", "halfup"}
        Double rounding (gemmlowp, TFLite's reference kernels), single rounding
        (TFLITE_SINGLE_ROUNDING) or double rounding with both steps half up (TFLite's
        optimized kernels).
    mult_bits : int
        Width of m0, 8..32; the formulas use ``m0 * 2^(32 - mult_bits)``.

    Returns
    -------
    int64 ndarray, shape of ``acc``
        ``clamp(scaled + y_zp, act_min, act_max)``.

    Raises
    ------
    TypeError
        If ``acc``, ``m0`` or ``shift`` is not an integer array.
    ValueError
        Naming the parameter for out-of-range m0, shift, rounding, clamp or mismatched shapes.

    Examples
    --------
    >>> requantize(np.array([100, 3, -3]), 1 << 30, 0).tolist()  # times 0.5, ties up
    [50, 2, -1]
    >>> requantize(np.array([-2, 2]), 1 << 30, -1).tolist()  # times 0.25: -0.5 away from zero
    [-1, 1]
    >>> requantize(np.array([-2, 2]), 1 << 30, -1, rounding="halfup").tolist()  # -0.5 up
    [0, 1]
    """
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {', '.join(ROUNDINGS)}, not {rounding!r}")
    mult_bits = check_int("mult_bits", mult_bits, 8, 32)
    acc = int_array("acc", acc)
    if acc.size and max(-int(acc.min()), int(acc.max())) >= 1 << 62:
        raise ValueError(
            f"acc must satisfy |acc| < 2^62, found {max(-int(acc.min()), int(acc.max()))}"
        )
    m0, shift = _check_params(m0, shift, mult_bits)
    y_zp = check_int("y_zp", y_zp)
    act_min = check_int("act_min", act_min)
    act_max = check_int("act_max", act_max)
    if act_min > act_max:
        raise ValueError(f"act_min must be <= act_max, not act_min={act_min} > act_max={act_max}")
    channels = acc.shape[-1] if acc.ndim else 1
    for name, arr in (("m0", m0), ("shift", shift)):
        if arr.ndim == 1 and arr.shape[0] not in (1, channels):
            raise ValueError(
                f"{name} has {arr.shape[0]} channels but the last axis of acc has {channels} "
                f"(acc shape {acc.shape})"
            )
    m0_eff = m0 << (32 - mult_bits)
    out = multiply_by_quantized_multiplier(acc, m0_eff, shift, rounding)
    if out.dtype == object:
        return np.clip(out + y_zp, act_min, act_max).astype(np.int64)
    # Clamp before adding y_zp so that the int64 sum cannot overflow.
    np.clip(out, act_min - y_zp, act_max - y_zp, out=out)
    out += y_zp
    return out
