"""The shipped QAT networks of the digits CNN: one per width, trained by ``scripts/train_qat.py``.

Why shipped rather than trained on first use: the fine-tuning of the five widths takes minutes of
CPU (``scripts/train_qat.py`` prints the time), which ``qmac demo`` and the tests should not pay;
the file is small (float32 weights and four ranges per width, ~100 kB) and, like the float
weights in ``digits_cnn.npz``, reproducible from the script with fixed seeds. What is stored is
the training's result (fine-tuned float weights, frozen activation ranges); the integer network
is rebuilt from it by :meth:`~qmac.model.qat.QATResult.export` with the current quantizers.

:data:`QAT_RECIPES` holds every width's hyper-parameters, so that the script, the tests and the
docs use one definition.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

import golden
from qmac.model.digits import ARCH, FloatCNN, load_digits_data, load_float_cnn
from qmac.model.ptq import QuantCNN
from qmac.model.qat import QAT_GRID, QATResult, train_qat

__all__ = ["QAT_PATH", "QAT_WIDTHS", "QAT_RECIPES", "train_width", "save_qat", "load_qat",
           "qat_digits_cnn"]

QAT_PATH = Path(__file__).with_name("data") / "digits_qat.npz"
QAT_WIDTHS = (8, 6, 4, 3, 2)
#: Per width (a_bits = w_bits = out_bits): fine-tuning hyper-parameters of ``train_qat``.
QAT_RECIPES: dict[int, dict] = {
    8: {"epochs": 3, "lr": 3e-4, "w_method": "minmax"},
    6: {"epochs": 3, "lr": 3e-4, "w_method": "minmax"},
    4: {"epochs": 10, "lr": 1e-3, "w_method": "minmax"},
    3: {"epochs": 10, "lr": 3e-3, "w_method": "mse"},
    # 2 bits: the forward pass is the integer network's own requantization (gemmlowp's double
    # rounding moves a fifth of the 2-bit codes against fake_quant's), and the logits' range is
    # the one of best training accuracy after every epoch (MSE ranges tie the 4-code logits)
    2: {"epochs": 10, "lr": 3e-3, "w_method": "mse", "grid": 100, "rounding": "tflite",
        "logits_search": "epoch"},
}


def train_width(bits: int, *, seed: int = 0, **overrides) -> QATResult:
    """Fine-tune the shipped float network at ``bits`` with :data:`QAT_RECIPES` (train split,
    ranges initialised on the calibration split)."""
    bits = golden.check_bits("bits", bits)
    if bits not in QAT_RECIPES:
        raise ValueError(f"bits must be one of {', '.join(map(str, QAT_WIDTHS))}, not {bits!r}")
    data = load_digits_data()
    kw = {**QAT_RECIPES[bits], **overrides}
    return train_qat(
        load_float_cnn(), data.images[data.train], data.labels[data.train],
        data.images[data.calib], a_bits=bits, w_bits=bits, seed=seed, **kw,
    )


def save_qat(results: dict[int, QATResult], path: str | Path = QAT_PATH, **meta) -> None:
    """Write ``{bits: QATResult}`` (weights as float32) and scalar metadata to ``path``."""
    arrays: dict[str, np.ndarray] = {"widths": np.array(sorted(results), dtype=np.int64)}
    for bits, r in results.items():
        p = f"b{bits}_"
        for spec in ARCH:
            arrays[p + spec.name + "_w"] = r.model.weights[spec.name].astype(np.float32)
            arrays[p + spec.name + "_b"] = r.model.biases[spec.name].astype(np.float32)
        arrays[p + "ranges"] = np.array(r.ranges, dtype=np.float64)
        arrays[p + "tensor_bits"] = np.array(r.tensor_bits, dtype=np.int64)
        arrays[p + "layer_w_bits"] = np.array(r.layer_w_bits, dtype=np.int64)
        arrays[p + "w_method"] = np.array(r.w_method)
        arrays[p + "grid"] = np.int64(r.grid)
    arrays.update({k: np.asarray(v) for k, v in meta.items()})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)


@functools.lru_cache(maxsize=16)
def load_qat(bits: int, path: str | Path = QAT_PATH) -> QATResult:
    """The shipped :class:`QATResult` of width ``bits`` (``ValueError`` naming what is missing)."""
    bits = golden.check_bits("bits", bits)
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"QAT weights file {str(p)!r} not found (run scripts/train_qat.py)")
    with np.load(p, allow_pickle=False) as z:
        widths = [int(b) for b in z["widths"]]
        if bits not in widths:
            raise ValueError(
                f"no shipped QAT network for {bits} bits; widths: {', '.join(map(str, widths))}"
            )
        pre = f"b{bits}_"
        weights = {k[len(pre):]: z[k] for k in z.files if k.startswith(pre) and
                   k[len(pre):].rsplit("_", 1)[0] in {s.name for s in ARCH}}
        return QATResult(
            FloatCNN.from_arrays(weights),
            tuple((float(a), float(b)) for a, b in z[pre + "ranges"]),
            tuple(int(b) for b in z[pre + "tensor_bits"]),
            tuple(int(b) for b in z[pre + "layer_w_bits"]),
            str(z[pre + "w_method"]),
            int(z[pre + "grid"]) if pre + "grid" in z.files else QAT_GRID,
        )


@functools.lru_cache(maxsize=16)
def qat_digits_cnn(a_bits: int, w_bits: int | None = None, out_bits: int | None = None
                   ) -> QuantCNN:
    """The integer network of the shipped QAT result of width ``a_bits`` (= w_bits = out_bits)."""
    w_bits = a_bits if w_bits is None else w_bits
    out_bits = a_bits if out_bits is None else out_bits
    if not a_bits == w_bits == out_bits:
        raise ValueError(
            f"QAT networks are trained with a_bits = w_bits = out_bits, not a_bits={a_bits}, "
            f"w_bits={w_bits}, out_bits={out_bits}"
        )
    return load_qat(a_bits).export()
