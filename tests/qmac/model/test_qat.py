"""Quantization-aware training: the fake-quantized layers against the integer network they export
to, the STE gradients against the float trainer's, training, export, bad input, the shipped
networks' accuracy."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import golden
from qmac.model import digits, evaluate, qat, qat_logits, qat_shipped, train
from qmac.model.run import run_network


@pytest.fixture(scope="module")
def data() -> digits.DigitsData:
    return digits.load_digits_data()


@pytest.fixture(scope="module")
def model() -> digits.FloatCNN:
    return digits.load_float_cnn()


def _params(m: digits.FloatCNN) -> dict:
    p = {}
    for spec in digits.ARCH:
        p[spec.name + "_w"] = m.weights[spec.name].copy()
        p[spec.name + "_b"] = m.biases[spec.name].copy()
    return p


@pytest.mark.parametrize("bits", [4, 2])
def test_fake_layers_equal_the_exported_integer_layers(data, bits):
    """Layer by layer, on the integer network's own inputs: the fake-quantized output equals the
    dequantized integer output except where z / S_y is within float precision of a rounding tie
    (the integer path multiplies by a Q31 m0; "single" rounding rounds once, as fake_quant)."""
    r = qat_shipped.load_qat(bits)
    qnet = r.export()
    x_q = qnet.quantize_input(data.images[data.test])
    outs = qnet.forward(x_q, rounding="single", all_layers=True)
    ins = [x_q, *outs[:-1]]
    total = differ = 0
    for ql, xin, out, rng in zip(qnet.layers, ins, outs, r.ranges, strict=True):
        xh = golden.dequantize(xin, ql.x_scale, ql.x_zp)
        yh, y_s, _, entry = qat.fake_layer(
            ql.spec, xh, ql.x_scale, r.model.weights[ql.spec.name], r.model.biases[ql.spec.name],
            ql.w_bits, rng, ql.out_bits, r.w_method, r.grid,
        )
        assert y_s == ql.y_scale
        shape = [-1 if a == ql.spec.channel_axis else 1 for a in range(ql.w.ndim)]
        assert np.array_equal(entry[1], ql.w * ql.w_scale.reshape(shape))  # same weights
        want = golden.dequantize(out, ql.y_scale, ql.y_zp)
        bad = yh != want
        total, differ = total + bad.size, differ + int(bad.sum())
        v = entry[4] / ql.y_scale
        to_tie = np.abs(np.abs(v - np.floor(v)) - 0.5)
        assert np.all(to_tie[bad] < 1e-6), ql.spec.name
        assert np.all(np.abs(yh - want)[bad] <= ql.y_scale * (1 + 1e-9)), ql.spec.name
    assert differ <= total * 1e-3


@pytest.mark.parametrize(("rounding", "mult_bits"),
                         [("tflite", 32), ("tflite", 16), ("single", 32), ("halfup", 32)])
def test_exact_forward_equals_the_integer_network(data, rounding, mult_bits):
    """With ``rounding`` the QAT forward pass is the integer network's own requantization: every
    layer output equals the dequantized integer output, element for element, for the whole test
    split (no tie tolerance, unlike fake_quant)."""
    r = qat_shipped.load_qat(2)
    qnet = r.export()
    x = data.images[data.test]
    outs = qnet.forward(qnet.quantize_input(x), rounding=rounding, mult_bits=mult_bits,
                        all_layers=True)
    logits, tape = qat.qat_forward(_params(r.model), list(r.ranges), x, r.tensor_bits,
                                   r.layer_w_bits, r.w_method, r.grid, rounding=rounding,
                                   mult_bits=mult_bits)
    got = [tape[i + 1][0] for i in range(len(tape) - 1)] + [logits]
    for ql, out, g in zip(qnet.layers, outs, got, strict=True):
        assert np.array_equal(g, golden.dequantize(out, ql.y_scale, ql.y_zp)), ql.spec.name


def test_double_rounding_is_why_the_exact_forward_exists(data):
    """At 2 bits gemmlowp's double rounding moves many of conv1's outputs by a code against
    fake_quant's single rounding (the mismatch the exact forward removes from training)."""
    r = qat_shipped.load_qat(2)
    x = data.images[data.test[:50]]
    args = (_params(r.model), list(r.ranges), x, r.tensor_bits, r.layer_w_bits, r.w_method,
            r.grid)
    _, fake = qat.qat_forward(*args)
    _, exact = qat.qat_forward(*args, rounding="tflite")
    assert np.mean(fake[1][0] != exact[1][0]) > 0.05


def test_ste_gradients_equal_the_float_trainers_when_nothing_clips(data, model):
    """At 16 bits with ranges wider than the data the fake quantizers are the identity up to
    noise of 2^-15 of the range, and the STE passes every gradient: the QAT backward pass must
    then give the float trainer's gradients (same layers, same loss)."""
    x, y = data.images[data.train[:16]], data.labels[data.train[:16]]
    params = _params(model)
    floats = digits.float_forward(model, x, all_layers=True)
    ranges = [(1.5 * min(f.min(), 0.0), 1.5 * f.max()) for f in floats]
    tb, wb = [16] * 5, [16] * 4
    loss_q, g_q, _ = qat.qat_forward_backward(params, list(ranges), x, y, tb, wb, "minmax", 1e-4)
    loss_f, g_f = train.forward_backward(params, x, y, 1e-4)
    assert loss_q == pytest.approx(loss_f, rel=1e-3)
    for k in g_f:
        assert np.linalg.norm(g_q[k] - g_f[k]) <= 2e-3 * np.linalg.norm(g_f[k]) + 1e-9, k


