"""The logits' range chosen for accuracy: the last quantizer calibrated on the task, not the MSE.

Why: at 2 bits the logits have four codes for ten classes, and the class is the argmax with ties
to the lowest index. A range chosen to minimise the squared error of the mostly negative logits
(the running MSE range of :func:`qmac.model.qat.train_qat`) spends its codes on logits far below
the winner: on the 2-bit network the top code then covers every logit above about -7, and a
third of the test images tie there. What decides the class is only where the code boundaries
fall near the top logit, so the range is chosen by what it is for: the accuracy of the integer
network on the training images, searched over every zero point and a grid of scales around the
current one. It has two parameters and is fitted on the 1200 training images, never on the test
split. The candidate scales are fixed by the network up to its last layer (a grid around the
min/max scale of the logits on those images), not by the range being replaced, so searching again
returns the same range.
"""

from __future__ import annotations

import numpy as np

import golden
from qmac.model.digits import FloatCNN
from qmac.model.ptq import assemble_cnn
from qmac.model.quantizers import act_qparams

__all__ = ["LOGITS_SEARCH", "search_logits_range"]

#: When :func:`qmac.model.qat.train_qat` searches the logits' range: never, once after
#: training, or after every epoch (the range then stays frozen between searches).
LOGITS_SEARCH = (None, "final", "epoch")


def search_logits_range(
    model: FloatCNN,
    ranges,
    tensor_bits,
    layer_w_bits,
    w_method: str,
    grid: int,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    rounding: str = "tflite",
    mult_bits: int = 32,
    n_scales: int = 200,
    span: tuple[float, float] = (0.02, 2.0),
) -> tuple[float, float]:
    """The logits' range ``(rmin, rmax)`` of best integer accuracy on ``images``.

    Parameters
    ----------
    model, ranges, tensor_bits, layer_w_bits, w_method, grid :
        As :class:`qmac.model.qat.QATResult`: the network whose last range is replaced.
    images, labels : (N, 8, 8, 1) floats in [0, 1] and (N,) ints
        The images the accuracy is counted on (the training split).
    rounding, mult_bits :
        The integer path's requantization (``golden.requantize``), as it is evaluated.
    n_scales : int
        Scales per zero point, geometric between ``span[0]`` and ``span[1]`` times the min/max
        scale of the logits, ``(max - min) / (2^bits - 1)`` of ``acc S_x S_w`` on ``images``.

    Returns
    -------
    (rmin, rmax) : floats
        ``S (qmin - Z), S (qmax - Z)`` for the best ``(S, Z)``: the most images correct; among
        equals, the zero point found first and the median of its best scales (the middle of the
        plateau rather than its edge).
    """
    bits = int(tensor_bits[-1])
    qps = [act_qparams(lo, hi, b) for (lo, hi), b in zip(ranges, tensor_bits[1:], strict=True)]
    qnet = assemble_cnn(model, qps, tensor_bits=list(tensor_bits),
                        layer_w_bits=list(layer_w_bits), w_method=w_method, w_grid=grid)
    outs = qnet.forward(qnet.quantize_input(images), rounding=rounding, mult_bits=mult_bits,
                        all_layers=True)
    last = qnet.layers[-1]
    acc = last.to_layer(outs[-2]).acc()
    labels = np.asarray(labels)
    qmin, qmax = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    real = acc * (last.x_scale * last.w_scale)
    s_ref = (real.max() - min(real.min(), 0.0)) / ((1 << bits) - 1)
    scales = s_ref * np.geomspace(span[0], span[1], n_scales)
    best, best_z, best_s = -1, None, []
    for zp in range(qmin, qmax + 1):
        for s in scales:
            y_s, y_z = act_qparams(s * (qmin - zp), s * (qmax - zp), bits)
            m0, shift = golden.quantize_multiplier(last.x_scale * last.w_scale / y_s, 32)
            m0, shift = golden.reduce_multiplier(m0, shift, mult_bits)
            codes = golden.requantize(acc, m0, shift, y_zp=y_z,
                                      act_min=y_z if last.spec.relu else qmin, act_max=qmax,
                                      rounding=rounding, mult_bits=mult_bits)
            # argmax ties to the lowest class, as qmac.model.evaluate.predict
            correct = int(np.sum(np.argmax(codes, axis=1) == labels))
            if correct > best:
                best, best_z, best_s = correct, zp, [s]
            elif correct == best and zp == best_z:
                best_s.append(s)
    s = float(best_s[len(best_s) // 2])
    return s * (qmin - best_z), s * (qmax - best_z)
