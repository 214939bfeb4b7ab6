"""MEAN against LiteRT: bit-exact with the reference kernel, within 1 LSB of the others.

LiteRT 2.3.0's reference MEAN takes one integer path for int8 whatever the axes, keep_dims and
quantization (``reference_ops::QuantizedMeanOrSum``, the 1/n folded into the multiplier); older
TFLite releases had a separate path for equal input and output quantization, this one does not.
Measured with ``scripts/hostops_litert_agreement.py --trials 20`` (x86-64): 13,028 outputs over
450 cases (11 axes/keep_dims combinations, equal and different quantization, 2-D to 4-D).
BUILTIN_REF: 0 mismatches. Optimized kernels: 164 (1.26%) differ by 1, all in 4-D keep_dims
means over H and W, where ``optimized_integer_ops::Mean`` uses a float32 multiplier
``s_in / (n * s_out)`` and a float-rounded zero-point bias instead. XNNPACK (delegates every
case): 1,357 (10.42%) differ by 1; it requantizes the sum with its own float-derived scale and
rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

import golden.hostops as H
from tests.golden.hostops import agreement, cases

CASES = cases.mean_cases()
Q = H.TensorQuant(0.1, 0)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_mean_equals_litert_reference(case):
    agreement.assert_exact(case, "ref")


@pytest.mark.parametrize("resolver", ["opt", "xnnpack"])
def test_mean_other_kernels_within_one(resolver):
    a = agreement.assert_within(CASES, resolver, 1)
    assert a.mismatches > 0  # the cases do reach the differing roundings


def test_mean_shapes_and_axes():
    x = np.zeros((2, 3, 4, 5), dtype=np.int64)
    assert H.mean(x, H.mean_params(Q, Q, (1, 2), True)).shape == (2, 1, 1, 5)
    assert H.mean(x, H.mean_params(Q, Q, [-1, 1, 1], False)).shape == (2, 4)
    assert H.mean(x, H.mean_params(Q, Q, 0, False)).shape == (3, 4, 5)
    assert H.reduction.resolve_axes((2, -2, 0), 4) == (2, 0)


def test_mean_of_a_constant_is_the_constant():
    x = np.full((1, 7, 7, 3), -77)
    assert np.all(H.mean(x, H.mean_params(Q, Q, (1, 2), False)) == -77)


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (lambda p: H.mean(np.zeros((2, 2)), p), TypeError,
         r"^x must have an integer dtype, not float64$"),
        (lambda p: H.mean(np.zeros((2, 2), int), p), ValueError,
         r"^axes value 2 is out of range for a 2-D input$"),
        (lambda p: H.mean(np.zeros((1, 0, 2, 2), int), p), ValueError,
         r"^x must be at least 1-D and non-empty, not shape \(1, 0, 2, 2\)$"),
        (lambda p: H.mean_params(Q, Q, [], True), ValueError,
         r"^axes must name at least one axis, not an empty list$"),
        (lambda p: H.mean_params(Q, Q, [1.5], True), TypeError,
         r"^axes must be an integer, not 1.5$"),
        (lambda p: H.mean_params(Q, Q, (1,), 1), TypeError, r"^keep_dims must be a bool, not 1$"),
        (lambda p: H.mean(np.zeros((1, 2, 2, 1), int), None), TypeError,
         r"^params must be MeanParams, not NoneType$"),
    ],
)
def test_mean_bad_input(call, exc, pattern):
    p = H.mean_params(Q, Q, (1, 2), True)
    with pytest.raises(exc, match=pattern):
        call(p)
