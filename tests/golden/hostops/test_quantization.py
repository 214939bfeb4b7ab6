"""QUANTIZE (float32 -> int8, int8 -> int8) and DEQUANTIZE against LiteRT.

Measured with ``scripts/hostops_litert_agreement.py --trials 20`` (ai-edge-litert 2.3.0,
x86-64, where TFLite's NEON paths run through NEON_2_SSE); XNNPACK takes every case.

- float32 -> int8, 124,691 outputs over 124 cases: BUILTIN_REF 0 mismatches. Optimized kernels
  and XNNPACK 388 (0.31%) differ by 1, all but one on the exact-half cases: both round to
  nearest even (NEON ``vcvtnq``; XNNPACK), the reference rounds half away from zero; the other
  one is a value whose float32 ``x / s`` (reference) and ``x * (1 / s)`` differ.
- int8 -> int8, 62,976 outputs over 126 cases: BUILTIN_REF 0. Optimized 2,208 (3.51%) and
  XNNPACK 3,628 (5.76%) differ by 1. The optimized kernel's ``MultiplyByQuantizedMultiplier4Rows``
  rounds the final shift with NEON ``vrshl`` (half up): every difference is a negative value one
  above the reference's (ties away from zero), golden's ``"halfup"`` mode of DESIGN.md. XNNPACK's
  convert kernel requantizes with its own multiplier and rounding.
- DEQUANTIZE, 30,720 outputs over 120 cases: BUILTIN_REF and XNNPACK bit-exact (one rounding
  of ``s * (q - z)``). The optimized kernel computes ``q * s + (-z * s)`` in float32, two
  roundings: 11,603 (37.77%) differ, by at most one float32 spacing of ``256 * s`` in absolute
  terms (up to 112 ulps of the small results near the zero point); that two-rounding formula
  reproduces the optimized kernel bit for bit (checked below).
"""

from __future__ import annotations

import numpy as np
import pytest

import golden.hostops as H
from tests.golden.hostops import agreement, cases

QUANTIZE = cases.quantize_cases()
REQUANTIZE = cases.requantize_cases()
DEQUANTIZE = cases.dequantize_cases()
Q = H.TensorQuant(0.1, -3)


@pytest.mark.parametrize("case", QUANTIZE + REQUANTIZE + DEQUANTIZE, ids=lambda c: c.name)
def test_quantization_equals_litert_reference(case):
    agreement.assert_exact(case, "ref")


@pytest.mark.parametrize("resolver", ["opt", "xnnpack"])
def test_quantize_other_kernels_within_one(resolver):
    for group in (QUANTIZE, REQUANTIZE):
        a = agreement.assert_within(group, resolver, 1)
        assert a.mismatches > 0  # ties are reached


def test_dequantize_xnnpack_is_exact():
    agreement.assert_within(DEQUANTIZE, "xnnpack", 0)


def test_dequantize_optimized_within_one_spacing_and_explained():
    for case in DEQUANTIZE:
        got = case.litert("opt")
        s, z = np.float32(case.inputs[0].scale), case.inputs[0].zero_point
        # |q * s| and |z * s| <= 128 s: three roundings of at most half a spacing of 128 s or
        # 256 s add up to one spacing of 256 s.
        bound = np.spacing(np.float32(256 * s))
        assert np.max(np.abs(got.astype(np.float64) - case.expected)) <= bound, case.name
        q = case.feeds[0]
        two_roundings = q.astype(np.float32) * s + np.float32(-z * np.float64(s))
        np.testing.assert_array_equal(got.view(np.int32), two_roundings.view(np.int32))


def test_quantize_rounds_half_away_from_zero():
    q = H.TensorQuant(0.5, 0)
    x = np.array([0.25, -0.25, 0.75, -0.75, 63.75, -64.25], dtype=np.float32)
    assert H.quantize(x, q).tolist() == [1, -1, 2, -2, 127, -128]


def test_requantize_same_scale_shifts_zero_point():
    p = H.requantize_params(H.TensorQuant(0.1, 10), H.TensorQuant(0.1, -10))
    assert H.requantize(np.array([-128, 0, 100, 127]), p).tolist() == [-128, -20, 80, 107]


def test_dequantize_is_float32_of_exact_product():
    y = H.dequantize(np.array([-128, -3, 127]), Q)
    assert y.dtype == np.float32
    assert y.tolist() == [float(np.float32(0.1 * -125.0 * (np.float32(0.1) / 0.1))),
                          0.0, float(np.float32(float(np.float32(0.1)) * 130))]


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (lambda: H.quantize(np.zeros(3, int), Q), TypeError,
         r"^x must be a floating-point ndarray, not int64$"),
        (lambda: H.quantize([0.5], Q), TypeError,
         r"^x must be a floating-point ndarray, not list$"),
        (lambda: H.quantize(np.array([np.nan], np.float32), Q), ValueError,
         r"^x must be finite with x / scale inside int32, found nan$"),
        (lambda: H.quantize(np.array([0.0, 1e30], np.float32), Q), ValueError,
         r"^x must be finite with x / scale inside int32, found 1e\+30$"),
        (lambda: H.requantize_params(H.TensorQuant(1e10, 0), H.TensorQuant(1e-10, 0)), ValueError,
         r"too large to requantize \(shift 6\d > 30\)$"),
        (lambda: H.requantize(np.array([300]), H.requantize_params(Q, Q)), ValueError,
         r"^x must hold int8 values in \[-128, 127\], found 300$"),
        (lambda: H.dequantize(np.zeros(2), Q), TypeError,
         r"^x must have an integer dtype, not float64$"),
        (lambda: H.dequantize(np.zeros(2, int), (0.1, 0)), TypeError,
         r"^input must be a TensorQuant, not tuple$"),
    ],
)
def test_quantization_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
