"""Each golden rounding mode against the LiteRT kernels it is meant to match (one-op models).

Measured with ``scripts/rounding_agreement.py --cases 300`` (seed 0; 155k outputs): golden
``"tflite"`` equals LiteRT's reference CONV_2D and DEPTHWISE_CONV_2D (0 differences); ``"halfup"``
equals the optimized CONV_2D and FULLY_CONNECTED kernels and the optimized DEPTHWISE_CONV_2D on
its first ``8 * (C // 8)`` channels, whose output stage is vectorized 8 channels wide; the
leftover channels take a scalar path that rounds like the reference (``"tflite"``). ``"single"``
equals XNNPACK (one output of 155k differed, by 1) and, for these per-channel models, the reference
FULLY_CONNECTED. Every mode is within 1 LSB of every kernel. The cases hold negative ties of the
second rounding step (where "tflite" and "halfup" differ), so the exact agreements tell the two
modes apart.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

import golden  # noqa: E402
from tests.golden.hostops.litert_one_op import run  # noqa: E402
from tests.golden.litert_rounding import KINDS, make_case, negative_ties  # noqa: E402

#: Cases per op: fully connected layers have few outputs, so they need more for ties.
CASES = {"conv2d": 40, "depthwise_conv2d": 40, "fully_connected": 200}


def _cases(kind: str, seed: int):
    rng = np.random.default_rng(seed)
    return [make_case(kind, rng) for _ in range(CASES[kind])]


def _litert(case, resolver: str) -> np.ndarray:
    (got,) = run(case.model, [case.x], resolver)
    return got.astype(np.int64)


def _golden(case, rounding: str, shape) -> np.ndarray:
    return case.layer.output(rounding=rounding).reshape(shape)


@pytest.mark.parametrize("kind", ["conv2d", "depthwise_conv2d"])
def test_tflite_equals_reference_kernels(kind):
    cases = _cases(kind, 1)
    assert sum(negative_ties(c.layer) for c in cases) > 5
    for c in cases:
        got = _litert(c, "ref")
        np.testing.assert_array_equal(_golden(c, "tflite", got.shape), got)


@pytest.mark.parametrize("kind", ["conv2d", "fully_connected", "depthwise_conv2d"])
def test_halfup_equals_optimized_kernels(kind):
    cases = _cases(kind, 2)
    ties = 0
    for c in cases:
        got = _litert(c, "opt")
        want = _golden(c, "halfup", got.shape)
        if kind == "depthwise_conv2d":  # channels beyond the last full group of 8: scalar path
            vec = 8 * (got.shape[-1] // 8)
            want[..., vec:] = _golden(c, "tflite", got.shape)[..., vec:]
        ties += negative_ties(c.layer)
        np.testing.assert_array_equal(want, got)
    assert ties > 3


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_mode_within_one_lsb_and_single_close_to_xnnpack(kind):
    differ = outputs = 0
    for c in _cases(kind, 3):
        kernels = {r: _litert(c, r) for r in ("ref", "opt", "xnnpack")}
        for rounding in golden.ROUNDINGS:
            for got in kernels.values():
                assert np.abs(_golden(c, rounding, got.shape) - got).max() <= 1
        got = kernels["xnnpack"]
        differ += np.count_nonzero(_golden(c, "single", got.shape) != got)
        outputs += got.size
    assert differ <= outputs // 1000
