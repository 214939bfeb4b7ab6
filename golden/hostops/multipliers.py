"""The multipliers TFLite's host-op Prepare functions derive (internal/quantization_util.cc).

Each function takes the real multiplier in float64 (the caller forms it from the float32 scales
with the exact float64 arithmetic of the kernel's C++) and returns Python ints. They follow the
default build (double rounding, ``TFLITE_SINGLE_ROUNDING`` off), in which ``QuantizeMultiplier``
does not saturate a shift above 30; :func:`golden.quantize_multiplier` (which does, as the array's
numeric contract requires) is used wherever the two agree.
"""

from __future__ import annotations

import math

from ..multiplier import quantize_multiplier as _quantize_multiplier

__all__ = [
    "quantize_multiplier_tflite",
    "quantize_multiplier_smaller_than_one_exp",
    "quantize_multiplier_greater_than_one",
    "preprocess_softmax_scaling",
    "calculate_input_radius",
]


def quantize_multiplier_tflite(real: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplier(real, &m, &shift)``: ``real ~= m * 2^shift / 2^31``.

    Parameters
    ----------
    real : float
        Finite, >= 0.

    Returns
    -------
    (m, shift) : (int, int)
        m in [2^30, 2^31) (0 for real = 0 or below 2^-32); shift unbounded above (TFLite's
        double-rounding build keeps shifts above 30).
    """
    real = float(real)
    _, exponent = math.frexp(real)
    if real > 0 and exponent > 30:
        # Scale into golden's unsaturated range; frexp's mantissa, hence m, is unchanged.
        m, shift = _quantize_multiplier(math.ldexp(real, 30 - exponent))
        return int(m), int(shift) + exponent - 30
    m, shift = _quantize_multiplier(real)
    return int(m), int(shift)


def quantize_multiplier_smaller_than_one_exp(
    real: float, name: str = "multiplier"
) -> tuple[int, int]:
    """``QuantizeMultiplierSmallerThanOneExp``: real in (0, 1), shift <= 0.

    Raises
    ------
    ValueError
        Naming ``name`` where TFLite's ``TFLITE_CHECK`` would abort.
    """
    real = float(real)
    if not 0.0 < real < 1.0:
        raise ValueError(f"{name} must be in (0, 1) (TFLite QuantizeMultiplierSmallerThanOneExp), "
                         f"not {real!r}")
    m, shift = quantize_multiplier_tflite(real)
    if shift > 0:  # only reachable by rounding up to exactly 1.0
        raise ValueError(f"{name} rounds to 1.0 (shift {shift} > 0), not below one: {real!r}")
    return m, shift


def quantize_multiplier_greater_than_one(real: float, name: str = "multiplier") -> tuple[int, int]:
    """``QuantizeMultiplierGreaterThanOne``: real > 1, shift >= 0.

    Raises
    ------
    ValueError
        Naming ``name`` where TFLite's ``TFLITE_CHECK`` would abort.
    """
    real = float(real)
    if not real > 1.0 or not math.isfinite(real):
        raise ValueError(f"{name} must be finite and > 1 (TFLite QuantizeMultiplierGreaterThanOne),"
                         f" not {real!r}")
    return quantize_multiplier_tflite(real)


def preprocess_softmax_scaling(
    beta: float, input_scale: float, input_integer_bits: int
) -> tuple[int, int]:
    """``PreprocessSoftmaxScaling``: (multiplier, left_shift) of beta * input_scale.

    ``min(beta * input_scale * 2^(31 - input_integer_bits), 2^31 - 1)`` in float64, then
    :func:`quantize_multiplier_greater_than_one`.
    """
    real = min(float(beta) * float(input_scale) * float(1 << (31 - input_integer_bits)),
               float((1 << 31) - 1))
    return quantize_multiplier_greater_than_one(real, "beta * input scale * 2^26")


def calculate_input_radius(
    input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31
) -> int:
    """``CalculateInputRadius``: floor((2^ib - 1) * 2^(tsb - ib) / 2^left_shift), in float64."""
    max_input_rescaled = (
        1.0 * ((1 << input_integer_bits) - 1) * float(1 << (total_signed_bits - input_integer_bits))
        / float(1 << input_left_shift)
    )
    return int(math.floor(max_input_rescaled))
