"""The digits CNN: definition, the shipped data split and weights, float inference.

Network (input 8x8x1, NHWC, pixels 0..16 scaled to [0, 1]):

    conv1  conv2d 3x3, 1->8,  stride 1, SAME, ReLU   -> 8x8x8
    conv2  conv2d 3x3, 8->16, stride 2, SAME, ReLU   -> 4x4x16
    dw3    depthwise 3x3, 16 channels, stride 1, SAME, ReLU -> 4x4x16
    fc4    fully connected 256 -> 10 (flattened NHWC, order h, w, c) -> logits

Float weights (trained by ``scripts/train_digits_cnn.py``) ship in
``qmac/model/data/digits_cnn.npz`` together with the fixed train / calibration / test split of
scikit-learn's bundled digits. The layers are golden's float twins (``golden.conv2d_float`` and
friends), so the float reference shares golden's padding and im2col. Post-training quantization is
in :mod:`qmac.model.ptq`, accuracy and error measurement in :mod:`qmac.model.evaluate`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import golden

__all__ = [
    "ARCH",
    "LayerSpec",
    "DigitsData",
    "FloatCNN",
    "DATA_PATH",
    "load_digits_data",
    "load_float_cnn",
    "float_forward",
    "make_split",
    "load_digits_images",
    "layer_float",
]

DATA_PATH = Path(__file__).with_name("data") / "digits_cnn.npz"


@dataclass(frozen=True)
class LayerSpec:
    """Geometry of one layer of the network (float and quantized alike)."""

    name: str
    op: str  # "conv2d" | "depthwise_conv2d" | "fully_connected"
    cin: int
    cout: int
    kernel: int = 1
    stride: int = 1
    relu: bool = True

    @property
    def w_shape(self) -> tuple[int, ...]:
        """Float/int weight shape: OHWI, 1HW(C*mult) or [out, in]."""
        if self.op == "conv2d":
            return (self.cout, self.kernel, self.kernel, self.cin)
        if self.op == "depthwise_conv2d":
            return (1, self.kernel, self.kernel, self.cout)
        return (self.cout, self.cin)

    @property
    def channel_axis(self) -> int:
        """Axis of the weight tensor that indexes output channels."""
        return 3 if self.op == "depthwise_conv2d" else 0


ARCH: tuple[LayerSpec, ...] = (
    LayerSpec("conv1", "conv2d", cin=1, cout=8, kernel=3, stride=1),
    LayerSpec("conv2", "conv2d", cin=8, cout=16, kernel=3, stride=2),
    LayerSpec("dw3", "depthwise_conv2d", cin=16, cout=16, kernel=3, stride=1),
    LayerSpec("fc4", "fully_connected", cin=256, cout=10, relu=False),
)


# ---- data ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DigitsData:
    """scikit-learn's digits with the shipped split.

    Attributes
    ----------
    images : (1797, 8, 8, 1) ndarray of float64
        Pixels scaled from 0..16 to [0, 1], NHWC.
    labels : (1797,) ndarray of int64
    train, calib, test : 1-D ndarray of int64
        Disjoint indices into ``images`` (1200 / 200 / 397, stratified, seed 0).
    """

    images: np.ndarray
    labels: np.ndarray
    train: np.ndarray
    calib: np.ndarray
    test: np.ndarray


def make_split(labels: np.ndarray, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified 1200 / 200 / rest split of ``labels`` indices (used by the training script)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    train, rest = train_test_split(idx, train_size=1200, stratify=labels, random_state=seed)
    calib, test = train_test_split(rest, train_size=200, stratify=labels[rest], random_state=seed)
    return np.sort(train), np.sort(calib), np.sort(test)


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images (1797, 8, 8, 1) float64 in [0, 1], labels (1797,) int64)``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = d.images.astype(np.float64).reshape(-1, 8, 8, 1) / 16.0
    return images, d.target.astype(np.int64)


@functools.lru_cache(maxsize=2)
def _load_npz(path: str) -> dict[str, np.ndarray]:
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"weights file {path!r} not found (run scripts/train_digits_cnn.py)")
    with np.load(p, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_digits_data(path: str | Path = DATA_PATH) -> DigitsData:
    """Digits images and labels with the split stored in the weights file ``path``."""
    z = _load_npz(str(path))
    images, labels = load_digits_images()
    return DigitsData(images, labels, z["train_idx"], z["calib_idx"], z["test_idx"])


# ---- float network ------------------------------------------------------------------------
@dataclass(frozen=True)
class FloatCNN:
    """Float weights of ``ARCH``: ``weights[name]`` (``spec.w_shape``), ``biases[name]`` (cout,)."""

    weights: dict[str, np.ndarray]
    biases: dict[str, np.ndarray]
    test_accuracy: float  # as measured by the training script on the test split

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], test_accuracy: float = float("nan")
    ) -> FloatCNN:
        weights, biases = {}, {}
        for spec in ARCH:
            for key, shape, dest in (
                (f"{spec.name}_w", spec.w_shape, weights),
                (f"{spec.name}_b", (spec.cout,), biases),
            ):
                if key not in arrays:
                    raise ValueError(f"weights are missing field {key!r}")
                a = np.asarray(arrays[key], dtype=np.float64)
                if a.shape != shape:
                    raise ValueError(f"{key} must have shape {shape}, not {a.shape}")
                dest[spec.name] = a
        return cls(weights, biases, float(test_accuracy))


def load_float_cnn(path: str | Path = DATA_PATH) -> FloatCNN:
    """The shipped float network (``ValueError`` naming the file or field when it is bad)."""
    z = _load_npz(str(path))
    return FloatCNN.from_arrays(z, float(z.get("float_test_accuracy", np.nan)))


def layer_float(spec: LayerSpec, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pre-activation output of one layer in float64 (``x`` NHWC, or [B, ...] for fc).

    conv2d and depthwise use SAME padding (TFLite's: the extra row/column at the bottom/right);
    fully connected flattens ``x`` (h, w, c order).
    """
    if spec.op == "fully_connected":
        return golden.fully_connected_float(np.reshape(x, (len(x), -1)), w, b)
    if spec.op == "conv2d":
        return golden.conv2d_float(x, w, b, stride=spec.stride, padding="SAME")
    return golden.depthwise_conv2d_float(x, w, b, stride=spec.stride, padding="SAME")


def float_forward(model: FloatCNN, x: np.ndarray, *, all_layers: bool = False):
    """Float inference.

    Parameters
    ----------
    x : (N, 8, 8, 1) array_like of float, pixels in [0, 1]
    all_layers : bool
        Also return every layer's output (after ReLU).

    Returns
    -------
    logits : (N, 10) ndarray of float64, or the list of all layer outputs if ``all_layers``.
    """
    x = np.asarray(x, dtype=np.float64)
    outs = []
    for spec in ARCH:
        x = layer_float(spec, x, model.weights[spec.name], model.biases[spec.name])
        if spec.relu:
            x = np.maximum(x, 0.0)
        outs.append(x)
    return outs if all_layers else x
