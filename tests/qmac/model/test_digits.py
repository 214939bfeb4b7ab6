"""The digits CNN: float inference, split, quantization, integer inference, evaluate_bits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import golden
from qmac.model import digits, evaluate, ptq

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def data() -> digits.DigitsData:
    return digits.load_digits_data()


@pytest.fixture(scope="module")
def model() -> digits.FloatCNN:
    return digits.load_float_cnn()


@pytest.fixture(scope="module")
def qnet8() -> ptq.QuantCNN:
    return ptq.quantized_digits_cnn(8, 8)


# ---- float side ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("size", "k", "s", "expected"),
    [
        (8, 3, 1, (8, 1, 1)),
        (8, 3, 2, (4, 0, 1)),
        (4, 3, 1, (4, 1, 1)),
        (7, 3, 2, (4, 1, 1)),
        (5, 1, 1, (5, 0, 0)),
    ],
)
def test_same_padding_tflite(size, k, s, expected):
    """The SAME rule the network's layers use (golden's): extra padding at the bottom/right."""
    assert _same(size, k, s) == expected


def _same(size: int, k: int, s: int) -> tuple[int, int, int]:
    """(out, pad before, pad after) along one axis, from golden's geometry."""
    (out, _), (top, _, bottom, _) = (
        golden.conv_output_size((size, size), (k, k), stride=s, padding="SAME"),
        golden.resolve_padding("SAME", (size, size), (k, k), s),
    )
    return out, top, bottom


def _conv_loop(x, w, b, stride, depthwise):
    """Direct loop over output pixels (reference for small sizes)."""
    n, h, wd, c = x.shape
    k = w.shape[1]
    oh, pt, _ = _same(h, k, stride)
    ow, pl, _ = _same(wd, k, stride)
    cout = w.shape[3] if depthwise else w.shape[0]
    out = np.zeros((n, oh, ow, cout))
    for i in range(oh):
        for j in range(ow):
            for di in range(k):
                for dj in range(k):
                    y, xx = i * stride + di - pt, j * stride + dj - pl
                    if 0 <= y < h and 0 <= xx < wd:
                        if depthwise:
                            out[:, i, j, :] += x[:, y, xx, :] * w[0, di, dj, :]
                        else:
                            out[:, i, j, :] += x[:, y, xx, :] @ w[:, di, dj, :].T
    return out + b


@pytest.mark.parametrize("index", range(3))
def test_float_conv_layers_match_direct_loop(index):
    rng = np.random.default_rng(index)
    spec = digits.ARCH[index]
    hw = (8, 8, 4)[index]
    x = rng.normal(size=(2, hw, hw, spec.cin))
    w, b = rng.normal(size=spec.w_shape), rng.normal(size=spec.cout)
    got = digits.layer_float(spec, x, w, b)
    ref = _conv_loop(x, w, b, spec.stride, spec.op == "depthwise_conv2d")
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_float_conv_layers_match_golden_float_twins(model, data):
    x = data.images[data.calib[:5]]
    outs = digits.float_forward(model, x, all_layers=True)
    ins = [x, *outs[:-1]]
    for spec, xin, out in zip(digits.ARCH, ins, outs, strict=True):
        w, b = model.weights[spec.name], model.biases[spec.name]
        if spec.op == "conv2d":
            ref = golden.conv2d_float(xin, w, b, stride=spec.stride, padding="SAME")
        elif spec.op == "depthwise_conv2d":
            ref = golden.depthwise_conv2d_float(xin, w, b, stride=spec.stride, padding="SAME")
        else:
            ref = golden.fully_connected_float(xin.reshape(len(xin), -1), w, b)
        if spec.relu:
            ref = np.maximum(ref, 0)
        np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)


def test_split_is_fixed_disjoint_and_stratified(data):
    assert (len(data.train), len(data.calib), len(data.test)) == (1200, 200, 397)
    every = np.concatenate([data.train, data.calib, data.test])
    assert np.array_equal(np.sort(every), np.arange(1797))
    tr, ca, te = digits.make_split(data.labels, seed=0)
    assert (
        np.array_equal(tr, data.train)
        and np.array_equal(ca, data.calib)
        and np.array_equal(te, data.test)
    )
    for part, n in ((data.calib, 200), (data.test, 397)):
        counts = np.bincount(data.labels[part], minlength=10)
        assert counts.min() >= n // 10 - 2


def test_shipped_weights_reproduce_stored_accuracy(model, data):
    logits = digits.float_forward(model, data.images[data.test])
    acc = np.mean(evaluate.predict(logits) == data.labels[data.test])
    assert acc == pytest.approx(model.test_accuracy, abs=1e-12)
    assert acc > 0.95


