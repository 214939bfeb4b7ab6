"""Fused activations as clamp bounds (CalculateActivationRangeQuantized); LiteRT checks of the
bounds are in the ADD and pooling tests, which use every activation."""

from __future__ import annotations

import pytest

import golden.hostops as H


@pytest.mark.parametrize(
    ("activation", "scale", "zp", "want"),
    [
        ("NONE", 0.1, 5, (-128, 127)),
        ("RELU", 0.1, -128, (-128, 127)),
        ("RELU", 0.1, 10, (10, 127)),
        ("RELU6", 6 / 255, -128, (-128, 127)),
        ("RELU6", 0.01, 0, (0, 127)),
        ("RELU6", 0.1, -100, (-100, -40)),
        ("RELU_N1_TO_1", 0.1, 5, (-5, 15)),
        ("RELU_N1_TO_1", 1 / 128, 0, (-128, 127)),
        # float32(1) / float32(0.4) rounds to 2.5 exactly (float64 gives 2.4999999...), which
        # rounds half away from zero to 3: the division is float32 as in TFLite.
        ("RELU_N1_TO_1", 0.4, 0, (-3, 3)),
    ],
)
def test_activation_range(activation, scale, zp, want):
    assert H.activation_range(activation, H.TensorQuant(scale, zp)) == want


def test_activation_range_bad_input():
    with pytest.raises(ValueError, match=r"^activation must be one of NONE, RELU, RELU6, "):
        H.activation_range("relu", H.TensorQuant(0.1, 0))
    with pytest.raises(TypeError, match=r"^output must be a TensorQuant, not float$"):
        H.activation_range("RELU", 0.1)
    with pytest.raises(ValueError, match=r"^activation bound 6.0 / scale .* does not fit int32$"):
        H.activation_range("RELU6", H.TensorQuant(1e-12, 0))
