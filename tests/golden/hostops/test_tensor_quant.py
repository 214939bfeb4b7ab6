"""TensorQuant keeps a .tflite tensor's float32 scale and int8 zero point."""

from __future__ import annotations

import numpy as np
import pytest

import golden.hostops as H


def test_scale_is_rounded_to_float32():
    q = H.TensorQuant(0.1, -3)
    assert q.scale == float(np.float32(0.1)) != 0.1
    assert q.scale32 == np.float32(0.1)
    assert H.TensorQuant(np.float32(0.1), np.int64(-3)) == q


@pytest.mark.parametrize(
    ("scale", "zp", "exc", "pattern"),
    [
        (0.0, 0, ValueError, r"^scale must be finite and > 0 as a float32, not 0.0$"),
        (-1.0, 0, ValueError, r"^scale must be finite and > 0 as a float32, not -1.0$"),
        (1e-50, 0, ValueError, r"^scale must be finite and > 0 as a float32, not 1e-50$"),
        (1e40, 0, ValueError, r"^scale must be finite and > 0 as a float32, not 1e\+40$"),
        (float("nan"), 0, ValueError, r"^scale must be finite and > 0 as a float32, not nan$"),
        ("0.1", 0, TypeError, r"^scale must be a real number, not '0.1'$"),
        (True, 0, TypeError, r"^scale must be a real number, not True$"),
        (0.1, 128, ValueError, r"^zero_point must be in \[-128, 127\], not 128$"),
        (0.1, 1.0, TypeError, r"^zero_point must be an integer, not 1.0$"),
    ],
)
def test_bad_quantization(scale, zp, exc, pattern):
    with pytest.raises(exc, match=pattern):
        H.TensorQuant(scale, zp)
