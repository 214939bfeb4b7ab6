"""Golden layers against onnxruntime: exact integer accumulators, and QLinear* within 1 LSB.

MatMulInteger and ConvInteger (int8 x int8 -> int32) compute sum w * (x - x_zp) exactly, with bias
None, so they must equal golden's accumulators bit for bit. Padding: onnxruntime's ConvInteger
im2col fills padded taps with the activation zero point (its ``padding_value`` is x_zero_point),
so a padded tap contributes w * (x_zp - x_zp) = 0, the same convention as golden and TFLite
(DESIGN.md: padded taps are real zeros); ``test_convinteger_pads_with_zero_point`` checks it.
"""

from __future__ import annotations

import numpy as np
import pytest

import golden

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
from tests.golden.ort_models import conv_integer, matmul_integer, qlinear_conv, qlinear_matmul  # noqa: E402

EXTREMES = [("random", None), ("all_min", -128), ("all_max", 127)]


def _fill(rng, shape, value):
    if value is None:
        return rng.integers(-128, 127, size=shape, endpoint=True, dtype=np.int64)
    return np.full(shape, value, dtype=np.int64)


def _ort_conv(x, w, x_zp, **geo):
    padding = golden.normalize_padding(geo.pop("padding", "VALID"))
    stride = golden._check.pair("stride", geo.pop("stride", 1))
    dilation = golden._check.pair("dilation", geo.pop("dilation", 1))
    sess, feed = conv_integer(x, w, x_zp, stride=stride, padding=padding, dilation=dilation, **geo)
    return sess.run(None, feed)[0].transpose(0, 2, 3, 1).astype(np.int64)


@pytest.mark.parametrize(
    ("xfill", "wfill"), [(None, None), (-128, -128), (127, 127), (-128, 127), (127, -128)]
)
@pytest.mark.parametrize("x_zp", [0, -128, 127, 37])
def test_matmulinteger_exact(xfill, wfill, x_zp):
    rng = np.random.default_rng(abs(x_zp))
    x = _fill(rng, (7, 300), xfill)
    w = _fill(rng, (300, 5), wfill)
    np.testing.assert_array_equal(
        golden.matmul_acc(x, w, None, x_zp=x_zp), matmul_integer(x, w, x_zp)
    )
    np.testing.assert_array_equal(
        golden.fully_connected_acc(x, w.T.copy(), None, x_zp=x_zp), matmul_integer(x, w, x_zp)
    )


CONV_CASES = [
    dict(stride=1, padding="VALID"),
    dict(stride=1, padding="SAME"),
    dict(stride=2, padding="SAME"),
    dict(stride=(2, 1), padding="SAME", dilation=(1, 2)),
    dict(stride=3, padding="SAME", dilation=2),
    dict(stride=1, padding=1, dilation=2),
    dict(stride=(1, 2), padding=(0, 2, 1, 3)),
    dict(stride=2, padding=(3, 0, 0, 1), dilation=(2, 1)),
]


