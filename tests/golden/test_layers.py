"""Integer layers against independent formulations: direct loops over output pixels (small sizes)
and einsum over an explicitly padded input; float twins; rejection of bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import golden


def _same_pads(size, k, s, d):
    """TFLite SAME, restated: out = ceil(size / s), the smaller half of the padding first."""
    out = (size + s - 1) // s
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _pads(padding, h, w, kh, kw, stride, dilation):
    if padding == "VALID":
        return 0, 0, 0, 0
    if padding == "SAME":
        t, b = _same_pads(h, kh, stride[0], dilation[0])
        left, r = _same_pads(w, kw, stride[1], dilation[1])
        return t, left, b, r
    if isinstance(padding, int):
        return padding, padding, padding, padding
    return padding


def direct_conv(x, w, bias, x_zp, stride, padding, dilation, groups):
    """sum over taps, one output pixel and channel at a time, reading x_zp outside the input."""
    n, h, wd, cin = x.shape
    cout, kh, kw, cin_g = w.shape
    top, left, bottom, right = _pads(padding, h, wd, kh, kw, stride, dilation)
    oh = (h + top + bottom - (kh - 1) * dilation[0] - 1) // stride[0] + 1
    ow = (wd + left + right - (kw - 1) * dilation[1] - 1) // stride[1] + 1
    out = np.zeros((n, oh, ow, cout), dtype=object)
    cout_g = cout // groups
    for b, i, j, o in np.ndindex(n, oh, ow, cout):
        g = o // cout_g
        total = int(bias[o]) if bias is not None else 0
        for p, q, c in np.ndindex(kh, kw, cin_g):
            r = i * stride[0] + p * dilation[0] - top
            s = j * stride[1] + q * dilation[1] - left
            xv = int(x[b, r, s, g * cin_g + c]) if 0 <= r < h and 0 <= s < wd else x_zp
            total += int(w[o, p, q, c]) * (xv - x_zp)
        out[b, i, j, o] = total
    return out.astype(np.int64)


def einsum_conv(x, w, x_zp, stride, padding, dilation, groups):
    """Explicitly padded input (x_zp, i.e. 0 after centring), one einsum per group over windows."""
    n, h, wd, cin = x.shape
    cout, kh, kw, cin_g = w.shape
    top, left, bottom, right = _pads(padding, h, wd, kh, kw, stride, dilation)
    xp = np.pad(x - x_zp, ((0, 0), (top, bottom), (left, right), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(
        xp, ((kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1), axis=(1, 2)
    )[:, :: stride[0], :: stride[1], :, :: dilation[0], :: dilation[1]]  # (N, OH, OW, Cin, KH, KW)
    cout_g = cout // groups
    parts = [
        np.einsum(
            "nijcpq,opqc->nijo",
            win[:, :, :, g * cin_g : (g + 1) * cin_g],
            w[g * cout_g : (g + 1) * cout_g],
        )
        for g in range(groups)
    ]
    return np.concatenate(parts, axis=3)


GEOMETRIES = [
    ((1, 1), "VALID", (1, 1)),
    ((1, 1), "SAME", (1, 1)),
    ((2, 2), "SAME", (1, 1)),
    ((2, 3), "SAME", (2, 1)),
    ((1, 2), 1, (2, 2)),
    ((3, 1), (2, 0, 1, 3), (1, 1)),
    ((2, 2), (0, 1, 0, 0), (1, 3)),
]


@pytest.mark.parametrize(("stride", "padding", "dilation"), GEOMETRIES)
@pytest.mark.parametrize(("cin", "cout", "groups"), [(3, 4, 1), (4, 6, 2), (4, 4, 4), (3, 6, 3)])
def test_conv2d_acc_matches_direct_loop(stride, padding, dilation, cin, cout, groups):
    rng = np.random.default_rng(cin * 10 + groups)
    x = rng.integers(-128, 127, size=(2, 7, 6, cin), endpoint=True)
    w = rng.integers(-128, 127, size=(cout, 3, 2, cin // groups), endpoint=True)
    bias = rng.integers(-5000, 5000, size=cout)
    geo = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    ours = golden.conv2d_acc(x, w, bias, x_zp=-17, **geo)
    np.testing.assert_array_equal(
        ours, direct_conv(x, w, bias, -17, stride, padding, dilation, groups)
    )
    np.testing.assert_array_equal(
        ours - bias, einsum_conv(x, w, -17, stride, padding, dilation, groups)
    )


@pytest.mark.parametrize(("stride", "padding", "dilation"), GEOMETRIES)
@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_matches_direct_loop(stride, padding, dilation, multiplier):
    rng = np.random.default_rng(multiplier)
    cin = 3
    x = rng.integers(-128, 127, size=(1, 8, 7, cin), endpoint=True)
    w = rng.integers(-128, 127, size=(1, 3, 3, cin * multiplier), endpoint=True)
    bias = rng.integers(-100, 100, size=cin * multiplier)
    ours = golden.depthwise_conv2d_acc(
        x, w, bias, x_zp=5, stride=stride, padding=padding, dilation=dilation
    )
    # Output channel c * mult + j reads input channel c: as OHWI with groups = Cin.
    w_ohwi = w[0].transpose(2, 0, 1)[..., None]
    np.testing.assert_array_equal(
        ours, direct_conv(x, w_ohwi, bias, 5, stride, padding, dilation, cin)
    )


@pytest.mark.parametrize("bits", [(16, 16, 48), (12, 4, 32), (2, 2, 10)])
def test_wide_and_narrow_bits_are_exact(bits):
    """16-bit operands leave float's exact range: the int64 path must still be exact."""
    a_bits, w_bits, acc_bits = bits
    rng = np.random.default_rng(a_bits)
    lo, hi = -(1 << (a_bits - 1)), (1 << (a_bits - 1)) - 1
    x = rng.integers(lo, hi, size=(1, 6, 6, 4), endpoint=True)
    w = rng.integers(
        -(1 << (w_bits - 1)), (1 << (w_bits - 1)) - 1, size=(4, 2, 2, 2), endpoint=True
    )
    # extremes: |x - x_zp| = 2^a_bits - 1 and |w| = 2^(w_bits-1) at one pixel
    x[0, 0, 0, :] = hi
    w[0, :, :, :] = -(1 << (w_bits - 1))
    ours = golden.conv2d_acc(
        x,
        w,
        None,
        x_zp=lo,
        padding="SAME",
        groups=2,
        a_bits=a_bits,
        w_bits=w_bits,
        acc_bits=acc_bits,
    )
    np.testing.assert_array_equal(ours, direct_conv(x, w, None, lo, (1, 1), "SAME", (1, 1), 2))
    xm = rng.integers(lo, hi, size=(3, 40), endpoint=True)
    wm = rng.integers(-(1 << (w_bits - 1)), (1 << (w_bits - 1)) - 1, size=(40, 2), endpoint=True)
    expect = [
        [sum(int(wm[k, j]) * (int(xm[i, k]) - lo) for k in range(40)) for j in range(2)]
        for i in range(3)
    ]
    assert (
        golden.matmul_acc(
            xm, wm, None, x_zp=lo, a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits
        ).tolist()
        == expect
    )


