"""MEAN of an int8 tensor over axes, as LiteRT's reference kernel (kernels/reduce.cc) computes it.

Prepare: ``(m, shift) = QuantizeMultiplier(double(s_in) / double(s_out))``. Eval
(``reference_ops::QuantizedMeanOrSum``), for every axes/keep_dims combination and whether or not
input and output quantization are equal: sum the raw int8 values over the reduced axes (n of
them), fold 1/n into the multiplier (``k = min(floor(log2 n), 32, 31 + shift)``,
``m' = (m << k) // n``, ``shift' = shift - k``), then
``MultiplyByQuantizedMultiplier(sum - z_in * n, m', shift') + z_out`` clamped to int8.
The optimized kernel takes a different path for 4-D keep_dims means over H and W (a float32
multiplier and a rounded float bias); that path is not modelled here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._check import check_int
from .fixedpoint import multiply_by_quantized_multiplier
from .multipliers import quantize_multiplier_tflite
from .tensor_quant import INT8_MAX, INT8_MIN, TensorQuant, check_quant, int8_tensor

__all__ = ["MeanParams", "mean_params", "mean", "resolve_axes"]

_MAX_REDUCED = 1 << 23  # the int32 sum of int8 values cannot overflow below this many


@dataclass(frozen=True)
class MeanParams:
    """MEAN's parameters (build with :func:`mean_params`).

    Attributes
    ----------
    axes : tuple of int
        As given (may be negative); resolved against the input's rank at each call.
    keep_dims : bool
    multiplier, shift : int
        ``QuantizeMultiplier(s_in / s_out)`` before the 1/n fold.
    input_zero_point, output_zero_point : int
    """

    axes: tuple[int, ...]
    keep_dims: bool
    multiplier: int
    shift: int
    input_zero_point: int
    output_zero_point: int


def mean_params(
    input: TensorQuant, output: TensorQuant, axes: object, keep_dims: bool
) -> MeanParams:
    """MEAN's parameters from the op's axis tensor, keep_dims option and tensor quantization.

    Parameters
    ----------
    input, output : TensorQuant
    axes : int or sequence of int
        The axis tensor's values (negative counts from the end; duplicates are ignored).
    keep_dims : bool

    Raises
    ------
    TypeError
        If an axis is not an integer, keep_dims not a bool or a quantization not a TensorQuant.
    ValueError
        If no axis is given.
    """
    check_quant("input", input)
    check_quant("output", output)
    if not isinstance(keep_dims, (bool, np.bool_)):
        raise TypeError(f"keep_dims must be a bool, not {keep_dims!r}")
    raw = np.asarray(axes).ravel().tolist() if not isinstance(axes, int) else [axes]
    axes_t = tuple(check_int("axes", a) for a in raw)
    if not axes_t:
        raise ValueError("axes must name at least one axis, not an empty list")
    m, shift = quantize_multiplier_tflite(float(input.scale) / float(output.scale))
    return MeanParams(axes_t, bool(keep_dims), m, shift, input.zero_point, output.zero_point)


def resolve_axes(axes: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    """Axes in ``[0, ndim)``, first occurrence order, duplicates dropped (TFLite ResolveAxis)."""
    out: list[int] = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axes value {a} is out of range for a {ndim}-D input")
        a %= ndim
        if a not in out:
            out.append(a)
    return tuple(out)


def mean(x: object, params: MeanParams) -> np.ndarray:
    """Quantized mean of ``x`` over ``params.axes``.

    Parameters
    ----------
    x : int ndarray
        int8 values, at least 1-D, no empty dimension.
    params : MeanParams

    Returns
    -------
    int64 ndarray
        ``x``'s shape with the reduced axes set to 1 (keep_dims) or removed.

    Raises
    ------
    TypeError, ValueError
        Naming the parameter: non-integer or out-of-range x, axes out of range for x's rank,
        an empty x.
    """
    if not isinstance(params, MeanParams):
        raise TypeError(f"params must be MeanParams, not {type(params).__name__}")
    xa = int8_tensor("x", x)
    if xa.ndim == 0 or xa.size == 0:
        raise ValueError(f"x must be at least 1-D and non-empty, not shape {xa.shape}")
    axes = resolve_axes(params.axes, xa.ndim)
    n = int(np.prod([xa.shape[a] for a in axes]))
    if n >= _MAX_REDUCED:
        raise ValueError(f"MEAN over {n} elements may overflow TFLite's int32 sum (limit 2^23)")
    total = xa.sum(axis=axes, keepdims=params.keep_dims)
    k = min(n.bit_length() - 1, 32, 31 + params.shift)
    multiplier = (params.multiplier << k) // n
    shift = params.shift - k
    out = multiply_by_quantized_multiplier(
        total - params.input_zero_point * n, multiplier, shift
    ) + params.output_zero_point
    return np.minimum(np.maximum(out, INT8_MIN), INT8_MAX)