@pytest.mark.parametrize(
    "geo", CONV_CASES, ids=lambda g: "-".join(f"{k}={v}" for k, v in g.items())
)
@pytest.mark.parametrize("groups", [1, 2, 6])
@pytest.mark.parametrize(("name", "fill"), EXTREMES)
def test_convinteger_exact(geo, groups, name, fill):
    rng = np.random.default_rng(groups)
    x_zp = {"random": 23, "all_min": 127, "all_max": -128}[name]  # extremes maximize |x - x_zp|
    x = _fill(rng, (2, 9, 8, 6), fill)
    w = _fill(rng, (12, 3, 2, 6 // groups), fill)
    np.testing.assert_array_equal(
        golden.conv2d_acc(x, w, None, x_zp=x_zp, groups=groups, **geo),
        _ort_conv(x, w, x_zp, groups=groups, **dict(geo)),
    )


@pytest.mark.parametrize(
    "geo", CONV_CASES[:6], ids=lambda g: "-".join(f"{k}={v}" for k, v in g.items())
)
@pytest.mark.parametrize("multiplier", [1, 3])
def test_depthwise_matches_grouped_convinteger(geo, multiplier):
    """TFLite depthwise (1, KH, KW, Cin*mult) = ONNX group=Cin conv, OHWI (Cin*mult, KH, KW, 1)."""
    rng = np.random.default_rng(multiplier)
    x = _fill(rng, (1, 10, 7, 5), None)
    w = _fill(rng, (1, 3, 3, 5 * multiplier), None)
    ours = golden.depthwise_conv2d_acc(x, w, None, x_zp=-9, **geo)
    np.testing.assert_array_equal(
        ours, _ort_conv(x, w.transpose(3, 1, 2, 0).copy(), -9, groups=5, **dict(geo))
    )


def test_convinteger_pads_with_zero_point():
    """An input equal to x_zp everywhere gives all-zero accumulators even where taps are padded."""
    x = np.full((1, 5, 5, 2), 77, dtype=np.int64)
    w = np.full((3, 3, 3, 2), 100, dtype=np.int64)
    ort = _ort_conv(x, w, 77, padding=(2, 2, 2, 2))
    assert ort.shape == (1, 7, 7, 3) and not ort.any()
    np.testing.assert_array_equal(golden.conv2d_acc(x, w, None, x_zp=77, padding=2), ort)


def _qlinear_setup(rng, cout):
    # Scales exactly representable in float32 so both sides start from the same real multiplier.
    x_scale = float(np.float32(0.05))
    w_scale = np.float32(rng.uniform(0.002, 0.02, size=cout)).astype(np.float64)
    y_scale = float(np.float32(0.25))
    m0, shift = golden.quantize_multiplier(x_scale * w_scale / y_scale)
    return x_scale, w_scale, y_scale, m0, shift


def test_qlinearconv_within_one_lsb(capsys):
    """QLinearConv vs golden conv2d ("tflite" rounding): |difference| <= 1 LSB.

    onnxruntime requantizes in float32:
    round_half_to_even(float32(acc) * float32(multiplier)) + y_zp.
    golden follows TFLite's fixed point: a Q31 multiplier, a rounding high multiply (ties up) and a
    rounding right shift (ties away from zero). The two differ on ties and when float32's 24-bit
    mantissa (or the Q31 multiplier) rounds the product across a .5 boundary, so they agree within
    one LSB but not exactly. The fraction that differs is printed.
    """
    rng = np.random.default_rng(5)
    x = _fill(rng, (1, 12, 12, 8), None)
    w = rng.integers(-127, 127, size=(16, 3, 3, 4), endpoint=True, dtype=np.int64)
    bias = rng.integers(-3000, 3000, size=16)
    x_scale, w_scale, y_scale, m0, shift = _qlinear_setup(rng, 16)
    ours = golden.conv2d(x, w, bias, x_zp=-4, y_zp=3, m0=m0, shift=shift, padding="SAME", groups=2)
    sess, feed = qlinear_conv(
        x,
        w,
        bias,
        x_scale=x_scale,
        x_zp=-4,
        w_scale=w_scale,
        y_scale=y_scale,
        y_zp=3,
        padding="SAME",
        groups=2,
    )
    theirs = sess.run(None, feed)[0].transpose(0, 2, 3, 1).astype(np.int64)
    diff = np.abs(ours - theirs)
    with capsys.disabled():
        print(f"\nQLinearConv: {np.mean(diff > 0):.4%} of {diff.size} outputs differ by 1 LSB")
    assert diff.max() <= 1
    assert np.unique(ours).size > 50  # outputs spread over the range, not all saturated


def test_qlinearmatmul_within_one_lsb(capsys):
    """QLinearMatMul vs golden matmul: within 1 LSB (see test_qlinearconv_within_one_lsb)."""
    rng = np.random.default_rng(6)
    x = _fill(rng, (64, 96), None)
    w = rng.integers(-127, 127, size=(96, 24), endpoint=True, dtype=np.int64)
    x_scale, w_scale, y_scale, m0, shift = _qlinear_setup(rng, 24)
    ours = golden.matmul(x, w, None, x_zp=11, y_zp=-7, m0=m0, shift=shift)
    theirs = qlinear_matmul(
        x, w, x_scale=x_scale, x_zp=11, w_scale=w_scale, y_scale=y_scale, y_zp=-7
    )
    diff = np.abs(ours - theirs)
    with capsys.disabled():
        print(f"\nQLinearMatMul: {np.mean(diff > 0):.4%} of {diff.size} outputs differ by 1 LSB")
    assert diff.max() <= 1
    assert np.unique(ours).size > 50
