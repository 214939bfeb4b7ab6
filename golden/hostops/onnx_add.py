"""QLinearAdd (com.microsoft) of two int8 or uint8 tensors as onnxruntime's x86-64 kernel does it.

onnxruntime fuses the QDQ pattern DequantizeLinear x2 -> Add -> QuantizeLinear into this op.
MLAS (``MlasQLinearAddKernelAvx2Helper``, the kernel of AVX2 and AVX-512 machines) requantizes
in float32, not in fixed point::

    ratio_a = s_a / s_c                  (float32)
    ratio_b = s_b / s_c
    fixed   = float(z_c) - (ratio_a * z_a + ratio_b * z_b)
    c       = rint(fma(a, ratio_a, fma(b, ratio_b, fixed)))   ties to even
    clamp to the type, by the saturating packs

on the raw stored values ``a`` and ``b`` (not ``a - z_a``), so the result depends on the element
type: a uint8 tensor is computed as uint8. When one input is a single element, the kernel folds
it into ``fixed`` first with a separate multiply and add (``fixed + b * ratio_b``, two roundings),
then ``c = rint(fma(a, ratio_a, fixed'))``. Other broadcasts are not supported here (onnxruntime
splits them into spans with a per-span scalar, a different float order).

Measured against onnxruntime 1.32 on random tensors and scales (int8 and uint8,
``tests/golden/hostops/test_onnx_ops.py``): 0 differences in 2.5 million elements, where the exact
real-number formula differs in 10 (values within 4e-6 of a rounding tie). Other machines may
differ: MLAS's SSE2 kernel rounds without FMA and its NEON kernel requantizes in fixed point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .onnx_quant import QLinearQuant, fma_float32, qlinear_tensor

__all__ = ["QLinearAddParams", "qlinear_add_params", "qlinear_add"]


@dataclass(frozen=True)
class QLinearAddParams:
    """The float32 constants of one QLinearAdd (build with :func:`qlinear_add_params`).

    Attributes
    ----------
    a, b, c : QLinearQuant
        Inputs and output, all of one element type.
    ratio_a, ratio_b, fixed : float
        float32 values (as Python floats).
    """

    a: QLinearQuant
    b: QLinearQuant
    c: QLinearQuant
    ratio_a: float
    ratio_b: float
    fixed: float


def _check(name: str, q: object) -> QLinearQuant:
    if not isinstance(q, QLinearQuant):
        raise TypeError(f"{name} must be a QLinearQuant, not {type(q).__name__}")
    return q


def qlinear_add_params(a: QLinearQuant, b: QLinearQuant, c: QLinearQuant) -> QLinearAddParams:
    """QLinearAdd's float32 constants from the tensors' quantization.

    Raises
    ------
    TypeError
        If a quantization is not a QLinearQuant.
    ValueError
        If the three tensors do not share one element type.
    """
    for name, q in (("a", a), ("b", b), ("c", c)):
        _check(name, q)
    if not a.dtype == b.dtype == c.dtype:
        raise ValueError(f"QLinearAdd needs one element type, not a {a.dtype}, b {b.dtype}, "
                         f"c {c.dtype}")
    f32 = np.float32
    ratio_a = a.scale32 / c.scale32
    ratio_b = b.scale32 / c.scale32
    # The C++ expression compiled with FMA contraction: ratio_a * z_a fused into the sum.
    fixed = f32(c.zero_point) - fma_float32(ratio_a, f32(a.zero_point),
                                            ratio_b * f32(b.zero_point))
    return QLinearAddParams(a, b, c, float(ratio_a), float(ratio_b), float(f32(fixed)))


def qlinear_add(a: object, b: object, params: QLinearAddParams) -> np.ndarray:
    """Quantized ``a + b`` with NumPy broadcasting.

    Parameters
    ----------
    a, b : int ndarray
        Stored values (int8 or uint8 range, the params' type); equal shapes, or one of them a
        single element.
    params : QLinearAddParams

    Returns
    -------
    int64 ndarray, the larger shape, values in the output type's range

    Raises
    ------
    TypeError
        If ``params`` is not QLinearAddParams or an input is not an integer ndarray.
    ValueError
        If a value is outside the type's range or the shapes differ (neither a single element).
    """
    if not isinstance(params, QLinearAddParams):
        raise TypeError(f"params must be QLinearAddParams, not {type(params).__name__}")
    p = params
    av = qlinear_tensor("a", a, p.a)
    bv = qlinear_tensor("b", b, p.b)
    f32 = np.float32
    if av.shape == bv.shape:
        inner = fma_float32(bv.astype(f32), f32(p.ratio_b), f32(p.fixed))
        v = fma_float32(av.astype(f32), f32(p.ratio_a), inner)
    elif bv.size == 1 or av.size == 1:
        # MLAS tests LengthA == 1 first: a is the folded scalar when both are single.
        if av.size == 1:
            (one, r_one), (vec, r_vec) = (av, p.ratio_a), (bv, p.ratio_b)
        else:
            (one, r_one), (vec, r_vec) = (bv, p.ratio_b), (av, p.ratio_a)
        shape = np.broadcast_shapes(av.shape, bv.shape)
        fixed = f32(p.fixed) + f32(one.reshape(()).astype(f32) * f32(r_one))
        v = fma_float32(np.broadcast_to(vec, shape).astype(f32), f32(r_vec), fixed)
    else:
        raise ValueError(f"a shape {av.shape} and b shape {bv.shape} must be equal (or one a "
                         "single element)")
    return np.clip(np.rint(v).astype(np.int64), p.c.qmin, p.c.qmax)
