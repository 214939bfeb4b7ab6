"""RESHAPE and flatten against LiteRT, bit-exact with every kernel set.

Measured with ``scripts/hostops_litert_agreement.py --trials 20`` (ai-edge-litert 2.3.0):
3,128 outputs over 45 cases, 0 mismatches on all three kernel sets (XNNPACK takes every case);
RESHAPE moves no value.
"""

from __future__ import annotations

import numpy as np
import pytest

import golden.hostops as H
from tests.golden.hostops import agreement, cases

CASES = cases.reshape_cases()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_reshape_equals_litert_reference(case):
    agreement.assert_exact(case, "ref")


@pytest.mark.parametrize("resolver", ["opt", "xnnpack"])
def test_reshape_other_kernels_are_exact(resolver):
    agreement.assert_within(CASES, resolver, 0)


def test_flatten_keeps_row_major_order():
    x = np.arange(-60, 60).reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(H.flatten(x), x.reshape(2, 60))


@pytest.mark.parametrize(
    ("shape", "pattern"),
    [
        ((-1, -1), r"^shape may hold at most one -1, not \(-1, -1\)$"),
        ((7, -1), r"^shape \(7, -1\) cannot hold 24 elements$"),
        ((5, 5), r"^shape \(5, 5\) holds 25 elements, not 24$"),
        ((-2, 12), r"^shape must be in \[-1, inf\], not -2$"),
    ],
)
def test_reshape_bad_shape(shape, pattern):
    with pytest.raises(ValueError, match=pattern):
        H.reshape(np.zeros((2, 3, 4), dtype=np.int8), shape)
