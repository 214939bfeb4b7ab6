"""SOFTMAX int8 -> int8 over the last axis, bit-exact with LiteRT's reference kernel.

LiteRT's ``BUILTIN_REF`` resolver runs ``reference_ops::Softmax`` (reference/softmax.h), gemmlowp
fixed point throughout. Prepare (activations.cc): ``PreprocessSoftmaxScaling(beta, s_in, 5)``
gives the multiplier of ``beta * s_in * 2^26`` (capped at 2^31 - 1) and its left shift, and
``diff_min = -CalculateInputRadius(5, left_shift)``. Eval, per row: ``diff = x - max(row)``;
entries with ``diff < diff_min`` output -128; the others are rescaled to Q5.26, exponentiated
(``exp_on_negative_values``), summed in Q12.19, the sum inverted (``GetReciprocal``), and each
output is ``RoundingDivideByPOT(1/sum * exp, num_bits_over_unit + 23) - 128`` clamped to int8.
The output tensor must be quantized with zero point -128 and scale 1/256 (TFLite checks it).
A row whose sum of exponentials reaches 512 (e.g. 512 or more equal logits) makes the reference
kernel abort (``TFLITE_CHECK(exponent <= 31)``); :func:`softmax` raises ValueError there.

The optimized kernel (``BUILTIN_WITHOUT_DEFAULT_DELEGATES``) is a different algorithm on x86:
a float32 table of ``expf(-s_in * beta * k)``, a float32 sum and ``round(p * 256) - 128``; it is
not modelled here (its agreement with this one is measured in the tests).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .fixedpoint import (
    exp_on_negative_values,
    get_reciprocal,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)
from .multipliers import calculate_input_radius, preprocess_softmax_scaling
from .tensor_quant import INT8_MAX, INT8_MIN, TensorQuant, check_quant, int8_tensor

__all__ = ["SoftmaxParams", "softmax_params", "softmax", "SCALED_DIFF_INTEGER_BITS"]

SCALED_DIFF_INTEGER_BITS = 5
ACCUMULATION_INTEGER_BITS = 12
# A Q12.19 sum of 2^28 (512.0) or more gives GetReciprocal's exponent 32 > 31.
_MAX_SUM_OF_EXPS = 1 << 28
_OUTPUT_SCALE = np.float32(1.0) / np.float32(256)
_OUTPUT_SCALE_TOLERANCE = np.float32(0.001) * np.float32(1.0) / np.float32(256)


@dataclass(frozen=True)
class SoftmaxParams:
    """TFLite's ``SoftmaxParams`` for the int8 reference kernel (build with :func:`softmax_params`).

    Attributes
    ----------
    beta : float
        The float32 option.
    input_multiplier : int
        Q31 multiplier of ``beta * s_in * 2^26``.
    input_left_shift : int
        >= 0.
    diff_min : int
        <= 0; entries further below the row maximum output -128.
    """

    beta: float
    input_multiplier: int
    input_left_shift: int
    diff_min: int


def softmax_params(input: TensorQuant, output: TensorQuant, beta: float = 1.0) -> SoftmaxParams:
    """SOFTMAX parameters as TFLite's Prepare (reference kernel) derives them.

    Parameters
    ----------
    input, output : TensorQuant
        ``output`` must have zero point -128 and scale 1/256 (within 0.1%).
    beta : float
        The op's option (stored as float32), > 0.

    Raises
    ------
    TypeError, ValueError
        Naming the parameter and the bad value.
    """
    check_quant("input", input)
    check_quant("output", output)
    if isinstance(beta, (bool, np.bool_)) or not isinstance(beta, (numbers.Real, np.floating)):
        raise TypeError(f"beta must be a real number, not {beta!r}")
    beta32 = np.float32(beta)
    if not np.isfinite(beta32) or beta32 <= 0:
        raise ValueError(f"beta must be finite and > 0, not {beta!r}")
    scale_error = abs(output.scale32 - _OUTPUT_SCALE)
    if output.zero_point != INT8_MIN or scale_error > _OUTPUT_SCALE_TOLERANCE:
        raise ValueError(f"int8 SOFTMAX output must have zero point -128 and scale 1/256, "
                         f"not {output}")
    multiplier, left_shift = preprocess_softmax_scaling(
        float(beta32), input.scale, SCALED_DIFF_INTEGER_BITS
    )
    diff_min = -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, left_shift)
    return SoftmaxParams(float(beta32), multiplier, left_shift, diff_min)


def softmax(x: object, params: SoftmaxParams) -> np.ndarray:
    """Quantized softmax of ``x`` along its last axis.

    Parameters
    ----------
    x : (..., D) int ndarray
        int8 values, at least 1-D.
    params : SoftmaxParams

    Returns
    -------
    (..., D) int64 ndarray
        Probabilities in 1/256 steps, zero point -128.

    Raises
    ------
    ValueError
        If ``x`` is not int8 or not at least 1-D, or a row's sum of exponentials reaches 512.
    """
    if not isinstance(params, SoftmaxParams):
        raise TypeError(f"params must be SoftmaxParams, not {type(params).__name__}")
    xa = int8_tensor("x", x)
    if xa.ndim == 0 or xa.shape[-1] == 0:
        raise ValueError(f"x must be at least 1-D with a non-empty last axis, not {xa.shape}")
    diff = xa - xa.max(axis=-1, keepdims=True)
    used = diff >= params.diff_min
    # Unused entries are zeroed first: their products would not fit the int32 model.
    shifted = wrap_int32(np.where(used, diff, 0) << params.input_left_shift)
    scaled_diff = saturating_rounding_doubling_high_mul(shifted, params.input_multiplier)
    exps = exp_on_negative_values(scaled_diff, SCALED_DIFF_INTEGER_BITS)
    terms = rounding_divide_by_pot(exps, ACCUMULATION_INTEGER_BITS)  # Rescale Q0.31 -> Q12.19
    sum_of_exps = wrap_int32(np.where(used, terms, 0).sum(axis=-1, keepdims=True))
    if np.any((sum_of_exps >= _MAX_SUM_OF_EXPS) | (sum_of_exps < 0)):
        rows = int(np.count_nonzero((sum_of_exps >= _MAX_SUM_OF_EXPS) | (sum_of_exps < 0)))
        raise ValueError(
            f"x has {rows} row(s) whose sum of exponentials reaches 512 (more than 511 entries "
            f"at or near the row maximum); TFLite's reference SOFTMAX aborts there "
            f"(TFLITE_CHECK exponent <= 31)"
        )
    shifted_scale, num_bits_over_unit = get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS)
    exponent = num_bits_over_unit + 31 - 8
    unsat = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted_scale, exps),
                                   exponent)
    out = np.minimum(np.maximum(unsat + INT8_MIN, INT8_MIN), INT8_MAX)
    return np.where(used, out, INT8_MIN)
