"""Per-layer sensitivity: one layer at a low width, the rest at 8 bits, ranked by the accuracy lost.

"Layer L at b bits" means the operands of L's multiplies are b bits wide: its weights
(``part="weights"``), the tensor it reads (``part="activations"``: the image for the first layer,
else the previous layer's output, which that layer then writes at b bits), or both (default), as
a b-bit array would compute L. Everything else stays at ``base_bits``; post-training quantization
with the calibration ``method``. This is the partial-quantization study of e.g. Wu et al. 2020
("Integer Quantization for Deep Learning Inference", arXiv:2004.09602, sect. 6) and of HAWQ's
per-layer analysis, done by measurement rather than by a Hessian proxy.

Uncertainty: each layer's accuracy drop (base minus low-width accuracy, on the same test images)
comes with a paired bootstrap over the test images (``n_boot`` resamples from ``seed``): its
standard deviation and the fraction of resamples in which the layer ranks where it ranks. The
ranking itself is deterministic (drops sorted descending, ties by layer order); the seed fixes
the bootstrap, so the whole output is reproducible.
"""

from __future__ import annotations

import numpy as np

import golden
from golden._check import check_int
from qmac.model.digits import ARCH, load_digits_data, load_float_cnn
from qmac.model.evaluate import predict
from qmac.model.ptq import quantize_cnn

__all__ = ["PARTS", "layer_sensitivity", "format_ranking"]

PARTS = ("both", "weights", "activations")


def _correct(qnet, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return predict(qnet.forward(qnet.quantize_input(images))) == labels


def layer_sensitivity(
    bits: int = 2,
    *,
    base_bits: int = 8,
    part: str = "both",
    method: str = "minmax",
    seed: int = 0,
    n_boot: int = 1000,
) -> dict:
    """Accuracy cost of quantizing each layer alone to ``bits``, on the digits CNN test split.

    Parameters
    ----------
    bits : int
        The low width, 2..16.
    base_bits : int
        Width of everything else (a, w and out), 2..16.
    part : {"both", "weights", "activations"}
    method : str
        Activation calibration (``golden.CALIBRATION_METHODS``).
    seed : int
        Bootstrap seed (>= 0).
    n_boot : int
        Bootstrap resamples, 1..100000.

    Returns
    -------
    dict
        ``bits``, ``base_bits``, ``part``, ``method``, ``seed``, ``n_boot``, ``n_test``,
        ``base_accuracy``; ``ranking``: one dict per layer, most sensitive first, with
        ``rank`` (1 = most sensitive), ``layer``, ``op``, ``accuracy``, ``drop`` (base minus
        accuracy), ``drop_std`` (bootstrap), ``rank_stability`` (fraction of resamples with the
        same rank).
    """
    bits = golden.check_bits("bits", bits)
    base_bits = golden.check_bits("base_bits", base_bits)
    if not isinstance(part, str) or part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, not {part!r}")
    seed = check_int("seed", seed, 0)
    n_boot = check_int("n_boot", n_boot, 1, 100_000)
    golden.choose_qparams(np.array([0.0, 1.0]), base_bits, method=method)  # checks method
    data, model = load_digits_data(), load_float_cnn()
    calib, test = data.images[data.calib], data.test
    images, labels = data.images[test], data.labels[test]
    n_layers = len(ARCH)

    def net(layer: int | None):
        tb, wb = [base_bits] * (n_layers + 1), [base_bits] * n_layers
        if layer is not None:
            if part in ("both", "activations"):
                tb[layer] = bits
            if part in ("both", "weights"):
                wb[layer] = bits
        return quantize_cnn(model, calib, method=method, tensor_bits=tb, layer_w_bits=wb)

    base = _correct(net(None), images, labels)
    per_layer = np.stack([_correct(net(i), images, labels) for i in range(n_layers)])
    drops = base.mean() - per_layer.mean(axis=1)
    order = sorted(range(n_layers), key=lambda i: (-drops[i], i))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(test), size=(n_boot, len(test)))
    boot = base[idx].mean(axis=1)[:, None] - per_layer[:, idx].mean(axis=2).T  # (n_boot, L)
    # rank of every layer in every resample (same tie rule: lower layer index first)
    boot_order = np.lexsort((np.broadcast_to(np.arange(n_layers), boot.shape), -boot), axis=1)
    boot_rank = np.argsort(boot_order, axis=1)
    ranking = [
        {
            "rank": r + 1,
            "layer": ARCH[i].name,
            "op": ARCH[i].op,
            "accuracy": float(per_layer[i].mean()),
            "drop": float(drops[i]),
            "drop_std": float(boot[:, i].std()),
            "rank_stability": float(np.mean(boot_rank[:, i] == r)),
        }
        for r, i in enumerate(order)
    ]
    return {
        "bits": bits, "base_bits": base_bits, "part": part, "method": method, "seed": seed,
        "n_boot": n_boot, "n_test": int(len(test)), "base_accuracy": float(base.mean()),
        "ranking": ranking,
    }


def format_ranking(result: dict) -> str:
    """The ranking as a plain-text table."""
    r = result
    lines = [
        f"per-layer sensitivity, digits CNN test split ({r['n_test']} images): one layer's "
        f"{r['part']} at {r['bits']} bits, the rest at {r['base_bits']} ({r['method']} "
        f"calibration); base accuracy {r['base_accuracy']:.2%}",
        f"bootstrap: {r['n_boot']} paired resamples, seed {r['seed']}",
        "rank  layer  op                 accuracy    drop (± std)     rank stability",
    ]
    for row in r["ranking"]:
        lines.append(
            f"{row['rank']:4d}  {row['layer']:5}  {row['op']:17}  {row['accuracy']:8.2%}  "
            f"{100 * row['drop']:6.2f} ± {100 * row['drop_std']:4.2f} pt   "
            f"{row['rank_stability']:6.1%}"
        )
    return "\n".join(lines)