def test_training_script_runs_and_writes_loadable_weights(tmp_path):
    out = tmp_path / "w.npz"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "train_digits_cnn.py"),
            "--epochs",
            "1",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    model = digits.load_float_cnn(out)
    shipped = digits.load_digits_data()
    mine = digits.load_digits_data(out)
    assert np.array_equal(mine.test, shipped.test)
    assert 0.5 < model.test_accuracy <= 1.0


def test_bad_weights_file_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"weights file '.*nope\.npz' not found"):
        digits.load_float_cnn(tmp_path / "nope.npz")
    np.savez(tmp_path / "bad.npz", conv1_w=np.zeros((8, 3, 3, 1)))
    with pytest.raises(ValueError, match=r"weights are missing field 'conv1_b'"):
        digits.load_float_cnn(tmp_path / "bad.npz")
    np.savez(tmp_path / "shape.npz", conv1_w=np.zeros((8, 3, 3, 2)), conv1_b=np.zeros(8))
    with pytest.raises(
        ValueError, match=r"conv1_w must have shape \(8, 3, 3, 1\), not \(8, 3, 3, 2\)"
    ):
        digits.load_float_cnn(tmp_path / "shape.npz")


# ---- quantization ------------------------------------------------------------------------------
@pytest.mark.parametrize("bits", [8, 4, 2])
def test_weights_symmetric_per_channel(model, bits):
    q = ptq.quantized_digits_cnn(bits, bits)
    qmax = (1 << (bits - 1)) - 1
    for ql in q.layers:
        axis = ql.spec.channel_axis
        other = tuple(a for a in range(ql.w.ndim) if a != axis)
        peak = np.abs(ql.w).max(axis=other)
        assert peak.max() == qmax and peak.min() >= 1
        # dequantized weights within half a step of the float ones
        shape = [1] * ql.w.ndim
        shape[axis] = -1
        err = np.abs(ql.w * ql.w_scale.reshape(shape) - model.weights[ql.spec.name])
        assert np.all(err <= 0.5 * ql.w_scale.reshape(shape) + 1e-12)


def test_quantized_layer_parameters(qnet8, model):
    prev_scale, prev_zp = qnet8.input_scale, qnet8.input_zp
    assert prev_scale == pytest.approx(1 / 255) and prev_zp == -128
    for ql in qnet8.layers:
        assert (ql.x_scale, ql.x_zp) == (prev_scale, prev_zp)  # chained
        assert np.all((ql.m0 >= 1 << 30) & (ql.m0 < 1 << 31))
        real = ql.m0 * 2.0 ** (ql.shift.astype(float) - 31)
        np.testing.assert_allclose(real, ql.multiplier, rtol=2**-30)
        b = model.biases[ql.spec.name]
        assert np.all(
            np.abs(ql.bias * ql.x_scale * ql.w_scale - b) <= 0.5 * ql.x_scale * ql.w_scale + 1e-15
        )
        assert ql.act_min == (ql.y_zp if ql.spec.relu else -128) and ql.act_max == 127
        prev_scale, prev_zp = ql.y_scale, ql.y_zp


def test_to_layer_builds_golden_layers(qnet8, data):
    x = qnet8.quantize_input(data.images[data.test[:3]])
    assert x.dtype == np.int64 and x.shape == (3, 8, 8, 1) and x.min() >= -128 and x.max() <= 127
    outs = qnet8.forward(x, all_layers=True)
    assert [o.shape for o in outs] == [(3, 8, 8, 8), (3, 4, 4, 16), (3, 4, 4, 16), (3, 10)]
    fc = qnet8.layers[3].to_layer(outs[2])
    assert fc.op == "fully_connected" and fc.x.shape == (3, 256)
    assert np.array_equal(fc.output(), outs[3])