def test_clipped_outputs_pass_no_gradient(data, model):
    """A conv1 range much narrower than its data: the conv1 weight gradient comes only from the
    outputs inside the range (dz * mask), so it equals layer_backward on the masked gradient."""
    x, y = data.images[data.train[:8]], data.labels[data.train[:8]]
    params = _params(model)
    floats = digits.float_forward(model, x, all_layers=True)
    ranges = [(0.0, 0.3 * floats[0].max())] + [(min(f.min(), 0), f.max()) for f in floats[1:]]
    tb, wb = [8] * 5, [8] * 4
    logits, tape = qat.qat_forward(params, list(ranges), x, tb, wb)
    mask = tape[0][3]
    assert 0.05 < 1 - mask.mean() < 0.95  # really clipped, not everywhere
    _, grads, _ = qat.qat_forward_backward(params, list(ranges), x, y, tb, wb, "minmax", 0.0)
    # upstream gradient into conv1's output, by the chain of the later layers
    _, d = train.softmax_cross_entropy(logits, y)
    for li in range(3, 0, -1):
        xh, wh, _, om, _ = tape[li]
        _, _, d = train.layer_backward(digits.ARCH[li], xh, wh, d * om)
    dw, _, _ = train.layer_backward(digits.ARCH[0], tape[0][0], tape[0][1], d * mask)
    assert np.allclose(grads["conv1_w"], dw, rtol=1e-12, atol=1e-15)
    dw_all, _, _ = train.layer_backward(digits.ARCH[0], tape[0][0], tape[0][1], d)
    assert not np.allclose(dw_all, dw)  # the mask mattered


def test_train_export_and_run_as_a_network(data, model):
    """One short epoch: the result exports to a QuantCNN whose Network runs on golden."""
    tr = data.train[:96]
    r = qat.train_qat(model, data.images[tr], data.labels[tr], data.images[data.calib[:50]],
                      a_bits=3, w_bits=3, epochs=1, w_method="mse", seed=1)
    assert r.tensor_bits == (3,) * 5 and r.layer_w_bits == (3,) * 4
    q = r.export()
    assert all(ql.a_bits == ql.w_bits == ql.out_bits == 3 for ql in q.layers)
    assert all(np.abs(ql.w).max() <= 3 for ql in q.layers)  # narrow range at 3 bits
    x = q.quantize_input(data.images[data.test[:10]])
    run = run_network(q.to_network(), x)
    assert np.array_equal(run.outputs["fc4"], q.forward(x))
    again = qat.train_qat(model, data.images[tr], data.labels[tr], data.images[data.calib[:50]],
                          a_bits=3, w_bits=3, epochs=1, w_method="mse", seed=1)
    assert again.ranges == r.ranges  # fixed seed: reproducible


def test_logits_search_finds_the_best_range_of_its_grid(data):
    """The searched logits range, exported end to end, counts as many training images correct
    as the search says, at least as many as the trained range and as every other candidate of
    a sample of the search's own grid; the shipped 2-bit network (searched after its last
    epoch) gets its own range back."""
    r = qat_shipped.load_qat(2)
    x, y = data.images[data.train], data.labels[data.train]

    def correct(rng) -> int:
        q = dataclasses.replace(r, ranges=(*r.ranges[:-1], rng)).export()
        return int(np.sum(evaluate.predict(q.forward(q.quantize_input(x))) == y))

    found = qat_logits.search_logits_range(r.model, r.ranges, r.tensor_bits, r.layer_w_bits,
                                           r.w_method, r.grid, x, y)
    assert found == pytest.approx(r.ranges[-1], rel=1e-12, abs=1e-12)
    best = correct(found)
    assert correct(r.ranges[-1]) == best
    q = r.export()
    fc = q.layers[-1]
    logits = fc.to_layer(q.forward(q.quantize_input(x), all_layers=True)[-2]).acc() * (
        fc.x_scale * fc.w_scale)
    grid = (logits.max() - min(logits.min(), 0.0)) / 3 * np.geomspace(0.02, 2.0, 200)
    rng = np.random.default_rng(0)
    for zp, s in zip(rng.integers(-2, 2, 16), rng.choice(grid, 16), strict=True):
        assert correct((s * (-2 - zp), s * (1 - zp))) <= best


