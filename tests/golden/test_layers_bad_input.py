"""Integer layers reject bad input with TypeError/ValueError naming the parameter and value."""

from __future__ import annotations

import numpy as np
import pytest

import golden

# ---- bad input -------------------------------------------------------------------------------
X = np.zeros((1, 5, 5, 4), dtype=np.int64)
W = np.zeros((2, 3, 3, 4), dtype=np.int64)


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (
            lambda: golden.conv2d_acc(X * 1.0, W, None, x_zp=0),
            TypeError,
            r"^x must have an integer dtype, not float64$",
        ),
        (
            lambda: golden.matmul_acc(np.zeros((2, 3)), np.zeros((3, 2), int), None, x_zp=0),
            TypeError,
            r"^x must have an integer dtype, not float64$",
        ),
        (
            lambda: golden.conv2d_acc(X, W * 1.0, None, x_zp=0),
            TypeError,
            r"^w must have an integer dtype, not float64$",
        ),
        (
            lambda: golden.conv2d_acc(X, W[..., :3], None, x_zp=0),
            ValueError,
            r"^w has 3 input channels per group but x has Cin=4 channels with groups=1",
        ),
        (
            lambda: golden.matmul_acc(X[0, 0], W[0, 0], None, x_zp=0),
            ValueError,
            r"^x has K=4 columns but w has 3 rows",
        ),
        (
            lambda: golden.conv2d_acc(X, W, None, x_zp=128),
            ValueError,
            r"^x_zp must be in \[-128, 127\], not 128$",
        ),
        (
            lambda: golden.conv2d_acc(X, W, None, x_zp=-129),
            ValueError,
            r"^x_zp must be in \[-128, 127\], not -129$",
        ),
        (
            lambda: golden.conv2d_acc(X, W, None, x_zp=0.0),
            TypeError,
            r"^x_zp must be an integer, not 0\.0$",
        ),
        (
            lambda: golden.conv2d_acc(X + 200, W, None, x_zp=0),
            ValueError,
            r"^x must be in \[-128, 127\] \(a_bits=8\), found 200$",
        ),
        (
            lambda: golden.conv2d_acc(X, W, None, x_zp=0, stride=0),
            ValueError,
            r"^stride must be in \[1, inf\], not 0$",
        ),
        (
            lambda: golden.conv2d_acc(X, W, None, x_zp=0, stride=(1, 0)),
            ValueError,
            r"^stride must be in \[1, inf\], not 0$",
        ),
        (
            lambda: golden.conv2d_acc(X, W, None, x_zp=0, dilation=0),
            ValueError,
            r"^dilation must be in \[1, inf\], not 0$",
        ),
        (
            lambda: golden.conv2d_acc(X, W, None, x_zp=0, padding="FULL"),
            ValueError,
            r"^padding must be 'SAME', 'VALID'",
        ),
        (
            lambda: golden.conv2d_acc(X, W, None, x_zp=0, padding=-1),
            ValueError,
            r"^padding must be in \[0, inf\], not -1$",
        ),
        (
            lambda: golden.conv2d_acc(X, W, None, x_zp=0, padding=(1, 2)),
            ValueError,
            r"^padding must be 'SAME', 'VALID', an int or \(top, left, bottom, right\)",
        ),
        (
            lambda: golden.conv2d_acc(X, W, None, x_zp=0, groups=3),
            ValueError,
            r"^groups=3 must divide Cin=4 and Cout=2$",
        ),
        (
            lambda: golden.conv2d_acc(X, W, None, x_zp=0, groups=0),
            ValueError,
            r"^groups must be in \[1, inf\], not 0$",
        ),
        (
            lambda: golden.conv2d_acc(X, W, None, x_zp=0, a_bits=1),
            ValueError,
            r"^a_bits must be in \[2, 16\], not 1$",
        ),
        (
            lambda: golden.conv2d_acc(X, W, None, x_zp=0, w_bits=17),
            ValueError,
            r"^w_bits must be in \[2, 16\], not 17$",
        ),
        (
            lambda: golden.conv2d(X, W, None, x_zp=0, y_zp=0, m0=1 << 30, shift=0, out_bits=17),
            ValueError,
            r"^out_bits must be in \[2, 16\], not 17$",
        ),
        (
            lambda: golden.conv2d(X, W, None, x_zp=0, y_zp=8, m0=1 << 30, shift=0, out_bits=4),
            ValueError,
            r"^y_zp must be in \[-8, 7\], not 8$",
        ),
        (
            lambda: golden.conv2d(X, W, None, x_zp=0, y_zp=0, m0=1 << 30, shift=0, act_max=128),
            ValueError,
            r"^act_max must be in \[-128, 127\], not 128$",
        ),
        (
            lambda: golden.conv2d_acc(X, W, np.zeros(3, int), x_zp=0),
            ValueError,
            r"^bias must have shape \(2,\) \(one per output channel\), not \(3,\)$",
        ),
        (
            lambda: golden.conv2d_acc(X, W, np.zeros(2), x_zp=0),
            TypeError,
            r"^bias must have an integer dtype, not float64$",
        ),
        (
            lambda: golden.conv2d_acc(X, np.zeros((2, 7, 3, 4), int), None, x_zp=0),
            ValueError,
            r"^kernel 7x3 with dilation \(1, 1\) spans 7x3, larger than the padded input 5x5",
        ),
        (
            lambda: golden.conv2d_acc(X[0], W, None, x_zp=0),
            ValueError,
            r"^x must have 4 dimensions, not shape \(5, 5, 4\)$",
        ),
        (
            lambda: golden.depthwise_conv2d_acc(X, np.zeros((1, 3, 3, 6), int), None, x_zp=0),
            ValueError,
            r"^depthwise w has 6 channels, not a multiple of x's Cin=4",
        ),
        (
            lambda: golden.depthwise_conv2d_acc(X, np.zeros((2, 3, 3, 4), int), None, x_zp=0),
            ValueError,
            r"^depthwise w must have shape \(1, KH, KW, Cin\*mult\), not \(2, 3, 3, 4\)$",
        ),
    ],
)
def test_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_k_too_large_for_acc_bits():
    k = golden.max_safe_k(8, 8, 32) + 1
    x = np.zeros((1, k), dtype=np.int8)
    w = np.zeros((k, 1), dtype=np.int8)
    with pytest.raises(ValueError, match=rf"^K={k} exceeds the accumulator: .* for acc_bits=32 "):
        golden.matmul_acc(x, w, None, x_zp=0)
    golden.matmul_acc(x[:, :-1], w[:-1], None, x_zp=0)  # the largest safe K is accepted
    # 65793 * 255 * 128 = 2^31 - 1 - 127: a bias of 127 still fits, 128 does not.
    golden.matmul_acc(x[:, :-1], w[:-1], np.array([-127]), x_zp=0)
    with pytest.raises(ValueError, match=r"^K=65793 exceeds the accumulator: \|bias\| 128 \+ K"):
        golden.matmul_acc(x[:, :-1], w[:-1], np.array([-128]), x_zp=0)
    with pytest.raises(ValueError, match=r"^K=576 exceeds the accumulator: .* for acc_bits=16 "):
        golden.conv2d_acc(
            X.repeat(16, axis=3), np.zeros((2, 3, 3, 64), int), None, x_zp=0, acc_bits=16
        )
