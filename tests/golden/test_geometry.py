"""Padding resolution, output sizes, im2col, and the accumulator-width rule."""

from __future__ import annotations

import numpy as np
import pytest

import golden


@pytest.mark.parametrize(
    ("size", "k", "s", "d", "pads", "out"),
    [
        # hand-worked TFLite SAME: out = ceil(size / s), total = (out-1)*s + (k-1)*d + 1 - size
        (5, 3, 1, 1, (1, 1), 5),
        (5, 3, 2, 1, (1, 1), 3),  # total = 2*2 + 3 - 5 = 2
        (6, 3, 2, 1, (0, 1), 3),  # total = 4 + 3 - 6 = 1: the extra pixel goes to the bottom
        (6, 1, 2, 1, (0, 0), 3),  # total = 4 + 1 - 6 = -1 -> 0
        (7, 3, 1, 2, (2, 2), 7),  # dilated kernel spans 5: total 4
        (4, 4, 1, 1, (1, 2), 4),
        (1, 5, 3, 1, (2, 2), 1),
    ],
)
def test_same_padding(size, k, s, d, pads, out):
    top, left, bottom, right = golden.resolve_padding("SAME", (size, 9), (k, 1), (s, 1), (d, 1))
    assert (top, bottom) == pads and (left, right) == (0, 0)
    assert golden.conv_output_size(
        (size, 9), (k, 1), stride=(s, 1), padding="same", dilation=(d, 1)
    ) == (out, 9)


def test_explicit_and_valid_padding():
    assert golden.resolve_padding("VALID", (5, 5), (3, 3)) == (0, 0, 0, 0)
    assert golden.resolve_padding(2, (5, 5), (3, 3)) == (2, 2, 2, 2)
    assert golden.resolve_padding((1, 2, 3, 4), (5, 5), (3, 3)) == (1, 2, 3, 4)
    # (5 + 1 + 3 - 3) // 2 + 1 = 4 rows, (6 + 2 + 4 - 5) // 1 + 1 = 8 columns with dilation 2
    assert golden.conv_output_size(
        (5, 6), (3, 3), stride=(2, 1), padding=(1, 2, 3, 4), dilation=(1, 2)
    ) == (4, 8)


def test_im2col_column_order_matches_ohwi_weights():
    rng = np.random.default_rng(0)
    x = rng.integers(-9, 9, size=(2, 5, 4, 3))
    cols = golden.im2col(x, 2, 3, stride=(2, 1), padding=(1, 1, 0, 1), pad_value=-99)
    assert cols.shape == (2, 3, 4, 18)
    # output (n, i, j), column (p * KW + q) * C + c holds x[n, i*2 + p - 1, j + q - 1, c]
    # or the pad value
    for n, i, j, p, q, c in np.ndindex(2, 3, 4, 2, 3, 3):
        r, s = i * 2 + p - 1, j + q - 1
        expect = x[n, r, s, c] if 0 <= r < 5 and 0 <= s < 4 else -99
        assert cols[n, i, j, (p * 3 + q) * 3 + c] == expect


def test_geometry_errors():
    with pytest.raises(
        ValueError,
        match=r"^kernel 3x3 with dilation \(2, 2\) spans 5x5, larger than the padded input 4x4",
    ):
        golden.conv_output_size((4, 4), (3, 3), dilation=2)
    with pytest.raises(ValueError, match=r"^padding must be in \[0, inf\], not -1$"):
        golden.resolve_padding((0, -1, 0, 0), (4, 4), (3, 3))
    with pytest.raises(
        ValueError, match=r"^x must be an NHWC ndarray with 4 dimensions, not shape \(4, 4\)$"
    ):
        golden.im2col(np.zeros((4, 4)), 1, 1)
    with pytest.raises(
        ValueError, match=r"^stride must be an int or an \(h, w\) pair, not \(1, 2, 3\)$"
    ):
        golden.conv_output_size((4, 4), (1, 1), stride=(1, 2, 3))


# ---- accumulator width -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "w", "acc"), [(8, 8, 32), (8, 8, 24), (16, 16, 48), (4, 4, 16), (2, 2, 8), (16, 8, 64)]
)
def test_max_safe_k_is_tight(a, w, acc):
    k = golden.max_safe_k(a, w, acc)
    worst = (2**a - 1) * 2 ** (w - 1)  # |x - x_zp| <= 2^a - 1, |w| <= 2^(w-1)
    assert k * worst <= 2 ** (acc - 1) - 1 < (k + 1) * worst
    golden.check_accumulator(k, a_bits=a, w_bits=w, acc_bits=acc)
    with pytest.raises(ValueError, match=rf"^K={k + 1} exceeds the accumulator: .*acc_bits={acc} "):
        golden.check_accumulator(k + 1, a_bits=a, w_bits=w, acc_bits=acc)


def test_max_safe_k_agrees_with_array_config():
    from hw.config import ArrayConfig

    for a, w, acc in [(8, 8, 32), (4, 8, 20), (16, 16, 48)]:
        assert ArrayConfig(a_bits=a, w_bits=w, acc_bits=acc).max_k == golden.max_safe_k(a, w, acc)


def test_extreme_products_reach_the_bound_exactly():
    """The worst case is attained: x = -128, x_zp = 127, w = -128 give +32640 per product."""
    k = golden.max_safe_k(8, 8, 32)
    x = np.full((1, k), -128, dtype=np.int64)
    w = np.full((k, 1), -128, dtype=np.int64)
    assert int(golden.matmul_acc(x, w, None, x_zp=127)[0, 0]) == k * 255 * 128 <= 2**31 - 1


def test_check_accumulator_bad_input():
    with pytest.raises(ValueError, match=r"^a_bits must be in \[2, 16\], not 17$"):
        golden.check_accumulator(1, a_bits=17, w_bits=8, acc_bits=32)
    with pytest.raises(ValueError, match=r"^acc_bits must be in \[2, 64\], not 65$"):
        golden.max_safe_k(8, 8, 65)
    with pytest.raises(ValueError, match=r"^k must be in \[0, inf\], not -1$"):
        golden.check_accumulator(-1, a_bits=8, w_bits=8, acc_bits=32)
