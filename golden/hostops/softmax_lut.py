"""SOFTMAX int8 -> int8 as LiteRT's optimized kernel computes it on x86 (a float32 lookup table).

``BUILTIN_WITHOUT_DEFAULT_DELEGATES`` (and the default interpreter, whose XNNPACK delegate leaves
int8 SOFTMAX to it) runs ``optimized_ops::Softmax`` with the table of
``PopulateSoftmaxLookupTable``: ``table[255 - k] = expf(float32(-s_in * beta) * k)``. Per row, in
float32: ``sum = table[255 - max + x]`` summed left to right, ``inv = 1 / (sum * s_out)``, output
``round_half_away(table[...] * inv) + z_out`` clamped to int8. (On aarch64 clang builds a uint16
table is used instead; that variant is not modelled.)

``expf`` is evaluated as float64 ``exp`` rounded to float32, which equals glibc's ``expf`` except
where the exact value lies within about 2^-29 ulp of a float32 rounding boundary; the tests
measure agreement with LiteRT. The reference kernel (:func:`golden.hostops.softmax`) is the one
golden is bit-exact with by construction.
"""

from __future__ import annotations

import numpy as np

from .softmax_int8 import softmax_params
from .tensor_quant import INT8_MAX, INT8_MIN, TensorQuant, check_quant, int8_tensor

__all__ = ["softmax_lut"]


def softmax_lut(
    x: object, input: TensorQuant, output: TensorQuant, beta: float = 1.0
) -> np.ndarray:
    """Quantized softmax along the last axis, LiteRT's optimized (float table) kernel.

    Parameters
    ----------
    x : (..., D) int ndarray
        int8 values.
    input, output : TensorQuant
        Quantization of the op's tensors (output zero point -128, scale 1/256).
    beta : float

    Returns
    -------
    (..., D) int64 ndarray
    """
    check_quant("input", input)
    params = softmax_params(input, output, beta)  # validates output and beta
    xa = int8_tensor("x", x)
    if xa.ndim == 0 or xa.shape[-1] == 0:
        raise ValueError(f"x must be at least 1-D with a non-empty last axis, not {xa.shape}")
    scale = -input.scale32 * np.float32(params.beta)
    k = np.arange(256, dtype=np.float32)
    table = np.exp((scale * k).astype(np.float64)).astype(np.float32)[::-1]  # table[255 - k]
    vals = table[255 - xa.max(axis=-1, keepdims=True) + xa]
    total = np.cumsum(vals, axis=-1, dtype=np.float32)[..., -1:]  # sequential float32 sum
    inv = np.float32(1.0) / (total * output.scale32)
    prob = (vals * inv).astype(np.float64)
    rounded = (np.sign(prob) * np.floor(np.abs(prob) + 0.5)).astype(np.int64)
    return np.minimum(np.maximum(rounded + output.zero_point, INT8_MIN), INT8_MAX)
