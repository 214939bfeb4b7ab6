"""Fused activations as clamp bounds: TFLite's ``CalculateActivationRangeQuantized`` for int8.

RELU clamps below at the quantized 0.0, RELU6 to [q(0), q(6)], RELU_N1_TO_1 to [q(-1), q(1)],
each intersected with [-128, 127], where ``q(r) = zero_point + round_half_away(float32(r) /
float32(scale))`` with the division in float32, as kernel_util.cc's ``Quantize`` computes it.
"""

from __future__ import annotations

import numpy as np

from ..quant import round_half_away
from .tensor_quant import INT8_MAX, INT8_MIN, TensorQuant, check_quant

__all__ = ["ACTIVATIONS", "activation_range", "check_activation"]

ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")

_INT32_LIMIT = float(1 << 31)


def check_activation(activation: object) -> str:
    """``activation`` if it is one of :data:`ACTIVATIONS`, else a ValueError naming it."""
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {', '.join(ACTIVATIONS)}, not {activation!r}"
        )
    return activation


def _quantize_real(real: float, quant: TensorQuant) -> int:
    tmp = np.float32(real) / quant.scale32  # float / float in the C++: float32 division
    rounded = float(round_half_away(np.float64(tmp)))  # exact on a float32 value
    if not -_INT32_LIMIT <= rounded <= _INT32_LIMIT - 1:
        raise ValueError(f"activation bound {real} / scale {quant.scale!r} does not fit int32")
    return quant.zero_point + int(rounded)


def activation_range(activation: str, output: TensorQuant) -> tuple[int, int]:
    """Inclusive int8 clamp ``(act_min, act_max)`` of a fused activation.

    Parameters
    ----------
    activation : {"NONE", "RELU", "RELU6", "RELU_N1_TO_1"}
        TFLite's ``fused_activation_function``.
    output : TensorQuant
        Quantization of the op's output tensor.

    Returns
    -------
    (int, int)
        As TFLite computes them; ``act_min > act_max`` is possible for odd quantizations (TFLite
        does not check it either), and then every output is ``act_max``.

    Examples
    --------
    >>> activation_range("RELU6", TensorQuant(6 / 255, -128))
    (-128, 127)
    """
    check_activation(activation)
    check_quant("output", output)
    if activation == "NONE":
        return INT8_MIN, INT8_MAX
    if activation == "RELU":
        return max(INT8_MIN, _quantize_real(0.0, output)), INT8_MAX
    lo, hi = (0.0, 6.0) if activation == "RELU6" else (-1.0, 1.0)
    return max(INT8_MIN, _quantize_real(lo, output)), min(INT8_MAX, _quantize_real(hi, output))
