"""ADD of two int8 tensors with TFLite's integer semantics (kernels/add.cc, reference_integer_ops).

Prepare: ``twice_max = 2 * max(s1, s2)`` (float32), the three real multipliers
``s1 / twice_max``, ``s2 / twice_max`` and ``twice_max / (2^20 * s_out)`` in float64, each through
``QuantizeMultiplierSmallerThanOneExp``. Eval, per element: shift each offset input left by 20
bits, rescale it (``MultiplyByQuantizedMultiplierSmallerThanOneExp``), add, rescale to the output,
add the output zero point, clamp to the fused activation's range. Shapes broadcast as NumPy does
(TFLite's ``BroadcastAdd6DSlow``, up to 6 dimensions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..requant import multiply_by_quantized_multiplier as _mbqm
from .fused_activation import activation_range
from .multipliers import quantize_multiplier_smaller_than_one_exp
from .tensor_quant import TensorQuant, check_quant, int8_tensor

__all__ = ["AddParams", "add_params", "add", "ADD_LEFT_SHIFT", "MAX_BROADCAST_DIMS"]

ADD_LEFT_SHIFT = 20
MAX_BROADCAST_DIMS = 6


@dataclass(frozen=True)
class AddParams:
    """TFLite's ``ArithmeticParams`` for int8 ADD (build with :func:`add_params`).

    Attributes
    ----------
    input1_offset, input2_offset : int
        Minus the input zero points.
    output_offset : int
        The output zero point.
    left_shift : int
        20 for int8.
    input1_multiplier, input2_multiplier, output_multiplier : int
        Q31 multipliers in [2^30, 2^31).
    input1_shift, input2_shift, output_shift : int
        <= 0 (right shifts).
    act_min, act_max : int
        Fused activation clamp.
    """

    input1_offset: int
    input2_offset: int
    output_offset: int
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


def add_params(
    input1: TensorQuant, input2: TensorQuant, output: TensorQuant, activation: str = "NONE"
) -> AddParams:
    """ADD's integer parameters from the tensors' float32 scales, as TFLite's Prepare derives them.

    Parameters
    ----------
    input1, input2, output : TensorQuant
    activation : {"NONE", "RELU", "RELU6", "RELU_N1_TO_1"}

    Raises
    ------
    TypeError
        If a quantization is not a TensorQuant.
    ValueError
        If the output multiplier is not below one (output scale under 2^-19 of the larger input
        scale: TFLite aborts there) or the activation is unknown.
    """
    for name, q in (("input1", input1), ("input2", input2), ("output", output)):
        check_quant(name, q)
    act_min, act_max = activation_range(activation, output)
    twice_max_input_scale = float(np.float32(2) * max(input1.scale32, input2.scale32))
    real_input1 = input1.scale / twice_max_input_scale
    real_input2 = input2.scale / twice_max_input_scale
    real_output = twice_max_input_scale / float(np.float32(1 << ADD_LEFT_SHIFT) * output.scale32)
    m1, s1 = quantize_multiplier_smaller_than_one_exp(real_input1, "input1 multiplier")
    m2, s2 = quantize_multiplier_smaller_than_one_exp(real_input2, "input2 multiplier")
    mo, so = quantize_multiplier_smaller_than_one_exp(
        real_output, "output multiplier 2 * max(input scales) / (2^20 * output scale)"
    )
    return AddParams(
        input1_offset=-input1.zero_point,
        input2_offset=-input2.zero_point,
        output_offset=output.zero_point,
        left_shift=ADD_LEFT_SHIFT,
        input1_multiplier=m1,
        input1_shift=s1,
        input2_multiplier=m2,
        input2_shift=s2,
        output_multiplier=mo,
        output_shift=so,
        act_min=act_min,
        act_max=act_max,
    )


def _scale(x: np.ndarray, m: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplierSmallerThanOneExp (shift <= 0): golden's exact tflite mode."""
    return _mbqm(x, np.int64(m), np.int64(shift), "tflite")


def add(x1: object, x2: object, params: AddParams) -> np.ndarray:
    """Quantized ``x1 + x2``.

    Parameters
    ----------
    x1, x2 : int ndarray
        int8 values; shapes broadcast against each other (at most 6 dimensions when they differ).
    params : AddParams

    Returns
    -------
    int64 ndarray, the broadcast shape

    Raises
    ------
    TypeError
        If an input is not an integer ndarray or ``params`` is not AddParams.
    ValueError
        If a value is outside int8 or the shapes do not broadcast.
    """
    if not isinstance(params, AddParams):
        raise TypeError(f"params must be AddParams, not {type(params).__name__}")
    a = int8_tensor("x1", x1)
    b = int8_tensor("x2", x2)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"x1 shape {a.shape} and x2 shape {b.shape} do not broadcast") from None
    if a.shape != b.shape and len(shape) > MAX_BROADCAST_DIMS:
        raise ValueError(f"broadcast ADD supports at most {MAX_BROADCAST_DIMS} dimensions, "
                         f"not {len(shape)} (x1 {a.shape}, x2 {b.shape})")
    p = params
    # Each input is rescaled on its own shape before broadcasting: the same integers, less work.
    scaled1 = _scale((a + p.input1_offset) << p.left_shift, p.input1_multiplier, p.input1_shift)
    scaled2 = _scale((b + p.input2_offset) << p.left_shift, p.input2_multiplier, p.input2_shift)
    raw = _scale(scaled1 + scaled2, p.output_multiplier, p.output_shift) + p.output_offset
    return np.minimum(np.maximum(raw, p.act_min), p.act_max)
