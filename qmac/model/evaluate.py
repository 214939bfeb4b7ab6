"""Accuracy and quantization error of the quantized digits CNN (golden model), per bit width.

Logits: the output of fc4 is requantized like every other layer, to ``out_bits`` with its own
calibrated scale; the prediction is ``argmax`` over the integer logits, ties broken towards the
lowest class index (``numpy.argmax``). Ties are rare at 8 bits (none on the test split with a
32-bit multiplier), frequent at 2-4 bits; :func:`evaluate_bits` counts them (``ties``).

Error is measured in the float units of each tensor (never in LSBs, whose size depends on the
width): every tensor between layers is dequantized and compared with the float network's tensor
on the same images. The float reference is the network that was quantized: the shipped float
weights for post-training quantization, the fine-tuned float weights for QAT (its integer network
approximates those). ``float_accuracy`` is always the shipped float network's (the reference line).
"""

from __future__ import annotations

import numpy as np

import golden
from qmac.model.digits import float_forward, load_digits_data, load_float_cnn
from qmac.model.ptq import quantized_digits_cnn
from qmac.model.qat_shipped import load_qat, qat_digits_cnn

__all__ = ["METHODS", "predict", "count_ties", "binomial_stderr", "wilson_interval",
           "quantized_network", "evaluate_bits"]

#: Rows of the bit-width tables: post-training calibration methods, then QAT.
METHODS = (*golden.CALIBRATION_METHODS, "qat")


def predict(logits: np.ndarray) -> np.ndarray:
    """Class per row: argmax, ties to the lowest class index."""
    return np.argmax(np.asarray(logits), axis=1)


def count_ties(logits: np.ndarray) -> int:
    """Rows whose maximum appears more than once."""
    logits = np.asarray(logits)
    return int(np.sum((logits == logits.max(axis=1, keepdims=True)).sum(axis=1) > 1))


