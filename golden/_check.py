"""Argument checks shared by the golden modules: errors name the parameter and show the value."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_int",
    "check_bits",
    "check_finite",
    "int_array",
    "int_range",
    "check_in_range",
    "pair",
]


def check_int(name: str, value: object, lo: int | None = None, hi: int | None = None) -> int:
    """Return ``value`` as a Python int after checking type and inclusive bounds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s = "-inf" if lo is None else str(lo)
        hi_s = "inf" if hi is None else str(hi)
        raise ValueError(f"{name} must be in [{lo_s}, {hi_s}], not {value!r}")
    return value


def check_bits(name: str, value: object, lo: int = 2, hi: int = 16) -> int:
    """A signed bit width in ``[lo, hi]``."""
    return check_int(name, value, lo, hi)


def check_finite(name: str, value: np.ndarray) -> None:
    """Raise ValueError naming the first NaN or infinity of a float array and its index."""
    bad = ~np.isfinite(value)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), value.shape)
        where = f" at index {tuple(int(i) for i in idx)}" if value.ndim else ""
        raise ValueError(f"{name} must be finite, found {float(value[idx])!r}{where}")


def int_range(bits: int) -> tuple[int, int]:
    """Signed ``bits``-bit range ``(-2^(bits-1), 2^(bits-1) - 1)``."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def int_array(name: str, value: object, ndim: int | None = None) -> np.ndarray:
    """``value`` as an int64 ndarray; a non-integer array (float, bool, object) is a TypeError."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    ):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be an integer ndarray, not {type(value).__name__}")
    if value.dtype.kind not in "iu":
        raise TypeError(f"{name} must have an integer dtype, not {value.dtype}")
    if value.dtype == np.uint64 and value.size and int(value.max()) >= 1 << 63:
        raise ValueError(f"{name} has values that do not fit int64 (max {int(value.max())})")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, not shape {value.shape}")
    return value.astype(np.int64, copy=False)


def check_in_range(name: str, value: np.ndarray, lo: int, hi: int, what: str = "") -> None:
    """Raise ValueError if any element of ``value`` is outside ``[lo, hi]``."""
    if value.size == 0:
        return
    vmin, vmax = int(value.min()), int(value.max())
    if vmin < lo or vmax > hi:
        bad = vmin if vmin < lo else vmax
        suffix = f" ({what})" if what else ""
        raise ValueError(f"{name} must be in [{lo}, {hi}]{suffix}, found {bad}")


def pair(name: str, value: object, lo: int = 1) -> tuple[int, int]:
    """An int or a 2-sequence of ints, each at least ``lo``, as an ``(h, w)`` tuple."""
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or an (h, w) pair, not {value!r}")
        return check_int(name, value[0], lo), check_int(name, value[1], lo)
    v = check_int(name, value, lo)
    return v, v
