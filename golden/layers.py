"""Integer layers: the exact accumulators of :mod:`golden.accumulate` and the requantized layers.

A requantized layer is its ``*_acc`` twin followed by :func:`requantize_output`
(``golden.requantize``, the output zero point and the clamp, the out_bits range by default). Both
steps are defined once here: the four public layers are made from the table :data:`ACCUMULATORS`,
and :meth:`golden.Layer.output` uses the same two functions.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from ._check import check_bits, check_int, int_range
from .accumulate import conv2d_acc, depthwise_conv2d_acc, fully_connected_acc, matmul_acc
from .requant import requantize

__all__ = [
    "ACCUMULATORS",
    "requantize_output",
    "matmul_acc",
    "matmul",
    "fully_connected_acc",
    "fully_connected",
    "conv2d_acc",
    "conv2d",
    "depthwise_conv2d_acc",
    "depthwise_conv2d",
]

#: op name -> exact accumulator function ``f(x, w, bias, *, x_zp, ..., acc_bits)``.
ACCUMULATORS: dict[str, Callable[..., np.ndarray]] = {
    "matmul": matmul_acc,
    "fully_connected": fully_connected_acc,
    "conv2d": conv2d_acc,
    "depthwise_conv2d": depthwise_conv2d_acc,
}


def requantize_output(
    acc: np.ndarray,
    *,
    y_zp: int,
    m0: object,
    shift: object,
    act_min: int | None = None,
    act_max: int | None = None,
    rounding: str = "tflite",
    mult_bits: int = 32,
    out_bits: int = 8,
) -> np.ndarray:
    """Requantize exact accumulators to a layer's output: scale, ``+ y_zp``, clamp.

    Parameters
    ----------
    acc : int ndarray, shape (..., Cout)
        Exact accumulators including bias.
    y_zp : int
        Output zero point, signed out_bits-bit.
    m0, shift : (Cout,) int arrays or ints
        The mult_bits-wide multipliers (``quantize_multiplier(real, mult_bits)``).
    act_min, act_max : int or None
        Output clamp; None is the out_bits range.
    rounding : {"tflite", "single", "halfup"}
        See :func:`golden.requantize`.
    mult_bits : int
        Width of m0, 8..32.
    out_bits : int
        Signed output width, 2..16.

    Returns
    -------
    int64 ndarray, shape of ``acc``, values in [act_min, act_max]
    """
    out_bits = check_bits("out_bits", out_bits)
    lo, hi = int_range(out_bits)
    y_zp = check_int("y_zp", y_zp, lo, hi)
    act_min = lo if act_min is None else check_int("act_min", act_min, lo, hi)
    act_max = hi if act_max is None else check_int("act_max", act_max, lo, hi)
    return requantize(
        acc,
        m0,
        shift,
        y_zp=y_zp,
        act_min=act_min,
        act_max=act_max,
        rounding=rounding,
        mult_bits=mult_bits,
    )


_REQUANT_PARAMS = [
    p for name, p in inspect.signature(requantize_output).parameters.items() if name != "acc"
]

_DOC = """Quantized {title}: :func:`{acc}` followed by :func:`requantize_output`.

    Parameters
    ----------
    x, w, bias, x_zp, ..., acc_bits
        As in :func:`{acc}` (layouts, ranges, geometry, the accumulator check).
    y_zp, m0, shift, act_min, act_max, rounding, mult_bits, out_bits
        As in :func:`requantize_output`.

    Returns
    -------
    int64 ndarray
        Layout of :func:`{acc}`, values in [act_min, act_max].

    Raises
    ------
    TypeError, ValueError
        Naming the parameter and the bad value.
"""


def _quantized_layer(op: str) -> Callable[..., np.ndarray]:
    """The requantized layer of ``op``: its accumulator, then :func:`requantize_output`."""
    accumulate = ACCUMULATORS[op]
    requant_names = tuple(p.name for p in _REQUANT_PARAMS)
    acc_params = list(inspect.signature(accumulate).parameters.values())
    signature = inspect.Signature(acc_params + _REQUANT_PARAMS)

    def layer(x, w, bias=None, **kwargs):
        signature.bind(x, w, bias, **kwargs)  # a missing or unknown argument fails before any work
        requant = {k: kwargs.pop(k) for k in requant_names if k in kwargs}
        return requantize_output(accumulate(x, w, bias, **kwargs), **requant)

    layer.__signature__ = signature
    layer.__name__ = layer.__qualname__ = op
    layer.__doc__ = _DOC.format(title=op.replace("_", " "), acc=accumulate.__name__)
    return layer


matmul = _quantized_layer("matmul")
fully_connected = _quantized_layer("fully_connected")
conv2d = _quantized_layer("conv2d")
depthwise_conv2d = _quantized_layer("depthwise_conv2d")