def test_matmul_and_fully_connected():
    rng = np.random.default_rng(1)
    x = rng.integers(-128, 127, size=(5, 33), endpoint=True)
    w = rng.integers(-128, 127, size=(33, 7), endpoint=True)
    bias = rng.integers(-1000, 1000, size=7)
    expect = [
        [int(bias[j]) + sum(int(w[k, j]) * (int(x[i, k]) + 3) for k in range(33)) for j in range(7)]
        for i in range(5)
    ]
    assert golden.matmul_acc(x, w, bias, x_zp=-3).tolist() == expect
    assert golden.fully_connected_acc(x, w.T, bias, x_zp=-3).tolist() == expect
    m0, shift = golden.quantize_multiplier(np.full(7, 1e-3))
    out = golden.fully_connected(x, w.T, bias, x_zp=-3, y_zp=2, m0=m0, shift=shift, act_min=0)
    np.testing.assert_array_equal(
        out, golden.requantize(np.array(expect), m0, shift, y_zp=2, act_min=0)
    )


def test_requantized_layers_use_out_bits_range_and_mult_bits():
    layer = golden.make_random_layer(
        "conv2d",
        rng=np.random.default_rng(2),
        h=6,
        w=6,
        cin=4,
        cout=5,
        kernel=3,
        padding="SAME",
        out_bits=4,
    )
    m0, shift = golden.reduce_multiplier(layer.m0, layer.shift, 12)
    out = golden.conv2d(
        layer.x,
        layer.w,
        layer.bias,
        x_zp=layer.x_zp,
        y_zp=layer.y_zp,
        m0=m0,
        shift=shift,
        padding="SAME",
        mult_bits=12,
        out_bits=4,
        rounding="single",
    )
    expect = golden.requantize(
        layer.acc(),
        m0,
        shift,
        y_zp=layer.y_zp,
        act_min=-8,
        act_max=7,
        rounding="single",
        mult_bits=12,
    )
    np.testing.assert_array_equal(out, expect)
    assert out.min() >= -8 and out.max() <= 7
    np.testing.assert_array_equal(out, layer.output(rounding="single", mult_bits=12))