def test_train_with_exact_forward_and_logits_search(data, model, tmp_path):
    """One short epoch with the exact forward and the logits searched: the logits range is the
    search's on the final weights as saved (float32), and the run is reproducible."""
    tr = data.train[:96]
    kw = {"a_bits": 2, "w_bits": 2, "epochs": 1, "w_method": "mse", "seed": 1,
          "rounding": "tflite", "logits_search": "final"}
    r = qat.train_qat(model, data.images[tr], data.labels[tr], data.images[data.calib[:50]],
                      **kw)
    qat_shipped.save_qat({2: r}, tmp_path / "q.npz")
    saved = qat_shipped.load_qat(2, tmp_path / "q.npz")
    found = qat_logits.search_logits_range(saved.model, saved.ranges, r.tensor_bits,
                                           r.layer_w_bits, r.w_method, r.grid, data.images[tr],
                                           data.labels[tr])
    assert found == pytest.approx(r.ranges[-1], rel=1e-12, abs=1e-12)
    again = qat.train_qat(model, data.images[tr], data.labels[tr], data.images[data.calib[:50]],
                          **kw)
    assert again.ranges == r.ranges


@pytest.mark.parametrize(
    ("kwargs", "exc", "msg"),
    [
        ({"act_method": "kl"}, ValueError, r"^method must be one of minmax, percentile, entropy, "
                                           r"mse, not 'kl'$"),
        ({"act_method": "percentile", "percentile": 0}, ValueError,
         r"^percentile must be in \(0, 100\], not 0$"),
        ({"percentile": 101.0}, ValueError, r"^percentile must be in \(0, 100\], not 101\.0$"),
        ({"a_bits": 1}, ValueError, r"^a_bits must be in \[2, 16\], not 1$"),
        ({"w_bits": 17}, ValueError, r"^w_bits must be in \[2, 16\], not 17$"),
        ({"out_bits": 0}, ValueError, r"^out_bits must be in \[2, 16\], not 0$"),
        ({"calib": 0}, ValueError, r"^calib_images must hold at least one image"),
        ({"w_method": "entropy"}, ValueError, r"^w_method must be one of minmax, mse, "
                                              r"not 'entropy'$"),
        ({"logits_ste": "none"}, ValueError, r"^logits_ste must be one of clipped, inward, "
                                             r"identity, not 'none'$"),
        ({"ema": 1.0}, ValueError, r"^ema must be in \[0, 1\), not 1\.0$"),
        ({"epochs": -1}, ValueError, r"^epochs must be in \[0, 10000\], not -1$"),
        ({"rounding": "nearest"}, ValueError, r"^rounding must be None or one of tflite, "
                                              r"single, halfup, not 'nearest'$"),
        ({"mult_bits": 7}, ValueError, r"^mult_bits must be in \[8, 32\], not 7$"),
        ({"logits_search": "always"}, ValueError, r"^logits_search must be None, 'final' or "
                                                  r"'epoch', not 'always'$"),
    ],
)
def test_train_qat_rejects_bad_input(data, model, kwargs, exc, msg):
    kw = {"a_bits": 4, "w_bits": 4, "epochs": 1, **kwargs}
    calib = data.images[data.calib[: kw.pop("calib", 10)]]
    with pytest.raises(exc, match=msg):
        qat.train_qat(model, data.images[data.train[:4]], data.labels[data.train[:4]], calib, **kw)


def test_shipped_qat_networks_meet_the_accuracy_aims():
    """QAT at 4 bits within 1 point of float and at 2 bits at least 85% (the aims); and QAT is
    never worse than min/max post-training quantization by more than one image."""
    rows = {b: evaluate.evaluate_bits(b, b, method="qat") for b in qat_shipped.QAT_WIDTHS}
    flt = rows[8]["float_accuracy"]
    assert rows[4]["int_accuracy"] >= flt - 0.01
    assert rows[2]["int_accuracy"] >= 0.85
    for b, r in rows.items():
        ptq = evaluate.evaluate_bits(b, b)["int_accuracy"]
        assert r["int_accuracy"] >= ptq - 1.5 / r["n_test"], b


def test_shipped_qat_file_errors(tmp_path):
    with pytest.raises(ValueError, match=r"^QAT weights file '.*nope\.npz' not found"):
        qat_shipped.load_qat(4, tmp_path / "nope.npz")
    with pytest.raises(ValueError, match=r"^no shipped QAT network for 5 bits; widths: "):
        qat_shipped.load_qat(5)
    with pytest.raises(ValueError, match=r"^QAT networks are trained with a_bits = w_bits = "):
        qat_shipped.qat_digits_cnn(4, 8)


@pytest.mark.slow
@pytest.mark.parametrize("bits", [4, 2])
def test_training_script_reproduces_the_shipped_network(tmp_path, bits):
    """scripts/train_qat.py at 4 and 2 bits gives the shipped integer network exactly."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    out = tmp_path / "q.npz"
    proc = subprocess.run([sys.executable, str(root / "scripts" / "train_qat.py"), "--widths",
                           str(bits), "-o", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    mine, shipped = qat_shipped.load_qat(bits, out).export(), qat_shipped.qat_digits_cnn(bits)
    for a, b in zip(mine.layers, shipped.layers, strict=True):
        assert np.array_equal(a.w, b.w) and np.array_equal(a.bias, b.bias)
        assert (a.x_zp, a.y_zp) == (b.x_zp, b.y_zp) and np.array_equal(a.m0, b.m0)
