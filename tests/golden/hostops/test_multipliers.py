"""TFLite's Prepare-time multiplier derivations (quantization_util.cc)."""

from __future__ import annotations

import numpy as np
import pytest

import golden
from golden.hostops import multipliers as M


def test_quantize_multiplier_tflite_equals_golden_below_shift_30():
    rng = np.random.default_rng(5)
    reals = np.concatenate([[0.0, 0.5, 1.0, 1e-10, 2.0**-31, 2.0**29],
                            rng.uniform(0, 1, 100), 10 ** rng.uniform(-9, 8, 100)])
    m0, shift = golden.quantize_multiplier(reals)
    want = list(zip(m0.tolist(), shift.tolist(), strict=True))
    assert [M.quantize_multiplier_tflite(r) for r in reals] == want


@pytest.mark.parametrize(
    ("real", "want"),
    [(float((1 << 31) - 1), ((1 << 31) - 1, 31)), (2.0**30, (1 << 30, 31)),
     (3.0 * 2**40, (3 << 29, 42)), (2.0**-40, (0, 0)), (0.0, (0, 0))],
)
def test_quantize_multiplier_tflite_keeps_large_shifts(real, want):
    assert M.quantize_multiplier_tflite(real) == want


def test_smaller_than_one_and_greater_than_one():
    assert M.quantize_multiplier_smaller_than_one_exp(0.5) == (1 << 30, 0)
    assert M.quantize_multiplier_smaller_than_one_exp(0.25) == (1 << 30, -1)
    assert M.quantize_multiplier_greater_than_one(3.0) == (3 << 29, 2)
    for bad in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"^m must be in \(0, 1\)"):
            M.quantize_multiplier_smaller_than_one_exp(bad, "m")
    with pytest.raises(ValueError, match="^m rounds to 1.0"):
        M.quantize_multiplier_smaller_than_one_exp(1 - 2.0**-40, "m")
    for bad in (1.0, 0.5, float("inf")):
        with pytest.raises(ValueError, match=r"^g must be finite and > 1"):
            M.quantize_multiplier_greater_than_one(bad, "g")


@pytest.mark.parametrize(("left_shift", "radius"),
                         [(0, 31 << 26), (5, 31 << 21), (26, 31), (30, 1), (31, 0)])
def test_calculate_input_radius(left_shift, radius):
    assert M.calculate_input_radius(5, left_shift) == radius


def test_preprocess_softmax_scaling():
    assert M.preprocess_softmax_scaling(1.0, 0.125, 5) == (1 << 30, 24)
    assert M.preprocess_softmax_scaling(1.0, 1000.0, 5) == ((1 << 31) - 1, 31)  # capped