def binomial_stderr(p: float, n: int) -> float:
    """Standard error ``sqrt(p (1 - p) / n)`` of an accuracy ``p`` measured on ``n`` images."""
    return float(np.sqrt(p * (1.0 - p) / n))


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95% for ``z = 1.96``) of ``k`` successes in ``n`` trials.

    Unlike ``p ± z SE`` it stays inside [0, 1] and is not empty at ``k = n``.
    """
    p = k / n
    den = 1.0 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return float(max(0.0, mid - half)), float(min(1.0, mid + half))


def _check_method(method: object) -> str:
    if not isinstance(method, str):
        raise TypeError(f"method must be a str, not {method!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    return method


def quantized_network(a_bits: int, w_bits: int, out_bits: int | None = None,
                      method: str = "minmax"):
    """``(QuantCNN, float reference FloatCNN)`` of the digits CNN for one table row.

    ``method="qat"`` is the shipped QAT network of that width (a_bits = w_bits = out_bits, one
    of :data:`qmac.model.qat_shipped.QAT_WIDTHS`); the others post-training quantization.
    """
    a_bits, w_bits = golden.check_bits("a_bits", a_bits), golden.check_bits("w_bits", w_bits)
    out_bits = a_bits if out_bits is None else golden.check_bits("out_bits", out_bits)
    method = _check_method(method)
    if method == "qat":
        return qat_digits_cnn(a_bits, w_bits, out_bits), load_qat(a_bits).model
    return quantized_digits_cnn(a_bits, w_bits, out_bits, method), load_float_cnn()


def _test_subset(test: np.ndarray, n_test) -> np.ndarray:
    if n_test is None:
        return test
    if isinstance(n_test, bool) or not isinstance(n_test, (int, np.integer)):
        raise TypeError(f"n_test must be an integer, not {n_test!r}")
    if not 1 <= n_test <= len(test):
        raise ValueError(f"n_test must be in [1, {len(test)}], not {n_test!r}")
    return test[:n_test]


def evaluate_bits(
    a_bits: int,
    w_bits: int,
    *,
    out_bits: int | None = None,
    n_test: int | None = None,
    rounding: str = "tflite",
    mult_bits: int = 32,
    method: str = "minmax",
) -> dict:
    """Accuracy and error of the digits CNN at ``a_bits`` x ``w_bits`` (golden model).

    Every tensor between layers is ``a_bits`` wide and the logits ``out_bits`` (default: also
    ``a_bits``); the accumulator is exact (``acc_bits_needed`` is the width an array needs).

    Parameters
    ----------
    a_bits, w_bits, out_bits : int
        2..16.
    n_test : int, optional
        Use the first ``n_test`` images of the test split (default: all 397).
    method : {"minmax", "percentile", "entropy", "mse", "qat"}
        Activation calibration of post-training quantization, or the shipped QAT network.

    Returns
    -------
    dict
        ``a_bits``, ``w_bits``, ``out_bits``, ``method``, ``n_test``;
        ``float_accuracy``, ``int_accuracy`` (fractions), ``int_correct`` (images),
        ``int_accuracy_stderr`` (binomial standard error), ``int_accuracy_ci95`` (Wilson
        interval, [lo, hi]); ``agreement`` (fraction with the float network's class), ``ties``
        (images whose integer logits tie for the maximum); ``sqnr_db`` (logits, dB),
        ``max_abs_err`` and ``rms_err`` (logits, float logit units); ``layer_sqnr_db`` and
        ``layer_max_abs_err`` (per layer output tensor, by layer name, float units of that
        tensor); ``acc_bits_needed``, ``rounding``, ``mult_bits``.
    """
    qnet, ref = quantized_network(a_bits, w_bits, out_bits, method)
    data = load_digits_data()
    test = _test_subset(data.test, n_test)
    images, labels = data.images[test], data.labels[test]
    f_pred = predict(float_forward(load_float_cnn(), images))
    ref_outs = float_forward(ref, images, all_layers=True)
    q_outs = qnet.forward(qnet.quantize_input(images), rounding=rounding, mult_bits=mult_bits,
                          all_layers=True)
    deq = [golden.dequantize(q, ql.y_scale, ql.y_zp) for q, ql in zip(q_outs, qnet.layers,
                                                                      strict=True)]
    q_logits, f_logits = q_outs[-1], ref_outs[-1]
    q_pred = predict(q_logits)
    n, correct = int(len(test)), int(np.sum(q_pred == labels))
    acc = correct / n
    names = [ql.spec.name for ql in qnet.layers]
    return {
        "a_bits": qnet.layers[0].a_bits,
        "w_bits": qnet.layers[0].w_bits,
        "out_bits": qnet.layers[-1].out_bits,
        "method": method,
        "n_test": n,
        "float_accuracy": float(np.mean(f_pred == labels)),
        "int_accuracy": acc,
        "int_correct": correct,
        "int_accuracy_stderr": binomial_stderr(acc, n),
        "int_accuracy_ci95": list(wilson_interval(correct, n)),
        "agreement": float(np.mean(f_pred == q_pred)),
        "ties": count_ties(q_logits),
        "sqnr_db": float(golden.sqnr_db(f_logits, deq[-1])),
        "max_abs_err": float(np.max(np.abs(deq[-1] - f_logits))),
        "rms_err": float(np.sqrt(np.mean((deq[-1] - f_logits) ** 2))),
        "layer_sqnr_db": {k: float(golden.sqnr_db(r, d)) for k, r, d in zip(names, ref_outs, deq,
                                                                            strict=True)},
        "layer_max_abs_err": {k: float(np.max(np.abs(d - r))) for k, r, d in zip(names, ref_outs,
                                                                                deq, strict=True)},
        "acc_bits_needed": qnet.acc_bits_needed(),
        "rounding": rounding,
        "mult_bits": mult_bits,
    }
