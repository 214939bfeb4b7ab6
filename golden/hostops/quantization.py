"""QUANTIZE (float32 -> int8, int8 -> int8) and DEQUANTIZE (int8 -> float32), as TFLite's reference.

- float -> int8 (``reference_ops::AffineQuantize``): ``round_half_away(x / s)`` with the division
  in float32, plus the zero point, clamped to int8.
- int8 -> int8 (``reference_ops::Requantize``): ``(m, shift) = QuantizeMultiplier(double(s_in) /
  double(s_out))`` at Prepare, then ``MultiplyByQuantizedMultiplier(q - z_in, m, shift) + z_out``
  clamped to int8.
- DEQUANTIZE (``reference_ops::Dequantize``): ``float32(double(s) * (q - z))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..quant import round_half_away
from .fixedpoint import multiply_by_quantized_multiplier
from .multipliers import quantize_multiplier_tflite
from .tensor_quant import INT8_MAX, INT8_MIN, TensorQuant, check_quant, int8_tensor

__all__ = ["quantize", "RequantizeParams", "requantize_params", "requantize", "dequantize"]

_INT32_LIMIT = float(1 << 31)


def quantize(x: object, output: TensorQuant) -> np.ndarray:
    """QUANTIZE float32 -> int8.

    Parameters
    ----------
    x : float ndarray
        Real values; taken as float32 (what the op's input tensor holds). Finite.
    output : TensorQuant

    Returns
    -------
    int64 ndarray, shape of ``x``

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point ndarray.
    ValueError
        If ``x`` holds a NaN or a value whose ``x / scale`` does not fit int32 (TFLite's C++ cast
        is undefined there).
    """
    check_quant("output", output)
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(f"x must be a floating-point ndarray, not "
                        f"{x.dtype if isinstance(x, np.ndarray) else type(x).__name__}")
    scaled = x.astype(np.float32) / output.scale32
    rounded = round_half_away(scaled.astype(np.float64))
    ok = np.abs(rounded) < _INT32_LIMIT
    if not np.all(ok):
        bad = x.astype(np.float32)[~ok].ravel()[0]
        raise ValueError(f"x must be finite with x / scale inside int32, found {float(bad):.8g}")
    q = rounded.astype(np.int64) + output.zero_point
    return np.minimum(np.maximum(q, INT8_MIN), INT8_MAX)


@dataclass(frozen=True)
class RequantizeParams:
    """int8 -> int8 QUANTIZE parameters (build with :func:`requantize_params`).

    Attributes
    ----------
    multiplier, shift : int
        ``QuantizeMultiplier(s_in / s_out)``.
    input_zero_point, output_zero_point : int
    """

    multiplier: int
    shift: int
    input_zero_point: int
    output_zero_point: int


def requantize_params(input: TensorQuant, output: TensorQuant) -> RequantizeParams:
    """Parameters of an int8 -> int8 QUANTIZE op.

    Raises
    ------
    ValueError
        If ``s_in / s_out`` is 2^30 or more (TFLite's shift would exceed 30).
    """
    check_quant("input", input)
    check_quant("output", output)
    m, shift = quantize_multiplier_tflite(float(input.scale) / float(output.scale))
    if shift > 30:
        raise ValueError(f"input scale / output scale = {input.scale / output.scale!r} is too "
                         f"large to requantize (shift {shift} > 30)")
    return RequantizeParams(m, shift, input.zero_point, output.zero_point)


def requantize(x: object, params: RequantizeParams) -> np.ndarray:
    """QUANTIZE int8 -> int8: rescale ``x`` to the output quantization.

    Parameters
    ----------
    x : int ndarray
        int8 values.
    params : RequantizeParams

    Returns
    -------
    int64 ndarray, shape of ``x``
    """
    if not isinstance(params, RequantizeParams):
        raise TypeError(f"params must be RequantizeParams, not {type(params).__name__}")
    xa = int8_tensor("x", x)
    out = multiply_by_quantized_multiplier(
        xa - params.input_zero_point, params.multiplier, params.shift
    ) + params.output_zero_point
    return np.minimum(np.maximum(out, INT8_MIN), INT8_MAX)


def dequantize(x: object, input: TensorQuant) -> np.ndarray:
    """DEQUANTIZE int8 -> float32: ``float32(double(scale) * (x - zero_point))``.

    Parameters
    ----------
    x : int ndarray
        int8 values.
    input : TensorQuant

    Returns
    -------
    float32 ndarray, shape of ``x``
    """
    check_quant("input", input)
    xa = int8_tensor("x", x)
    # The float64 product of a float32 and a 9-bit integer is exact: one rounding, to float32.
    return (np.float64(input.scale) * (xa - input.zero_point)).astype(np.float32)
