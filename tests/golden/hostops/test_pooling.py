"""AVERAGE_POOL_2D and MAX_POOL_2D against LiteRT, bit-exact with every kernel set.

Measured with ``scripts/hostops_litert_agreement.py --trials 20`` (ai-edge-litert 2.3.0, x86-64):
35,021 outputs per op over 249 cases, 0 mismatches with BUILTIN_REF, the optimized kernels and
the default interpreter. XNNPACK leaves int8 AVERAGE_POOL_2D to the optimized kernel (0 of 249
cases delegated) and takes 132 of the 249 MAX_POOL_2D cases; a maximum has no rounding, and the
optimized average divides exactly like the reference one.
"""

from __future__ import annotations

import numpy as np
import pytest

import golden
import golden.hostops as H
from tests.golden.hostops import agreement, cases

AVG = cases.pool_cases("AVERAGE_POOL_2D")
MAX = cases.pool_cases("MAX_POOL_2D")
Q = H.TensorQuant(0.1, 0)


@pytest.mark.parametrize("case", AVG + MAX, ids=lambda c: c.name)
def test_pool_equals_litert_reference(case):
    agreement.assert_exact(case, "ref")


@pytest.mark.parametrize("resolver", ["opt", "xnnpack"])
def test_pool_other_kernels_are_exact(resolver):
    agreement.assert_within(AVG + MAX, resolver, 0)


@pytest.mark.parametrize(("size", "f", "s"),
                         [(7, 3, 2), (8, 3, 2), (5, 4, 1), (1, 3, 1), (6, 1, 3)])
def test_same_geometry_equals_golden_resolve_padding(size, f, s):
    (oh, ow), (top, left) = H.pool_geometry((size, size), H.pool_params(Q, Q, f, s, "SAME"))
    pads = golden.resolve_padding("SAME", (size, size), (f, f), s)
    assert (oh, ow, top, left) == (-(-size // s), -(-size // s), pads[0], pads[1])


def test_average_rounds_half_away_from_zero():
    p = H.pool_params(Q, Q, (1, 2), (1, 2), "VALID")
    x = np.array([1, 0, -1, 0, 3, 0, -3, 0, 127, 127, -128, -127]).reshape(1, 1, -1, 1)
    assert H.average_pool_2d(x, p).ravel().tolist() == [1, -1, 2, -2, 127, -128]


def test_average_counts_only_taps_inside_the_image():
    p = H.pool_params(Q, Q, 3, 1, "SAME")
    x = np.zeros((1, 3, 3, 1), dtype=np.int64)
    x[0, 0, 0, 0] = 40  # the corner window has 4 taps, the edge windows 6, the centre 9
    y = H.average_pool_2d(x, p)[0, :, :, 0]
    assert y.tolist() == [[10, 7, 0], [7, 4, 0], [0, 0, 0]]


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (lambda p: H.average_pool_2d(np.zeros((1, 4, 4)), p), TypeError,
         r"^x must have an integer dtype, not float64$"),
        (lambda p: H.max_pool_2d(np.zeros((4, 4, 1), int), p), ValueError,
         r"^x must have 4 dimensions, not shape \(4, 4, 1\)$"),
        (lambda p: H.max_pool_2d(np.full((1, 4, 4, 1), -129), p), ValueError,
         r"^x must hold int8 values in \[-128, 127\], found -129$"),
        (lambda p: H.average_pool_2d(np.zeros((1, 2, 2, 1), int),
                                     H.pool_params(Q, Q, 3, 1, "VALID")), ValueError,
         r"^filter height 3 leaves no output on input height 2 with VALID padding and stride 1$"),
        (lambda p: H.pool_params(Q, Q, 2, 2, "FULL"), ValueError,
         r"^padding must be one of SAME, VALID, not 'FULL'$"),
        (lambda p: H.pool_params(Q, Q, 0, 2, "SAME"), ValueError,
         r"^filter_size must be in \[1, inf\], not 0$"),
        (lambda p: H.pool_params(Q, H.TensorQuant(0.1, 1), 2, 2, "SAME"), ValueError,
         r"^pooling needs equal input and output quantization"),
        (lambda p: H.max_pool_2d(np.zeros((1, 4, 4, 1), int), None), TypeError,
         r"^params must be PoolParams, not NoneType$"),
    ],
)
def test_pool_bad_input(call, exc, pattern):
    p = H.pool_params(Q, Q, 2, 2, "SAME")
    with pytest.raises(exc, match=pattern):
        call(p)
