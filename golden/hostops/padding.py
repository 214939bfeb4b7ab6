"""PAD and PADV2 on int8 tensors (kernels/pad.cc): constant padding, values copied unchanged.

PAD fills with the output zero point (the quantized 0.0); PADV2 with its constant operand, whose
scale and zero point must equal the output's. TFLite requantizes nothing, so the input's
quantization must equal the output's too. Up to 5 dimensions; paddings are non-negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._check import check_int
from .tensor_quant import INT8_MAX, INT8_MIN, TensorQuant, check_quant, int8_tensor

__all__ = ["PadParams", "pad_params", "pad", "MAX_PAD_DIMS"]

MAX_PAD_DIMS = 5


@dataclass(frozen=True)
class PadParams:
    """PAD/PADV2 parameters (build with :func:`pad_params`).

    Attributes
    ----------
    paddings : tuple of (int, int)
        (before, after) per dimension.
    pad_value : int
        The int8 fill value.
    """

    paddings: tuple[tuple[int, int], ...]
    pad_value: int


def pad_params(
    input: TensorQuant,
    output: TensorQuant,
    paddings: object,
    constant: int | None = None,
    constant_quant: TensorQuant | None = None,
) -> PadParams:
    """PAD (``constant=None``) or PADV2 parameters.

    Parameters
    ----------
    input, output : TensorQuant
        Must be equal.
    paddings : (D, 2) array_like of int
        The paddings tensor: (before, after) per dimension, >= 0, D <= 5.
    constant : int, optional
        PADV2's int8 constant value.
    constant_quant : TensorQuant, optional
        PADV2's constant tensor quantization; required with ``constant``, equal to ``output``.

    Raises
    ------
    TypeError, ValueError
        Naming the parameter and the bad value.
    """
    check_quant("input", input)
    check_quant("output", output)
    if input != output:
        raise ValueError(f"PAD needs equal input and output quantization (TFLite rescales "
                         f"nothing), not input {input} and output {output}")
    pads = np.asarray(paddings)
    if pads.dtype.kind not in "iu":
        raise TypeError(f"paddings must be integers, not dtype {pads.dtype}")
    if pads.ndim != 2 or pads.shape[1] != 2 or not 1 <= pads.shape[0] <= MAX_PAD_DIMS:
        raise ValueError(f"paddings must have shape (D, 2) with 1 <= D <= {MAX_PAD_DIMS}, "
                         f"not {pads.shape}")
    if pads.min() < 0:
        raise ValueError(f"paddings must be >= 0, found {int(pads.min())}")
    if constant is None:
        if constant_quant is not None:
            raise ValueError("constant_quant given without a constant")
        value = output.zero_point
    else:
        value = check_int("constant", constant, INT8_MIN, INT8_MAX)
        check_quant("constant_quant", constant_quant)
        if constant_quant != output:
            raise ValueError(f"PADV2 constant quantization {constant_quant} must equal the "
                             f"output's {output}")
    return PadParams(tuple((int(a), int(b)) for a, b in pads), value)


def pad(x: object, params: PadParams) -> np.ndarray:
    """Pad ``x`` with ``params.pad_value``.

    Parameters
    ----------
    x : int ndarray
        int8 values with as many dimensions as ``params.paddings`` has rows.
    params : PadParams

    Returns
    -------
    int64 ndarray
        Each dimension grown by its before + after padding.
    """
    if not isinstance(params, PadParams):
        raise TypeError(f"params must be PadParams, not {type(params).__name__}")
    xa = int8_tensor("x", x)
    if xa.ndim != len(params.paddings):
        raise ValueError(f"x has {xa.ndim} dimensions (shape {xa.shape}) but paddings has "
                         f"{len(params.paddings)} rows")
    return np.pad(xa, params.paddings, mode="constant", constant_values=params.pad_value)
