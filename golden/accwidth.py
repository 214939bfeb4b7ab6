"""Accumulator-width rule: the largest reduction length K that can never overflow.

One product is ``w * (x - x_zp)`` with ``|x - x_zp| <= 2^a_bits - 1`` (x and x_zp both signed
a_bits-bit) and ``|w| <= 2^(w_bits - 1)``; a sum of K of them plus a bias fits a signed acc_bits
accumulator when ``max_abs_bias + K * max_product <= 2^(acc_bits - 1) - 1``.
"""

from __future__ import annotations

from ._check import check_bits, check_int

__all__ = ["max_product", "max_safe_k", "worst_case_acc", "acc_bits_needed", "check_accumulator"]


def max_product(a_bits: int, w_bits: int) -> int:
    """Largest ``|w * (x - x_zp)|``: ``(2^a_bits - 1) * 2^(w_bits - 1)``."""
    a_bits = check_bits("a_bits", a_bits)
    w_bits = check_bits("w_bits", w_bits)
    return ((1 << a_bits) - 1) << (w_bits - 1)


def max_safe_k(a_bits: int, w_bits: int, acc_bits: int) -> int:
    """Largest K whose sum of products can never overflow a signed acc_bits accumulator (bias 0).

    Parameters
    ----------
    a_bits, w_bits : int
        Signed activation and weight widths, 2..16.
    acc_bits : int
        Signed accumulator width, 2..64.

    Returns
    -------
    int
        ``floor((2^(acc_bits-1) - 1) / ((2^a_bits - 1) * 2^(w_bits-1)))``; 0 if not even one
        product fits.
    """
    acc_bits = check_int("acc_bits", acc_bits, 2, 64)
    return ((1 << (acc_bits - 1)) - 1) // max_product(a_bits, w_bits)


def worst_case_acc(k: int, *, a_bits: int, w_bits: int, max_abs_bias: int = 0) -> int:
    """Largest ``|bias + sum of K products|``: ``max_abs_bias + K * max_product(a, w)``."""
    k = check_int("k", k, 0)
    max_abs_bias = check_int("max_abs_bias", max_abs_bias, 0)
    return max_abs_bias + k * max_product(a_bits, w_bits)


def acc_bits_needed(k: int, *, a_bits: int, w_bits: int, max_abs_bias: int = 0) -> int:
    """Smallest signed accumulator width that holds K products plus a bias without overflow."""
    worst = worst_case_acc(k, a_bits=a_bits, w_bits=w_bits, max_abs_bias=max_abs_bias)
    return worst.bit_length() + 1


def check_accumulator(
    k: int, *, a_bits: int, w_bits: int, acc_bits: int, max_abs_bias: int = 0
) -> None:
    """Raise ValueError if K products plus a bias can overflow a signed acc_bits accumulator.

    Parameters
    ----------
    k : int
        Reduction length (products summed into one accumulator), >= 0.
    a_bits, w_bits, acc_bits : int
        Widths as in :func:`max_safe_k`.
    max_abs_bias : int
        Largest ``|bias|`` of the layer.

    Raises
    ------
    ValueError
        ``"K=<k> exceeds the accumulator: ..."`` naming acc_bits and the bound.
    """
    worst = worst_case_acc(k, a_bits=a_bits, w_bits=w_bits, max_abs_bias=max_abs_bias)
    acc_bits = check_int("acc_bits", acc_bits, 2, 64)
    limit = (1 << (acc_bits - 1)) - 1
    if worst > limit:
        safe = max(limit - max_abs_bias, -1) // max_product(a_bits, w_bits)
        raise ValueError(
            f"K={k} exceeds the accumulator: |bias| {max_abs_bias} + K * "
            f"{max_product(a_bits, w_bits)} "
            f"= {worst} > 2^{acc_bits - 1} - 1 for acc_bits={acc_bits} "
            f"(a_bits={a_bits}, w_bits={w_bits}; largest safe K here is {max(safe, 0)})"
        )
