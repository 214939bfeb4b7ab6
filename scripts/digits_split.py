"""scikit-learn's bundled digits with qmac's fixed split, for the example-model scripts.

The split is the one of ``qmac.model.digits.make_split`` (stratified 1200 train / 200
calibration / 397 test, ``random_state=0``), repeated here so that the model scripts run in their
own venv without qmac installed. Pixels are scaled from 0..16 to [0, 1] as in ``qmac.model.digits``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Digits", "load_digits_split", "upsample2", "sample_indices"]


@dataclass(frozen=True)
class Digits:
    """Digits images and labels with the split.

    Attributes
    ----------
    images : (1797, 8, 8, 1) ndarray of float32
        NHWC, pixels in [0, 1].
    labels : (1797,) ndarray of int64
    train, calib, test : 1-D ndarray of int64
        Disjoint sorted indices into ``images`` (1200 / 200 / 397).
    """

    images: np.ndarray
    labels: np.ndarray
    train: np.ndarray
    calib: np.ndarray
    test: np.ndarray


def load_digits_split() -> Digits:
    """Load the digits and split them as ``qmac.model.digits.make_split(labels, seed=0)``."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    images = (d.images.astype(np.float64) / 16.0).astype(np.float32).reshape(-1, 8, 8, 1)
    labels = d.target.astype(np.int64)
    idx = np.arange(len(labels))
    train, rest = train_test_split(idx, train_size=1200, stratify=labels, random_state=0)
    calib, test = train_test_split(rest, train_size=200, stratify=labels[rest], random_state=0)
    return Digits(images, labels, np.sort(train), np.sort(calib), np.sort(test))


def upsample2(images: np.ndarray) -> np.ndarray:
    """Nearest-neighbour 2x upsampling of NHWC images: (N, H, W, C) -> (N, 2H, 2W, C)."""
    return np.repeat(np.repeat(images, 2, axis=1), 2, axis=2)


def sample_indices(digits: Digits, count: int = 16) -> np.ndarray:
    """The first ``count`` test indices: the images shipped as ``digits_test_x*.npy``."""
    return digits.test[:count]
