"""Quantization error measures: SQNR in dB and maximum absolute error in output LSBs."""

from __future__ import annotations

import numpy as np

from .quant import dequantize

__all__ = ["sqnr_db", "max_abs_error_lsb"]


def sqnr_db(reference_float: object, test_float: object) -> float:
    """Signal-to-quantization-noise ratio ``10 log10(sum ref^2 / sum (ref - test)^2)`` in dB.

    Parameters
    ----------
    reference_float, test_float : array_like of float, same shape

    Returns
    -------
    float
        ``inf`` when the two are equal.
    """
    ref = np.asarray(reference_float, dtype=np.float64)
    test = np.asarray(test_float, dtype=np.float64)
    if ref.shape != test.shape:
        raise ValueError(
            f"test_float shape {test.shape} differs from reference_float shape {ref.shape}"
        )
    noise = float(np.sum((ref - test) ** 2))
    signal = float(np.sum(ref**2))
    if noise == 0.0:
        return float("inf")
    if signal == 0.0:
        return float("-inf")
    return 10.0 * float(np.log10(signal / noise))


def max_abs_error_lsb(
    reference_float: object,
    test_q: object,
    scale: object,
    zero_point: object,
    *,
    axis: int | None = None,
) -> float:
    """Largest ``|dequantize(test_q) - reference| / scale``, in LSBs of the quantized output.

    Parameters
    ----------
    reference_float : array_like of float
    test_q : int array, same shape
    scale, zero_point : scalar or (C,) per channel along ``axis``

    Returns
    -------
    float
    """
    ref = np.asarray(reference_float, dtype=np.float64)
    test_q = np.asarray(test_q)
    if ref.shape != test_q.shape:
        raise ValueError(
            f"test_q shape {test_q.shape} differs from reference_float shape {ref.shape}"
        )
    if ref.size == 0:
        return 0.0
    deq = dequantize(test_q, scale, zero_point, axis=axis)
    lsb = np.asarray(scale, dtype=np.float64)
    if axis is not None and lsb.ndim == 1:
        shape = [1] * ref.ndim
        shape[axis % ref.ndim] = lsb.size
        lsb = lsb.reshape(shape)
    return float(np.max(np.abs(deq - ref) / lsb))