def test_empty_batch():
    x = np.zeros((0, 5, 5, 2), dtype=np.int8)
    w = np.ones((3, 3, 3, 2), dtype=np.int8)
    assert golden.conv2d_acc(x, w, None, x_zp=0, padding="SAME").shape == (0, 5, 5, 3)


# ---- float twins -----------------------------------------------------------------------------
def test_float_twins_equal_integer_layers_on_integer_values():
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 127, size=(2, 6, 5, 4), endpoint=True)
    w = rng.integers(-127, 127, size=(6, 3, 3, 2), endpoint=True)
    b = rng.integers(-99, 99, size=6)
    geo = dict(stride=2, padding="SAME", dilation=1, groups=2)
    np.testing.assert_array_equal(
        golden.conv2d_float(x - 7.0, w * 1.0, b * 1.0, **geo),
        golden.conv2d_acc(x, w, b, x_zp=7, **geo),
    )
    wd = rng.integers(-127, 127, size=(1, 3, 3, 8), endpoint=True)
    np.testing.assert_array_equal(
        golden.depthwise_conv2d_float(x * 1.0, wd * 1.0, padding=1),
        golden.depthwise_conv2d_acc(x, wd, None, x_zp=0, padding=1),
    )
    xm, wm = x.reshape(12, 20), rng.integers(-127, 127, size=(20, 3), endpoint=True)
    np.testing.assert_array_equal(
        golden.matmul_float(xm * 1.0, wm * 1.0), golden.matmul_acc(xm, wm, x_zp=0)
    )
    np.testing.assert_array_equal(
        golden.fully_connected_float(xm * 1.0, wm.T * 1.0, [1.0, 2.0, 3.0]),
        golden.fully_connected_acc(xm, wm.T, np.array([1, 2, 3]), x_zp=0),
    )


def test_float_conv_with_fractional_values_matches_einsum():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1, 7, 7, 4))
    w = rng.normal(size=(4, 3, 3, 2))
    ours = golden.conv2d_float(x, w, stride=2, padding="SAME", dilation=1, groups=2)
    np.testing.assert_allclose(
        ours, einsum_conv(x, w, 0.0, (2, 2), "SAME", (1, 1), 2), rtol=1e-12, atol=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    groups=st.sampled_from([1, 2, 3]),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
def test_property_conv_geometry_matches_einsum(data, groups, kernel, stride, dilation):
    """Random geometry (every padding form) on small sizes: im2col path == padded einsum."""
    padding = data.draw(
        st.one_of(
            st.sampled_from(["SAME", "VALID"]),
            st.integers(0, 3),
            st.tuples(*[st.integers(0, 3)] * 4),
        )
    )
    span = ((kernel[0] - 1) * dilation[0] + 1, (kernel[1] - 1) * dilation[1] + 1)
    h = data.draw(st.integers(span[0], span[0] + 6))
    w = data.draw(st.integers(span[1], span[1] + 6))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 127, size=(1, h, w, 2 * groups), endpoint=True)
    wt = rng.integers(-128, 127, size=(groups * 2, *kernel, 2), endpoint=True)
    x_zp = int(rng.integers(-128, 127, endpoint=True))
    ours = golden.conv2d_acc(
        x, wt, None, x_zp=x_zp, stride=stride, padding=padding, dilation=dilation, groups=groups
    )
    pad = golden.normalize_padding(padding)
    np.testing.assert_array_equal(ours, einsum_conv(x, wt, x_zp, stride, pad, dilation, groups))
