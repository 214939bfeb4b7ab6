"""Decomposition of a real requantization multiplier into (m0, shift), TFLite's convention.

``real ~= m0 * 2^shift / 2^31`` with m0 a Q31 integer in [2^30, 2^31) and shift signed, positive
meaning a left shift (TFLite ``QuantizeMultiplier``). With ``mult_bits = B < 32`` m0 keeps B
significant bits (DESIGN.md, "Multiplier"): ``m0_B = round_half_away(m0 / 2^(32-B))``; if that
reaches ``2^(B-1)`` it is halved and shift incremented. The requantizer then uses
``m0_B * 2^(32-B)`` so hardware multiplies by a B-bit constant and computes the same integers.
"""

from __future__ import annotations

import numpy as np

from ._check import check_int, int_array

__all__ = ["quantize_multiplier", "reduce_multiplier", "SHIFT_MIN", "SHIFT_MAX"]

SHIFT_MIN = -31
SHIFT_MAX = 30


def _saturate(m0: np.ndarray, shift: np.ndarray, mult_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's limits: shift < -31 flushes to (0, 0); shift > 30 saturates to the largest value."""
    tiny = shift < SHIFT_MIN
    m0 = np.where(tiny, 0, m0)
    shift = np.where(tiny | (m0 == 0), 0, shift)
    huge = shift > SHIFT_MAX
    m0 = np.where(huge, (1 << (mult_bits - 1)) - 1, m0)
    shift = np.where(huge, SHIFT_MAX, shift)
    return m0.astype(np.int64), shift.astype(np.int64)


def quantize_multiplier(real: object, mult_bits: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Split real multipliers into (m0, shift), vectorized over channels.

    Parameters
    ----------
    real : float or (C,) array_like of float
        Non-negative finite multipliers, typically ``S_x * S_w[c] / S_y``.
    mult_bits : int
        Signed width of m0, 8..32. 32 gives TFLite's Q31 form.

    Returns
    -------
    m0 : int64 ndarray, shape of ``real``
        In ``[2^(mult_bits-2), 2^(mult_bits-1))``, or 0 where ``real`` is 0 or below
        ``2^-32`` (flushed to zero as TFLite does).
    shift : int64 ndarray, shape of ``real``
        In [-31, 30]; positive is a left shift. Above ``2^30`` the multiplier saturates to
        ``(2^(mult_bits-1) - 1, 30)``.

    Raises
    ------
    ValueError
        If ``real`` is negative or not finite, or mult_bits is out of range.

    Examples
    --------
    >>> m0, shift = quantize_multiplier(0.5)
    >>> int(m0), int(shift)
    (1073741824, 0)
    """
    mult_bits = check_int("mult_bits", mult_bits, 8, 32)
    r = np.asarray(real, dtype=np.float64)
    if not np.all(np.isfinite(r)) or np.any(r < 0):
        bad = r[~np.isfinite(r) | (r < 0)].ravel()[0]
        raise ValueError(f"real must be finite and >= 0, not {float(bad)!r}")
    q, exp = np.frexp(r)
    # TfLiteRound is std::round: half away from zero; q * 2^31 is exact in float64.
    q_fixed = np.floor(q * float(1 << 31) + 0.5).astype(np.int64)
    exp = exp.astype(np.int64)
    carry = q_fixed == (1 << 31)
    q_fixed = np.where(carry, q_fixed >> 1, q_fixed)
    exp = exp + carry
    m0, shift = _saturate(q_fixed, exp, 32)
    if mult_bits < 32:
        m0, shift = reduce_multiplier(m0, shift, mult_bits)
    return m0, shift


def reduce_multiplier(m0: object, shift: object, mult_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce Q31 multipliers (``mult_bits=32`` form) to ``mult_bits`` significant bits.

    Parameters
    ----------
    m0 : int or (C,) int array_like
        Q31 m0 in [0, 2^31).
    shift : int or (C,) int array_like
        In [-31, 30], broadcast against m0.
    mult_bits : int
        Target signed width, 8..32.

    Returns
    -------
    m0_b, shift_b : int64 ndarray
        ``m0_b = round_half_away(m0 / 2^(32-mult_bits))``; where that equals
        ``2^(mult_bits-1)`` it is halved and shift incremented (saturating at shift 30).
    """
    mult_bits = check_int("mult_bits", mult_bits, 8, 32)
    m0 = int_array("m0", m0)
    shift = int_array("shift", shift)
    if m0.size and (m0.min() < 0 or m0.max() >= 1 << 31):
        bad = m0.min() if m0.min() < 0 else m0.max()
        raise ValueError(f"m0 must be in [0, 2^31), not {int(bad)}")
    if shift.size and (shift.min() < SHIFT_MIN or shift.max() > SHIFT_MAX):
        bad = shift.min() if shift.min() < SHIFT_MIN else shift.max()
        raise ValueError(f"shift must be in [{SHIFT_MIN}, {SHIFT_MAX}], not {int(bad)}")
    m0, shift = np.broadcast_arrays(m0, shift)
    if mult_bits == 32:
        return m0.astype(np.int64, copy=True), shift.astype(np.int64, copy=True)
    drop = 32 - mult_bits
    m0_b = (m0 + (1 << (drop - 1))) >> drop  # m0 >= 0: half away from zero is half up
    carry = m0_b == (1 << (mult_bits - 1))
    m0_b = np.where(carry, m0_b >> 1, m0_b)
    shift_b = shift + carry
    return _saturate(m0_b, shift_b, mult_bits)
