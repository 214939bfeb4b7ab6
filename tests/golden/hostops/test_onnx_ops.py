"""The ONNX host ops against onnxruntime one-op models, bit-exact, int8 and uint8.

Measured (onnxruntime 1.32, x86-64 with AVX-512): QuantizeLinear, DequantizeLinear, QLinearAdd,
QLinearGlobalAveragePool and MaxPool equal onnxruntime on every element of these cases. For
QLinearAdd the float order matters: on 2.5 million random elements the exact real-number formula
(in float64) misses 10 (4 per million); ``test_qlinear_add_needs_the_fma_order`` runs two of them.
"""

from __future__ import annotations

import numpy as np
import pytest

import golden.hostops as H

pytest.importorskip("onnxruntime")
from tests.golden.hostops.ort_one_op import run_one_op  # noqa: E402

DTYPES = ["int8", "uint8"]


def _rand_quant(rng, dtype, lo=-6.0, hi=-1.0):
    qmin, qmax = H.ONNX_QTYPES[dtype]
    return H.QLinearQuant(float(np.exp(rng.uniform(lo, hi))), int(rng.integers(qmin, qmax + 1)),
                          dtype)


def _rand_values(rng, q, shape):
    return rng.integers(q.qmin, q.qmax + 1, size=shape)


def _consts(prefix, q):
    return {f"{prefix}s": (q.scale, "float32"), f"{prefix}z": (q.zero_point, q.dtype)}


@pytest.mark.parametrize("dtype", DTYPES)
def test_quantize_linear_equals_onnxruntime(dtype):
    rng = np.random.default_rng(11)
    for trial in range(20):
        q = _rand_quant(rng, dtype)
        # values on and near the rounding ties: k/2 * scale, plus out-of-range ones
        k = rng.integers(-700, 700, size=400)
        x = (k / 2 * q.scale * (1 + rng.choice([0, 1e-7, -1e-7], size=k.shape)))
        x = np.concatenate([x, rng.normal(0, 300 * q.scale, 200)]).astype(np.float32)
        want = run_one_op("QuantizeLinear", {"x": (x, "float32")}, _consts("y", q),
                          ["x", "ys", "yz"], dtype)
        np.testing.assert_array_equal(H.quantize_linear(x, q), want, err_msg=f"trial {trial}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_dequantize_linear_equals_onnxruntime(dtype):
    rng = np.random.default_rng(12)
    q = _rand_quant(rng, dtype)
    v = np.arange(q.qmin, q.qmax + 1)
    want = run_one_op("DequantizeLinear", {"x": (v, dtype)}, _consts("x", q), ["x", "xs", "xz"],
                      "float32")
    got = H.dequantize_linear(v, q)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))


def _ort_add(a, b, qa, qb, qc):
    consts = {**_consts("a", qa), **_consts("b", qb), **_consts("c", qc)}
    return run_one_op("QLinearAdd", {"a": (a, qa.dtype), "b": (b, qb.dtype)}, consts,
                      ["a", "as", "az", "b", "bs", "bz", "cs", "cz"], qc.dtype,
                      domain="com.microsoft")


def _add_cases(dtype, trials, seed):
    rng = np.random.default_rng(seed)
    for trial in range(trials):
        qa, qb, qc = (_rand_quant(rng, dtype) for _ in range(3))
        if trial % 2:  # power-of-two ratios make exact ties common
            qb = H.QLinearQuant(qa.scale * 2, qb.zero_point, dtype)
            qc = H.QLinearQuant(qa.scale * 4, qc.zero_point, dtype)
        shape = (1, 8, 7, 9)
        yield qa, qb, qc, _rand_values(rng, qa, shape), _rand_values(rng, qb, shape)


@pytest.mark.parametrize("dtype", DTYPES)
def test_qlinear_add_equals_onnxruntime(dtype):
    for qa, qb, qc, a, b in _add_cases(dtype, 40, 13):
        p = H.qlinear_add_params(qa, qb, qc)
        np.testing.assert_array_equal(H.qlinear_add(a, b, p), _ort_add(a, b, qa, qb, qc))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("which", ["a", "b", "both"])
def test_qlinear_add_single_element_input_equals_onnxruntime(dtype, which):
    for qa, qb, qc, a, b in _add_cases(dtype, 20, 15):
        if which in ("a", "both"):
            a = a.reshape(-1)[:1].reshape(1, 1, 1, 1)
        if which in ("b", "both"):
            b = b.reshape(-1)[:1].reshape(1, 1, 1, 1)
        p = H.qlinear_add_params(qa, qb, qc)
        np.testing.assert_array_equal(H.qlinear_add(a, b, p), _ort_add(a, b, qa, qb, qc))


# Found by searching 2.5 million random elements (10 such, 4 per million): real values within
# 4e-6 of a rounding tie, where the kernel's float32 FMA order decides the side.
NEAR_TIES = [
    ("int8", (0.006210475694388151, -33), (0.004497639834880829, 110), (0.06447125971317291, -40),
     -93, -15),
    ("uint8", (0.1157504990696907, 115), (0.011891776695847511, 54), (0.09900511801242828, 146),
     17, 13),
]


@pytest.mark.parametrize(("dtype", "sa", "sb", "sc", "a", "b"), NEAR_TIES, ids=lambda v: str(v))
def test_qlinear_add_needs_the_fma_order(dtype, sa, sb, sc, a, b):
    qa, qb, qc = (H.QLinearQuant(s, z, dtype) for s, z in (sa, sb, sc))
    av, bv = np.array([[a]]), np.array([[b]])
    want = _ort_add(av, bv, qa, qb, qc)
    real = (qa.scale * (a - qa.zero_point) + qb.scale * (b - qb.zero_point)) / qc.scale
    assert np.rint(real + qc.zero_point) != want[0, 0]
    np.testing.assert_array_equal(H.qlinear_add(av, bv, H.qlinear_add_params(qa, qb, qc)), want)


