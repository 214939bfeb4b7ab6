"""CONCATENATION of int8 tensors along one axis (kernels/concatenation.cc).

Inputs whose scale and zero point equal the output's are copied, which is all TFLite's int8
kernel does: its Prepare refuses int8 inputs with any other quantization. The only TFLite kernel
that requantizes is the uint8 one (``reference_ops::ConcatenationWithScaling``), in float32:
``round_half_away(u * (s_in * (1 / s_out)) + (-z_in) * (s_in * (1 / s_out))) + z_out`` clamped
to [0, 255], with ``u``, ``z_in``, ``z_out`` the uint8 values (int8 + 128). Inputs with other
quantizations are requantized exactly so here, which is what a uint8 model (ONNX's usual form,
shifted to int8 by 128) gets from TFLite; ``strict=True`` refuses them as TFLite's int8 kernel does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._check import check_int
from .fused_activation import check_activation
from .tensor_quant import TensorQuant, check_quant, int8_tensor

__all__ = ["ConcatParams", "concatenation_params", "concatenate"]

_UINT8_OFFSET = 128


@dataclass(frozen=True)
class ConcatParams:
    """CONCATENATION parameters (build with :func:`concatenation_params`).

    Attributes
    ----------
    axis : int
        As given (may be negative); resolved against the inputs' rank at each call.
    inputs : tuple of TensorQuant
    output : TensorQuant
    """

    axis: int
    inputs: tuple[TensorQuant, ...]
    output: TensorQuant


def concatenation_params(
    inputs: object,
    output: TensorQuant,
    axis: int,
    activation: str = "NONE",
    *,
    strict: bool = False,
) -> ConcatParams:
    """CONCATENATION parameters from the op's options and its tensors' quantization.

    Parameters
    ----------
    inputs : sequence of TensorQuant
        One per input tensor, at least one.
    output : TensorQuant
    axis : int
    activation : str
        Must be "NONE" (TFLite's Prepare refuses a fused activation).
    strict : bool
        Refuse inputs whose quantization differs from the output's, as TFLite's int8 kernel does.

    Raises
    ------
    TypeError, ValueError
        Naming the parameter and the bad value.
    """
    if isinstance(inputs, TensorQuant) or not isinstance(inputs, (list, tuple)):
        raise TypeError(f"inputs must be a sequence of TensorQuant, not {type(inputs).__name__}")
    if not inputs:
        raise ValueError("inputs must hold at least one TensorQuant")
    quants = tuple(check_quant(f"inputs[{i}]", q) for i, q in enumerate(inputs))
    check_quant("output", output)
    axis = check_int("axis", axis)
    if check_activation(activation) != "NONE":
        raise ValueError(f"CONCATENATION takes no fused activation, not {activation!r}")
    if strict:
        for i, q in enumerate(quants):
            if q != output:
                raise ValueError(f"inputs[{i}] quantization {q} differs from the output's "
                                 f"{output}; TFLite's int8 CONCATENATION refuses it")
    return ConcatParams(axis, quants, output)


def _requantize_uint8_path(x: np.ndarray, q: TensorQuant, out: TensorQuant) -> np.ndarray:
    """``ConcatenationWithScaling``'s float32 arithmetic on the uint8 view of int8 ``x``."""
    f32 = np.float32
    inverse_output_scale = f32(1.0) / out.scale32
    scale = q.scale32 * inverse_output_scale
    bias = f32(-(q.zero_point + _UINT8_OFFSET)) * scale
    v = (x + _UINT8_OFFSET).astype(np.float32) * scale + bias
    rounded = (np.sign(v) * np.floor(np.abs(v.astype(np.float64)) + 0.5)).astype(np.int64)
    value = rounded + out.zero_point + _UINT8_OFFSET
    return np.clip(value, 0, 255) - _UINT8_OFFSET


def concatenate(xs: object, params: ConcatParams) -> np.ndarray:
    """Concatenate int8 tensors along ``params.axis``.

    Parameters
    ----------
    xs : sequence of int ndarray
        One per ``params.inputs``, equal rank, equal shapes except along the axis.
    params : ConcatParams

    Returns
    -------
    int64 ndarray

    Raises
    ------
    TypeError, ValueError
        Naming the input: non-integer or out-of-range values, mismatched rank or shape, a count
        that differs from ``params.inputs``, an axis out of range.
    """
    if not isinstance(params, ConcatParams):
        raise TypeError(f"params must be ConcatParams, not {type(params).__name__}")
    if not isinstance(xs, (list, tuple)):
        raise TypeError(f"xs must be a sequence of arrays, not {type(xs).__name__}")
    if len(xs) != len(params.inputs):
        raise ValueError(f"xs holds {len(xs)} arrays but params has {len(params.inputs)} inputs")
    arrays = [int8_tensor(f"xs[{i}]", x) for i, x in enumerate(xs)]
    ndim = arrays[0].ndim
    if ndim == 0:
        raise ValueError("xs[0] must be at least 1-D, not a scalar")
    if not -ndim <= params.axis < ndim:
        raise ValueError(f"axis {params.axis} is out of range for {ndim}-D inputs")
    axis = params.axis % ndim
    for i, a in enumerate(arrays):
        same = a.ndim == ndim and all(
            a.shape[d] == arrays[0].shape[d] for d in range(ndim) if d != axis
        )
        if not same:
            raise ValueError(f"xs[{i}] shape {a.shape} does not match xs[0] shape "
                             f"{arrays[0].shape} outside axis {axis}")
    parts = [
        a if q == params.output else _requantize_uint8_path(a, q, params.output)
        for a, q in zip(arrays, params.inputs, strict=True)
    ]
    return np.concatenate(parts, axis=axis)
