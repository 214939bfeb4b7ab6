"""PAD and PADV2 against LiteRT, bit-exact with every kernel set.

Measured with ``scripts/hostops_litert_agreement.py --trials 20`` (ai-edge-litert 2.3.0, x86-64):
96,618 outputs over 243 cases (1-D to 5-D, paddings 0..2 on every side, PADV2 constants at the
int8 extremes, zero points at both ends): 0 mismatches with BUILTIN_REF, the optimized kernels
and XNNPACK (which takes the PAD cases and leaves PADV2 to the optimized kernel). Padding copies
values, so there is no rounding to differ on.
"""

from __future__ import annotations

import numpy as np
import pytest

import golden.hostops as H
from tests.golden.hostops import agreement, cases

CASES = cases.pad_cases()
Q = H.TensorQuant(0.1, -7)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_pad_equals_litert_reference(case):
    agreement.assert_exact(case, "ref")


@pytest.mark.parametrize("resolver", ["opt", "xnnpack"])
def test_pad_other_kernels_are_exact(resolver):
    agreement.assert_within(CASES, resolver, 0)


def test_pad_fills_with_zero_point_or_constant():
    x = np.array([[1, 2]])
    assert H.pad(x, H.pad_params(Q, Q, [[0, 0], [1, 2]])).tolist() == [[-7, 1, 2, -7, -7]]
    assert H.pad(x, H.pad_params(Q, Q, [[1, 0], [0, 0]], 127, Q)).tolist() == [[127, 127], [1, 2]]


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (lambda: H.pad_params(Q, Q, [[0, -1]]), ValueError, r"^paddings must be >= 0, found -1$"),
        (lambda: H.pad_params(Q, Q, [[0.5, 1]]), TypeError,
         r"^paddings must be integers, not dtype float64$"),
        (lambda: H.pad_params(Q, Q, np.zeros((6, 2), int)), ValueError,
         r"^paddings must have shape \(D, 2\) with 1 <= D <= 5, not \(6, 2\)$"),
        (lambda: H.pad_params(Q, H.TensorQuant(0.2, -7), [[0, 1]]), ValueError,
         r"^PAD needs equal input and output quantization"),
        (lambda: H.pad_params(Q, Q, [[0, 1]], 200, Q), ValueError,
         r"^constant must be in \[-128, 127\], not 200$"),
        (lambda: H.pad_params(Q, Q, [[0, 1]], 3, H.TensorQuant(0.1, 0)), ValueError,
         r"^PADV2 constant quantization .* must equal the output's"),
        (lambda: H.pad_params(Q, Q, [[0, 1]], 3), TypeError,
         r"^constant_quant must be a TensorQuant, not NoneType$"),
        (lambda: H.pad(np.zeros((2, 2), int), H.pad_params(Q, Q, [[0, 1]])), ValueError,
         r"^x has 2 dimensions \(shape \(2, 2\)\) but paddings has 1 rows$"),
    ],
)
def test_pad_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