def _fixed_point_float_sim(ql: ptq.QuantLayer, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same fixed-point graph in float64: exact integer accumulator, one rounding of acc * M.

    Returns the clamped output and the unrounded ``acc * M`` (output layout).
    """
    xf = x.astype(np.float64) - ql.x_zp
    if ql.spec.op == "fully_connected":
        xf = xf.reshape(len(xf), -1)
    acc = digits.layer_float(ql.spec, xf, ql.w.astype(np.float64), ql.bias.astype(np.float64))
    v = acc * ql.multiplier
    return np.clip(np.round(v) + ql.y_zp, ql.act_min, ql.act_max), v


@pytest.mark.parametrize("rounding", ["tflite", "single"])
def test_integer_network_equals_float_fixed_point_simulation(qnet8, data, rounding):
    """Layer by layer, equal except near ties of acc * M, where the documented roundings differ.

    "single" rounds once (ties up), so it can differ from the float only within float/m0 precision
    of a tie; "tflite" first rounds acc * M to a grid of 2^shift (shift < 0) output LSBs, so it can
    differ where acc * M lies within 2^(shift - 1) of a tie.
    """
    x = qnet8.quantize_input(data.images[data.test])
    outs = qnet8.forward(x, all_layers=True, rounding=rounding)
    ins = [x, *outs[:-1]]
    for ql, xin, out in zip(qnet8.layers, ins, outs, strict=True):
        ref, v = _fixed_point_float_sim(ql, xin)
        diff = np.abs(out - ref)
        assert diff.max() <= 1, ql.spec.name
        assert np.mean(diff == 0) > 0.99, ql.spec.name
        to_tie = np.abs(np.abs(v - np.floor(v)) - 0.5)
        window = 2.0 ** (np.minimum(ql.shift, 0) - 1) if rounding == "tflite" else 0.0
        window = np.broadcast_to(window, v.shape) + 1e-6
        assert np.all(to_tie[diff != 0] <= window[diff != 0]), ql.spec.name


def test_logits_close_to_float_logits(qnet8, model, data):
    images = data.images[data.test]
    q = qnet8.forward(qnet8.quantize_input(images))
    f = digits.float_forward(model, images)
    err = np.abs(qnet8.dequantize_logits(q) - f) / qnet8.logits_scale
    assert err.max() < 8  # a few LSB of the logits after four requantizations


# ---- evaluate_bits ----------------------------------------------------------------------------
def test_int8_accuracy_within_one_point_of_float():
    r = evaluate.evaluate_bits(8, 8)
    assert r["n_test"] == 397
    assert abs(r["int_accuracy"] - r["float_accuracy"]) <= 0.01
    assert r["sqnr_db"] > 25 and r["ties"] == 0
    assert r["acc_bits_needed"] <= 32


def test_lower_bits_lose_accuracy_and_sqnr():
    r = {b: evaluate.evaluate_bits(b, b) for b in (16, 8, 6, 4, 2)}
    assert r[4]["int_accuracy"] < r[8]["int_accuracy"]
    assert r[2]["int_accuracy"] < r[4]["int_accuracy"]
    sq = [r[b]["sqnr_db"] for b in (16, 8, 6, 4, 2)]
    assert sq == sorted(sq, reverse=True)
    assert r[16]["agreement"] == 1.0
    assert r[16]["acc_bits_needed"] > r[8]["acc_bits_needed"]


def test_evaluate_bits_mixed_widths_and_subset(data, model):
    """a8w4 on 50 images: 4-bit weights, 8-bit activations, and figures of exactly those images."""
    r = evaluate.evaluate_bits(8, 4, n_test=50)
    assert r["n_test"] == 50 and (r["a_bits"], r["w_bits"]) == (8, 4)
    qnet = ptq.quantized_digits_cnn(8, 4)
    for ql in qnet.layers:  # weights at 4 bits (symmetric: +-7), activations at 8
        assert (ql.w_bits, ql.a_bits) == (4, 8) and np.abs(ql.w).max() == 7
    idx = data.test[:50]  # the subset is the first 50 images of the test split
    x_q = qnet.quantize_input(data.images[idx])
    assert x_q.min() >= -128 and x_q.max() <= 127 and len(np.unique(x_q)) > 16
    q_pred = evaluate.predict(qnet.forward(x_q))
    f_pred = evaluate.predict(digits.float_forward(model, data.images[idx]))
    labels = data.labels[idx]
    assert r["int_accuracy"] == np.mean(q_pred == labels)
    assert r["float_accuracy"] == np.mean(f_pred == labels)
    assert r["agreement"] == np.mean(q_pred == f_pred)
    # the weight width alone moves the error: a8w8 > a8w4 > a4w4 in SQNR on the same images
    sqnr = {bits: evaluate.evaluate_bits(*bits, n_test=50)["sqnr_db"] for bits in ((8, 8), (4, 4))}
    assert sqnr[(8, 8)] > r["sqnr_db"] > sqnr[(4, 4)]


@pytest.mark.parametrize(
    ("kwargs", "exc", "msg"),
    [
        ({"a_bits": 1, "w_bits": 8}, ValueError, r"^a_bits must be in \[2, 16\], not 1$"),
        ({"a_bits": 8, "w_bits": 17}, ValueError, r"^w_bits must be in \[2, 16\], not 17$"),
        ({"a_bits": 8.0, "w_bits": 8}, TypeError, r"^a_bits must be an integer, not 8\.0$"),
        (
            {"a_bits": 8, "w_bits": 8, "n_test": 0},
            ValueError,
            r"^n_test must be in \[1, 397\], not 0$",
        ),
        (
            {"a_bits": 8, "w_bits": 8, "n_test": "5"},
            TypeError,
            r"^n_test must be an integer, not '5'$",
        ),
    ],
)
def test_evaluate_bits_rejects_bad_arguments(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        evaluate.evaluate_bits(**kwargs)


def test_predict_breaks_ties_to_lowest_index():
    logits = np.array([[1, 5, 5, 0], [3, 2, 3, 3], [0, 0, 0, 1]])
    assert evaluate.predict(logits).tolist() == [1, 0, 3]
    assert evaluate.count_ties(logits) == 2


def test_evaluate_bits_error_in_float_units_and_uncertainty():
    r = evaluate.evaluate_bits(4, 4)
    assert r["out_bits"] == 4 and r["method"] == "minmax" and "max_err_lsb" not in r
    n, k = r["n_test"], r["int_correct"]
    assert r["int_accuracy"] == k / n
    assert r["int_accuracy_stderr"] == pytest.approx(np.sqrt(k / n * (1 - k / n) / n), rel=1e-12)
    lo, hi = r["int_accuracy_ci95"]
    assert lo < r["int_accuracy"] < hi and hi - lo < 5 * r["int_accuracy_stderr"]
    assert set(r["layer_sqnr_db"]) == {s.name for s in digits.ARCH}
    # logits error in logit units: dequantized integer logits vs float logits, by hand
    data, model = digits.load_digits_data(), digits.load_float_cnn()
    q = ptq.quantized_digits_cnn(4, 4)
    x = data.images[data.test]
    deq = q.dequantize_logits(q.forward(q.quantize_input(x)))
    err = np.abs(deq - digits.float_forward(model, x))
    assert r["max_abs_err"] == err.max() and r["rms_err"] == pytest.approx(np.sqrt(np.mean(err**2)))
    # at 16 bits every tensor is 16 bits wide: the error in float units shrinks (the max less:
    # test activations beyond the calibration range are clipped at any width)
    r16 = evaluate.evaluate_bits(16, 16)
    assert r16["out_bits"] == 16 and r16["rms_err"] < r["rms_err"] / 10
    assert r16["max_abs_err"] < r["max_abs_err"] / 5


def test_evaluate_bits_methods_and_out_bits():
    rows = {m: evaluate.evaluate_bits(3, 3, method=m) for m in evaluate.METHODS}
    assert {m: r["method"] for m, r in rows.items()} == {m: m for m in evaluate.METHODS}
    assert len({r["int_accuracy"] for r in rows.values()}) > 1  # the methods differ
    r = evaluate.evaluate_bits(8, 8, out_bits=4)
    assert r["out_bits"] == 4 and r["a_bits"] == 8


@pytest.mark.parametrize(
    ("kwargs", "exc", "msg"),
    [
        ({"method": "kl"}, ValueError, r"^method must be one of minmax, percentile, entropy, mse, "
                                       r"qat, not 'kl'$"),
        ({"method": 3}, TypeError, r"^method must be a str, not 3$"),
        ({"out_bits": 1}, ValueError, r"^out_bits must be in \[2, 16\], not 1$"),
        ({"method": "qat", "out_bits": 4}, ValueError, r"^QAT networks are trained with a_bits"),
    ],
)
def test_evaluate_bits_rejects_bad_method_and_width(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        evaluate.evaluate_bits(8, 8, **kwargs)


def test_quantize_cnn_rejects_bad_calibration(model, data):
    calib = data.images[data.calib]
    with pytest.raises(ValueError, match=r"^calib_images must hold at least one image"):
        ptq.quantize_cnn(model, calib[:0])
    with pytest.raises(ValueError, match=r"^percentile must be in \(0, 100\], not 0$"):
        ptq.quantize_cnn(model, calib, method="percentile", percentile=0)
    with pytest.raises(ValueError, match=r"^method must be one of minmax, percentile, entropy, "):
        ptq.quantize_cnn(model, calib, method="max")
    with pytest.raises(ValueError, match=r"^a_bits must be in \[2, 16\], not 17$"):
        ptq.quantize_cnn(model, calib, a_bits=17)
    with pytest.raises(ValueError, match=r"^tensor_bits must have 5 entries"):
        ptq.quantize_cnn(model, calib, tensor_bits=[8, 8])