@pytest.mark.parametrize("dtype", DTYPES)
def test_qlinear_global_average_pool_equals_onnxruntime(dtype):
    rng = np.random.default_rng(17)
    for trial in range(30):
        qx, qy = _rand_quant(rng, dtype), _rand_quant(rng, dtype)
        if trial % 3 == 0:
            qy = H.QLinearQuant(qx.scale, qy.zero_point, dtype)
        h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        x = _rand_values(rng, qx, (2, 16, h, w))  # NCHW
        want = run_one_op("QLinearGlobalAveragePool", {"x": (x, dtype)},
                          {**_consts("x", qx), **_consts("y", qy)}, ["x", "xs", "xz", "ys", "yz"],
                          dtype, domain="com.microsoft", channels_last=0)
        p = H.qlinear_global_average_pool_params(qx, qy, h * w)
        got = H.qlinear_global_average_pool(x.transpose(0, 2, 3, 1), p).transpose(0, 3, 1, 2)
        np.testing.assert_array_equal(got, want, err_msg=f"trial {trial}")


MAXPOOL_CASES = [
    dict(kernel_shape=[2, 2], strides=[2, 2]),
    dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    dict(kernel_shape=[3, 2], strides=[1, 2], pads=[0, 1, 2, 0]),
    dict(kernel_shape=[2, 2], strides=[1, 1], dilations=[2, 1], pads=[1, 0, 0, 0]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("attrs", MAXPOOL_CASES, ids=str)
def test_max_pool_equals_onnxruntime(dtype, attrs):
    rng = np.random.default_rng(18)
    q = _rand_quant(rng, dtype)
    x = _rand_values(rng, q, (2, 5, 9, 8))
    if dtype == "int8":
        x[0, 0] = q.qmin  # a window of minimum values next to the padding
    want = run_one_op("MaxPool", {"x": (x, dtype)}, {}, ["x"], dtype, **attrs)
    got = H.onnx_max_pool(x.transpose(0, 2, 3, 1), attrs["kernel_shape"], attrs["strides"],
                          attrs.get("pads", [0, 0, 0, 0]), attrs.get("dilations", [1, 1]))
    np.testing.assert_array_equal(got.transpose(0, 3, 1, 2), want)


def test_flatten_nchw_equals_onnx_order():
    x = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)  # NCHW
    want = run_one_op("Flatten", {"x": (x, "int8")}, {}, ["x"], "int8", axis=1)
    np.testing.assert_array_equal(H.flatten_nchw(x.transpose(0, 2, 3, 1)), want)


def test_requantize_float32_equals_formula():
    acc = np.array([[-1000, -3, 0, 5, 2**24 + 1, 77]])
    scale = np.float32(0.1)
    want = np.clip(np.rint(acc.astype(np.float32) * scale), -128 - 3, 127 - 3) + 3
    np.testing.assert_array_equal(H.requantize_float32(acc, scale, 3, -128, 127), want)


def test_fma_float32_rounds_once():
    f = np.float32
    # 1 + 2^-24 lies exactly halfway between two float32 values: ties to even.
    assert H.fma_float32(f(1), f(2**-24), f(1.0)) == f(1.0)
    # 3 * (1 + 2^-23) = 3 + 1.5 * 2^-22 is a float32 halfway point; minus 2^-60 the exact sum is
    # below it, but its float64 sum is the halfway point itself, which float32 rounds up.
    a, b, c = f(3), f(1 + 2**-23), f(-(2.0**-60))
    assert f(float(a) * float(b) + float(c)) == f(3 + 2**-21)  # double rounding
    assert H.fma_float32(a, b, c) == f(3 + 2**-22)


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (lambda: H.QLinearQuant(0.1, 300, "uint8"), ValueError,
         r"^zero_point must be in \[0, 255\], not 300$"),
        (lambda: H.QLinearQuant(0.1, 0, "int16"), ValueError,
         r"^dtype must be one of int8, uint8, not 'int16'$"),
        (lambda: H.QLinearQuant(-1.0, 0), ValueError, r"^scale must be finite and > 0"),
        (lambda: H.quantize_linear(np.array([1, 2]), H.QLinearQuant(0.1, 0)), TypeError,
         r"^x must be a floating-point ndarray, not int64$"),
        (lambda: H.dequantize_linear(np.array([300]), H.QLinearQuant(0.1, 0, "uint8")),
         ValueError, r"^v must hold uint8 values in \[0, 255\], found 300$"),
        (lambda: H.qlinear_add_params(H.QLinearQuant(0.1, 0), H.QLinearQuant(0.1, 0, "uint8"),
                                      H.QLinearQuant(0.1, 0)), ValueError,
         r"^QLinearAdd needs one element type, not a int8, b uint8, c int8$"),
        (lambda: H.qlinear_add(np.zeros((2, 3), int), np.zeros((3, 2), int),
                               H.qlinear_add_params(*[H.QLinearQuant(0.1, 0)] * 3)), ValueError,
         r"^a shape \(2, 3\) and b shape \(3, 2\) must be equal"),
        (lambda: H.qlinear_global_average_pool_params(H.QLinearQuant(1.0, 0),
                                                      H.QLinearQuant(1e-3, 0), 1), ValueError,
         r"is outside \[2\^-32, 256\)"),
        (lambda: H.onnx_max_pool(np.zeros((1, 4, 4, 1), int), (2, 2), pads=(2, 0, 0, 0)),
         ValueError, r"^pads \(2, 0, 0, 0\) must be smaller than the kernel span \(2, 2\)$"),
    ],
)
def test_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
