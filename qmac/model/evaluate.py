"""Accuracy and quantization error of the quantized digits CNN (golden model), per bit width.

Logits: the output of fc4 is requantized like every other layer, to ``out_bits`` with its own
calibrated scale; the prediction is ``argmax`` over the integer logits, ties broken towards the
lowest class index (``numpy.argmax``). Ties are rare at 8 bits (none on the test split with a
32-bit multiplier), frequent at 2-4 bits; :func:`evaluate_bits` counts them (``ties``).
"""

from __future__ import annotations

import numpy as np

import golden
from qmac.model.digits import float_forward, load_digits_data, load_float_cnn
from qmac.model.ptq import quantized_digits_cnn

__all__ = ["predict", "count_ties", "evaluate_bits"]


def predict(logits: np.ndarray) -> np.ndarray:
    """Class per row: argmax, ties to the lowest class index."""
    return np.argmax(np.asarray(logits), axis=1)


def count_ties(logits: np.ndarray) -> int:
    """Rows whose maximum appears more than once."""
    logits = np.asarray(logits)
    return int(np.sum((logits == logits.max(axis=1, keepdims=True)).sum(axis=1) > 1))


def evaluate_bits(
    a_bits: int,
    w_bits: int,
    *,
    n_test: int | None = None,
    rounding: str = "tflite",
    mult_bits: int = 32,
    method: str = "minmax",
) -> dict:
    """Accuracy and logit error of the digits CNN at ``a_bits`` x ``w_bits`` (golden model).

    Inner layers output ``a_bits``, the logits too; the accumulator is exact (see
    ``acc_bits_needed`` in the result for the width an array needs).

    Parameters
    ----------
    a_bits, w_bits : int
        2..16.
    n_test : int, optional
        Use the first ``n_test`` images of the test split (default: all 397).

    Returns
    -------
    dict
        ``float_accuracy``, ``int_accuracy`` (fractions in [0, 1]), ``sqnr_db`` (float logits vs
        dequantized integer logits, dB), ``max_err_lsb`` (max |float logit - integer logit| in
        logit LSBs), ``ties`` (images whose integer logits tie for the maximum), ``agreement``
        (fraction of images with the same class as float), ``n_test``, ``acc_bits_needed``.
    """
    a_bits, w_bits = golden.check_bits("a_bits", a_bits), golden.check_bits("w_bits", w_bits)
    data = load_digits_data()
    test = data.test
    if n_test is not None:
        if isinstance(n_test, bool) or not isinstance(n_test, (int, np.integer)):
            raise TypeError(f"n_test must be an integer, not {n_test!r}")
        if not 1 <= n_test <= len(test):
            raise ValueError(f"n_test must be in [1, {len(test)}], not {n_test!r}")
        test = test[:n_test]
    images, labels = data.images[test], data.labels[test]
    qnet = quantized_digits_cnn(a_bits, w_bits, None, method)
    f_logits = float_forward(load_float_cnn(), images)
    q_logits = qnet.forward(qnet.quantize_input(images), rounding=rounding, mult_bits=mult_bits)
    f_pred, q_pred = predict(f_logits), predict(q_logits)
    return {
        "a_bits": a_bits,
        "w_bits": w_bits,
        "n_test": int(len(test)),
        "float_accuracy": float(np.mean(f_pred == labels)),
        "int_accuracy": float(np.mean(q_pred == labels)),
        "agreement": float(np.mean(f_pred == q_pred)),
        "ties": count_ties(q_logits),
        "sqnr_db": float(golden.sqnr_db(f_logits, qnet.dequantize_logits(q_logits))),
        "max_err_lsb": float(
            golden.max_abs_error_lsb(f_logits, q_logits, qnet.logits_scale, qnet.logits_zp)
        ),
        "acc_bits_needed": qnet.acc_bits_needed(),
        "rounding": rounding,
        "mult_bits": mult_bits,
        "method": method,
    }
