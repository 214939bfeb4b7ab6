"""Quantization-aware training (QAT) of the digits CNN in NumPy, exported to the integer network.

The forward pass is the integer network's, in float64 with fake quantization
(:mod:`qmac.model.quantizers`) where the integer path quantizes:

- the input at ``tensor_bits[0]`` on the fixed range [0, 1] (as post-training quantization);
- each layer's weights per output channel, symmetric, narrow range, with the scale from the
  current weights (``w_method``: ``"minmax"`` or ``"mse"``), recomputed every step;
- each bias to an integer with scale ``S_x S_w[c]`` (``round_half_away``, as the export);
- each layer's output, asymmetric per tensor at ``tensor_bits[i + 1]``, clamped to
  ``[act_min, act_max]`` (the fused ReLU is the lower clamp, as in the integer network).

The backward pass is the straight-through estimator: the rounding passes the gradient unchanged,
the clamp passes it only where the code was not clipped (``fake_quant``'s mask); the layers'
adjoints are :func:`qmac.model.train.layer_backward`, the optimizer Adam with cosine decay.

**Activation ranges are running statistics, not learned parameters.** Each step, every output
tensor's range on the batch is chosen by a calibration method (``act_method``, default MSE:
``golden.choose_qparams``, the range of the integer path's own quantizer with the least squared
error), and an exponential moving average of those ranges (``ema`` per step) is the range the
fake quantizer uses and the export keeps. Why not learned ranges (PACT, LSQ): the EMA needs no
gradient with respect to the range and no extra learning rate, it starts at the post-training
calibration and it is the scheme TensorFlow's QAT uses (moving-average min/max quantizers); with
an MSE search per batch it clips outliers at low widths as a learned clip would, and on this
network reaches the accuracy aims (README, ``scripts/bitwidth_table.py``).

**Two options for the lowest widths** (the 2-bit recipe, ``qmac.model.qat_shipped``):
``rounding`` makes the forward pass the integer network's own requantization
(:func:`requant_exact`: exact accumulators, the Q31 multiplier, gemmlowp's double rounding)
instead of ``fake_quant``'s single rounding, which at 2 bits differs from the exported network in
a fifth of the codes; ``logits_search`` replaces the MSE range of the logits by the range of
best integer accuracy on the training images (:mod:`qmac.model.qat_logits`), because four codes
for ten classes make the MSE range tie the top logits. On the digits CNN they take 2-bit QAT
from 82.9% to 91.9% (README).

The result (:class:`QATResult`) holds the fine-tuned float weights and the frozen ranges;
:meth:`QATResult.export` builds the :class:`~qmac.model.ptq.QuantCNN` with
:func:`~qmac.model.ptq.assemble_cnn`, the same code post-training quantization ends in, so its
``to_network()`` runs on golden and on the RTL of its width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import golden
from golden._check import check_int
from golden.affine import round_half_away
from golden.requant import ROUNDINGS, multiply_by_quantized_multiplier
from qmac.model.digits import ARCH, FloatCNN, float_forward, layer_float
from qmac.model.ptq import QuantCNN, _widths, assemble_cnn, check_calibration
from qmac.model.qat_logits import LOGITS_SEARCH, search_logits_range
from qmac.model.quantizers import (
    DEFAULT_GRID,
    WEIGHT_METHODS,
    act_qparams,
    fake_quant,
    fake_quant_weights,
)
from qmac.model.train import Adam, cosine_lr, layer_backward, softmax_cross_entropy

#: Candidates of the per-step MSE searches (weights and activation ranges): a quarter of
#: golden's default, because the search is most of a training step's time.
QAT_GRID = 25

__all__ = [
    "QAT_GRID",
    "LOGITS_STE",
    "QATResult",
    "calibrated_ranges",
    "fake_layer",
    "qat_forward",
    "qat_forward_backward",
    "requant_exact",
    "train_qat",
]


@dataclass(frozen=True)
class QATResult:
    """Fine-tuned float weights, frozen activation ranges and the widths they were trained for.

    ``ranges[i]`` is ``(rmin, rmax)`` of layer ``i``'s output in float units.
    """

    model: FloatCNN
    ranges: tuple[tuple[float, float], ...]
    tensor_bits: tuple[int, ...]
    layer_w_bits: tuple[int, ...]
    w_method: str
    grid: int

    def export(self) -> QuantCNN:
        """The integer network: exactly the quantizers and ranges the training used."""
        qps = [act_qparams(lo, hi, b) for (lo, hi), b in zip(self.ranges, self.tensor_bits[1:],
                                                           strict=True)]
        return assemble_cnn(
            self.model, qps, tensor_bits=list(self.tensor_bits),
            layer_w_bits=list(self.layer_w_bits), w_method=self.w_method, w_grid=self.grid,
            a_bits=self.tensor_bits[0], w_bits=self.layer_w_bits[0],
        )


def _range_of(
    r: np.ndarray, bits: int, method: str, percentile: float, grid: int = DEFAULT_GRID
) -> tuple[float, float]:
    """The real range ``[S (qmin - Z), S (qmax - Z)]`` that ``method`` picks for ``r``."""
    qp = golden.choose_qparams(
        r, bits, symmetric=False, method=method, percentile=percentile, grid=grid
    )
    s, z = float(qp.scale), int(qp.zero_point)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return s * (lo - z), s * (hi - z)


def calibrated_ranges(
    model: FloatCNN, images: np.ndarray, tensor_bits, methods, percentile: float = 99.99,
) -> list[tuple[float, float]]:
    """Post-training ranges of every layer output of the float ``model`` (QAT's starting point),
    ``methods[i]`` for layer ``i``'s output."""
    floats = float_forward(model, images, all_layers=True)
    return [_range_of(f, b, m, percentile) for f, b, m in zip(floats, tensor_bits[1:], methods,
                                                              strict=True)]


def fake_layer(spec, xh: np.ndarray, x_scale: float, w: np.ndarray, b: np.ndarray,
               w_bits: int, y_range, y_bits: int, w_method: str = "minmax",
               grid: int = DEFAULT_GRID, update=None, rounding: str | None = None,
               mult_bits: int = 32):
    """One layer of the fake-quantized network.

    Parameters
    ----------
    spec : LayerSpec
    xh : the layer's input, already on its quantization grid (dequantized values)
    x_scale : its scale S_x (the bias is quantized with S_x S_w[c])
    w, b : float weights and biases
    y_range : (rmin, rmax) of the output; ``update(z_after_relu, y_range) -> y_range`` replaces
        it first when given
    rounding : {None, "tflite", "single", "halfup"}
        None: the output is ``fake_quant(z)`` (real multiplier, one rounding half away from
        zero). A golden rounding mode: the output is the integer network's own requantization
        (accumulator, Q31 multiplier reduced to ``mult_bits``, ``golden``'s rounding), so the
        forward pass equals the exported layer bit for bit; see :func:`requant_exact`.

    Returns
    -------
    y_hat, y_scale, y_range, tape entry ``(x_hat, w_hat, w_mask, out_mask, z)``
    """
    wh, wmask, w_scale = fake_quant_weights(w, w_bits, spec.channel_axis, w_method, grid)
    b_scale = x_scale * w_scale
    b_q = round_half_away(b / b_scale)
    bh = b_q * b_scale  # STE: identity (int32 never clips here)
    z = layer_float(spec, xh, wh, bh)
    if update is not None:
        y_range = update(np.maximum(z, 0.0) if spec.relu else z, y_range)
    y_s, y_z = act_qparams(y_range[0], y_range[1], y_bits)
    qmin, qmax = golden_range(y_bits)
    lo = y_z if spec.relu else qmin
    if rounding is None:
        yh, omask = fake_quant(z, y_s, y_z, lo, qmax)
    else:
        yh, omask = requant_exact(spec, xh, x_scale, wh, w_scale, b_q, y_s, y_z, lo, qmax,
                                  rounding, mult_bits)
    return yh, y_s, y_range, (xh, wh, wmask, omask, z)


def requant_exact(spec, xh: np.ndarray, x_scale: float, wh: np.ndarray, w_scale: np.ndarray,
                  b_q: np.ndarray, y_scale: float, y_zp: int, lo: int, hi: int,
                  rounding: str = "tflite", mult_bits: int = 32):
    """A layer's output as the integer network computes it, dequantized, and the STE mask.

    Why: at 2 bits the accumulators are small integers and gemmlowp's double rounding (the
    high multiply rounds to an integer before the rounding shift) moves many outputs by one
    code against the single rounding of :func:`fake_quant` (on the 2-bit networks, 18-21%
    of conv1's outputs), so training on ``fake_quant`` optimises a different network than the
    one exported. Here the codes are the exported layer's: integer input ``xh / S_x`` (that is
    ``q - Z``), integer weights ``wh / S_w``, the integer bias ``b_q``, the exact accumulator,
    ``golden.quantize_multiplier(S_x S_w / S_y)`` as :func:`~qmac.model.ptq.assemble_cnn`,
    reduced to ``mult_bits`` and requantized with ``rounding``.

    Returns
    -------
    value : float64 ndarray
        ``(clamp(requant(acc) + Z_y, lo, hi) - Z_y) * S_y``.
    inside : bool ndarray
        True where the clamp left the code alone.
    """
    shape = [-1 if a == spec.channel_axis else 1 for a in range(wh.ndim)]
    w_int = np.rint(wh / w_scale.reshape(shape))
    acc = np.rint(layer_float(spec, np.rint(xh / x_scale), w_int, b_q)).astype(np.int64)
    m0, shift = golden.quantize_multiplier(x_scale * w_scale / y_scale, 32)
    m0, shift = golden.reduce_multiplier(m0, shift, mult_bits)
    q = multiply_by_quantized_multiplier(
        acc, np.asarray(m0, dtype=np.int64) << (32 - mult_bits), np.asarray(shift, np.int64),
        rounding,
    ).astype(np.int64) + y_zp
    inside = (q >= lo) & (q <= hi)
    return (np.clip(q, lo, hi) - y_zp) * y_scale, inside


def qat_forward(params: dict, ranges, x: np.ndarray, tensor_bits, layer_w_bits,
                w_method: str = "minmax", grid: int = DEFAULT_GRID, *, update=None,
                rounding: str | None = None, mult_bits: int = 32):
    """Fake-quantized forward pass.

    Parameters
    ----------
    params : dict
        ``<layer>_w``, ``<layer>_b`` float64 arrays (as :mod:`qmac.model.train`).
    ranges : list of (rmin, rmax)
        Per layer output; replaced in place by ``update(i, z_after_relu, old) -> new`` first when
        ``update`` is given (training: the running statistics), so the step uses the new range.
    x : (N, 8, 8, 1) float pixels in [0, 1]

    Returns
    -------
    logits : (N, 10) float64, dequantized integer-grid logits
    tape : list of per-layer tape entries (:func:`fake_layer`) for the backward pass
    """
    in_s, in_z = act_qparams(0.0, 1.0, tensor_bits[0])
    lo, hi = golden_range(tensor_bits[0])
    xh, _ = fake_quant(x, in_s, in_z, lo, hi)
    x_scale, tape = in_s, []
    for i, spec in enumerate(ARCH):
        up = None if update is None else (lambda r, old, i=i: update(i, r, old))
        xh, x_scale, ranges[i], entry = fake_layer(
            spec, xh, x_scale, params[spec.name + "_w"], params[spec.name + "_b"],
            layer_w_bits[i], ranges[i], tensor_bits[i + 1], w_method, grid, up, rounding,
            mult_bits,
        )
        tape.append(entry)
    return xh, tape


def golden_range(bits: int) -> tuple[int, int]:
    """Signed ``bits``-bit code range ``(-2^(b-1), 2^(b-1) - 1)``."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def qat_forward_backward(params: dict, ranges, x, y, tensor_bits, layer_w_bits, w_method,
                         weight_decay: float, grid: int = DEFAULT_GRID, update=None,
                         logits_ste: str = "clipped", rounding: str | None = None,
                         mult_bits: int = 32):
    """Loss (cross-entropy of the fake-quantized logits + L2) and STE gradients for a batch.

    Returns
    -------
    (loss, grads, logits) : float, dict shaped like ``params``, (N, 10) float64
    """
    logits, tape = qat_forward(params, ranges, x, tensor_bits, layer_w_bits, w_method, grid,
                               update=update, rounding=rounding, mult_bits=mult_bits)
    loss, d = softmax_cross_entropy(logits, y)
    grads = {}
    for li in range(len(ARCH) - 1, -1, -1):
        spec = ARCH[li]
        xh, wh, wmask, omask, _ = tape[li]
        if li == len(ARCH) - 1 and logits_ste != "clipped":
            omask = _logits_mask(logits_ste, tape[li], d, ranges[li], tensor_bits[-1])
        dz = d * omask  # STE through the output clamp (and the fused ReLU)
        dwh, db, d = layer_backward(spec, xh, wh, dz)
        w = params[spec.name + "_w"]
        grads[spec.name + "_w"] = dwh * wmask + weight_decay * w  # STE through weight rounding
        grads[spec.name + "_b"] = db
        loss += 0.5 * weight_decay * float(np.sum(w * w))
    return loss, grads, logits


LOGITS_STE = ("clipped", "inward", "identity")


def _logits_mask(kind: str, entry, d: np.ndarray, rng, bits: int) -> np.ndarray:
    """STE mask of the logits' clamp: ``"identity"`` passes every gradient; ``"inward"`` also
    passes, at a clipped logit, the gradient whose descent step moves it back into the range."""
    omask = entry[3]
    if kind == "identity":
        return np.ones_like(omask)
    s, z = act_qparams(rng[0], rng[1], bits)
    qmin, qmax = golden_range(bits)
    top = entry[4] >= s * (qmax - z)  # clipped at the top: descent moves down if d > 0
    return omask | (top & (d > 0)) | (~top & ~omask & (d < 0))


def train_qat(
    model: FloatCNN,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    calib_images: np.ndarray,
    *,
    a_bits: int,
    w_bits: int,
    out_bits: int | None = None,
    epochs: int = 10,
    seed: int = 0,
    batch: int = 32,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    ema: float = 0.9,
    act_method: str = "mse",
    logits_method: str = "mse",
    logits_ste: str = "clipped",
    w_method: str = "minmax",
    percentile: float = 99.99,
    grid: int = QAT_GRID,
    tensor_bits=None,
    layer_w_bits=None,
    rounding: str | None = None,
    mult_bits: int = 32,
    logits_search: str | None = None,
    on_epoch=None,
) -> QATResult:
    """Fine-tune ``model`` with fake quantization at the given widths.

    Parameters
    ----------
    model : FloatCNN
        Starting float weights (the shipped network).
    train_images, train_labels : (N, 8, 8, 1) floats in [0, 1] and (N,) ints
    calib_images : (M, 8, 8, 1)
        Initial activation ranges (post-training calibration with ``act_method``).
    a_bits, w_bits, out_bits, tensor_bits, layer_w_bits :
        Widths as :func:`qmac.model.ptq.quantize_cnn`.
    epochs, seed, batch, lr, weight_decay :
        Adam with cosine decay from ``lr``; ``seed`` fixes the batch order.
    ema : float in [0, 1)
        Weight of the old range in the running average per step.
    act_method : {"minmax", "percentile", "entropy", "mse"}
        Per-batch range choice fed into the running average, for every tensor but the logits.
    logits_method : str
        The same for the logits (default min/max: MSE, minimising the error of the mostly
        negative logits, puts the top of a 2-bit range at 0.0, where every positive logit ties).
    w_method : {"minmax", "mse"}
    rounding : {None, "tflite", "single", "halfup"}
        None: fake quantization of every layer output (:func:`fake_quant`). A golden rounding
        mode: the forward pass is the integer network's requantization with that rounding and
        ``mult_bits`` (:func:`requant_exact`), bit-exact with the export evaluated the same way.
    mult_bits : int
        8..32, with ``rounding``.
    logits_search : {None, "final", "epoch"}
        Replace the logits' range by the one of best integer accuracy on the training images
        (:func:`qmac.model.qat_logits.search_logits_range`, with ``rounding``, default
        ``"tflite"``): never, once after training, or after every epoch (the logits' range is then
        frozen: the later layers train against it instead of the running average).
    on_epoch : callable, optional
        ``on_epoch(epoch, mean_loss, params, ranges)`` after every epoch (progress, logging).

    Returns
    -------
    QATResult
    """
    tb, wb = _widths(len(ARCH), a_bits, w_bits, out_bits, tensor_bits, layer_w_bits)
    calib = check_calibration(calib_images, act_method, percentile, tb[0])
    if not isinstance(w_method, str) or w_method not in WEIGHT_METHODS:
        raise ValueError(f"w_method must be one of {', '.join(WEIGHT_METHODS)}, not {w_method!r}")
    epochs = check_int("epochs", epochs, 0, 10_000)
    batch = check_int("batch", batch, 1, 1 << 16)
    if isinstance(ema, bool) or not isinstance(ema, (int, float)) or not 0 <= ema < 1:
        raise ValueError(f"ema must be in [0, 1), not {ema!r}")
    x_train = np.asarray(train_images, dtype=np.float64)
    y_train = np.asarray(train_labels, dtype=np.int64)
    if len(x_train) == 0 or len(x_train) != len(y_train):
        raise ValueError(f"train_images and train_labels must be non-empty and of equal length, "
                         f"not {len(x_train)} and {len(y_train)}")
    params = {}
    for spec in ARCH:
        params[spec.name + "_w"] = model.weights[spec.name].copy()
        params[spec.name + "_b"] = model.biases[spec.name].copy()
    golden.choose_qparams(np.array([0.0, 1.0]), 8, method=logits_method, percentile=percentile)
    if not isinstance(logits_ste, str) or logits_ste not in LOGITS_STE:
        raise ValueError(f"logits_ste must be one of {', '.join(LOGITS_STE)}, not {logits_ste!r}")
    if rounding is not None and (not isinstance(rounding, str) or rounding not in ROUNDINGS):
        raise ValueError(f"rounding must be None or one of {', '.join(ROUNDINGS)}, "
                         f"not {rounding!r}")
    mult_bits = check_int("mult_bits", mult_bits, 8, 32)
    if logits_search is not None and (not isinstance(logits_search, str)
                                      or logits_search not in LOGITS_SEARCH):
        raise ValueError(f"logits_search must be None, 'final' or 'epoch', not {logits_search!r}")
    methods = [act_method] * (len(ARCH) - 1) + [logits_method]
    ranges = calibrated_ranges(model, calib, tb, methods, percentile)

    last = len(ARCH) - 1

    def search():
        # on the weights as save_qat stores them (float32), so the shipped file keeps the optimum
        stored = FloatCNN.from_arrays({k: v.astype(np.float32) for k, v in params.items()})
        ranges[last] = search_logits_range(
            stored, ranges, tb, wb, w_method, grid, x_train, y_train,
            rounding=rounding or "tflite", mult_bits=mult_bits,
        )

    def update(i, r, old):
        if i == last and logits_search == "epoch" and searched:
            return old
        new = _range_of(r, tb[i + 1], methods[i], percentile, grid)
        return (ema * old[0] + (1 - ema) * new[0], ema * old[1] + (1 - ema) * new[1])

    rng = np.random.default_rng(seed)
    adam = Adam(params)
    searched = False
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        step_lr = cosine_lr(lr, epoch, epochs)
        total = 0.0
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            loss, grads, _ = qat_forward_backward(params, ranges, x_train[idx], y_train[idx], tb,
                                                  wb, w_method, weight_decay, grid, update,
                                                  logits_ste, rounding, mult_bits)
            total += loss * len(idx)
            adam.step(params, grads, step_lr)
            if not np.isfinite(loss) or not all(np.all(np.isfinite(v)) for v in params.values()):
                raise FloatingPointError(
                    f"QAT diverged at epoch {epoch + 1} (loss {loss}); lower lr ({lr})"
                )
        if logits_search == "epoch" or (logits_search == "final" and epoch == epochs - 1):
            search()
            searched = True
        if on_epoch is not None:
            on_epoch(epoch, total / len(order), params, ranges)
    trained = FloatCNN.from_arrays(params)
    return QATResult(trained, tuple((float(a), float(b)) for a, b in ranges), tuple(tb),
                     tuple(wb), w_method, grid)
