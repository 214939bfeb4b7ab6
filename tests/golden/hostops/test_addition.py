"""ADD against LiteRT: bit-exact with the reference kernel; measured agreement with the others.

Measured with ``scripts/hostops_litert_agreement.py --trials 20`` (ai-edge-litert 2.3.0, x86-64):
118,560 outputs over 174 cases. BUILTIN_REF: 0 mismatches. Optimized kernels
(BUILTIN_WITHOUT_DEFAULT_DELEGATES): 0 (the same fixed-point rescaling, through NEON_2_SSE).
XNNPACK (the default interpreter delegates every int8 ADD): 5,579 outputs (4.71%) differ by 1,
in two edge cases only, 0 of 52,188 random outputs: 5,547 of the 22,016 outputs of the case
whose output scale is twice the inputs' (every odd sum is an exact half; XNNPACK folds the
rescaling into one fixed-point step with a single rounding, TFLite rounds twice), and 32 of 49
in the RELU_N1_TO_1 case at output scale 0.4, where TFLite's float32 ``1 / 0.4`` is exactly 2.5
and rounds to a clamp of 3 while XNNPACK's clamp is 2.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import golden.hostops as H
from tests.golden.hostops import agreement, cases

CASES = cases.add_cases()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_add_equals_litert_reference(case):
    agreement.assert_exact(case, "ref")


def test_add_optimized_kernel_is_exact():
    agreement.assert_within(CASES, "opt", 0)


def test_add_xnnpack_within_one():
    a = agreement.assert_within(CASES, "xnnpack", 1)
    assert a.mismatches > 0  # the tie cases do separate the two roundings


def test_add_params_match_tflite_prepare():
    # s1 = s2 = 0.5, s_out = 1: twice_max = 1, input multipliers 0.5 = (2^30, 0),
    # output 1 / 2^20 = (2^30, -19).
    p = H.add_params(H.TensorQuant(0.5, 1), H.TensorQuant(0.5, -2), H.TensorQuant(1.0, 3), "RELU")
    assert (p.input1_multiplier, p.input1_shift) == (1 << 30, 0)
    assert (p.output_multiplier, p.output_shift) == (1 << 30, -19)
    assert (p.input1_offset, p.input2_offset, p.output_offset) == (-1, 2, 3)
    assert (p.act_min, p.act_max, p.left_shift) == (3, 127, 20)


def test_add_broadcast_equals_explicit_broadcast():
    p = H.add_params(H.TensorQuant(0.1, 0), H.TensorQuant(0.2, 1), H.TensorQuant(0.3, 2))
    rng = np.random.default_rng(0)
    a, b = rng.integers(-128, 128, (2, 3, 4)), rng.integers(-128, 128, (4,))
    np.testing.assert_array_equal(H.add(a, b, p), H.add(a, np.broadcast_to(b, a.shape), p))


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (lambda p: H.add(np.zeros(3), np.zeros(3, int), p), TypeError,
         r"^x1 must have an integer dtype, not float64$"),
        (lambda p: H.add(np.zeros(3, int), np.full(3, 128), p), ValueError,
         r"^x2 must hold int8 values in \[-128, 127\], found 128$"),
        (lambda p: H.add(np.zeros((2, 3), int), np.zeros((2, 4), int), p), ValueError,
         r"^x1 shape \(2, 3\) and x2 shape \(2, 4\) do not broadcast$"),
        (lambda p: H.add(np.zeros((1,) * 7, int), np.zeros((2,), int), p), ValueError,
         r"^broadcast ADD supports at most 6 dimensions, not 7"),
        (lambda p: H.add(np.zeros(3, int), np.zeros(3, int), "p"), TypeError,
         r"^params must be AddParams, not str$"),
        (lambda p: H.add_params(H.TensorQuant(1.0, 0), H.TensorQuant(1.0, 0),
                                H.TensorQuant(1e-6, 0)), ValueError,
         r"^output multiplier .* must be in \(0, 1\)"),
        (lambda p: H.add_params(H.TensorQuant(1.0, 0), 0.5, H.TensorQuant(1.0, 0)), TypeError,
         r"^input2 must be a TensorQuant, not float$"),
        (lambda p: H.add_params(H.TensorQuant(1.0, 0), H.TensorQuant(1.0, 0),
                                H.TensorQuant(1.0, 0), "TANH"), ValueError,
         re.escape("activation must be one of NONE, RELU, RELU6, RELU_N1_TO_1, not 'TANH'")),
    ],
)
def test_add_bad_input(call, exc, pattern):
    p = H.add_params(H.TensorQuant(0.1, 0), H.TensorQuant(0.1, 0), H.TensorQuant(0.1, 0))
    with pytest.raises(exc, match=pattern):
        call(p)
