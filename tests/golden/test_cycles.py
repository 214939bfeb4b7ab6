"""Ideal cycle model: hand-computed SCALE-Sim v2 cases."""

import numpy as np
import pytest

import golden
from golden.cycles import gemm_cycles, layer_cycles, layer_gemms


def test_os_64cube_on_8x8_matches_scalesim():
    g = gemm_cycles(64, 64, 64, rows=8, cols=8, dataflow="os")
    # 8 row folds x 8 column folds, each K + R + C - 2 = 64 + 14 = 78 cycles
    assert (g.folds, g.cycles_per_fold, g.cycles) == (64, 78, 4992)
    assert g.scalesim_cycles == 4991  # SCALE-Sim v2 prints the last cycle's index
    assert g.macs == 64**3
    assert g.utilization == pytest.approx(64**3 / (64 * 4992))
    # SCALE-Sim reports 82.07 % utilization for this case (macs over its 4991 cycles)
    assert round(100 * g.macs / (64 * g.scalesim_cycles), 2) == 82.07


def test_ws_formula_and_ragged_folds():
    # WS: Sr = K = 10 -> 3 folds of 4 rows; Sc = N = 5 -> 2 folds of 4 cols; T = M = 7
    g = gemm_cycles(7, 10, 5, rows=4, cols=4, dataflow="ws")
    assert (g.folds, g.cycles_per_fold, g.cycles) == (6, 2 * 4 + 4 + 7 - 2, 6 * 17)
    # OS on the same GEMM: Sr = M = 7 -> 2, Sc = N = 5 -> 2, T = K = 10
    g = gemm_cycles(7, 10, 5, rows=4, cols=4, dataflow="os")
    assert (g.folds, g.cycles_per_fold, g.cycles) == (4, 10 + 4 + 4 - 2, 64)


def test_non_square_array():
    g = gemm_cycles(9, 3, 17, rows=4, cols=8, dataflow="os")
    assert (g.folds, g.cycles_per_fold) == (3 * 3, 3 + 4 + 8 - 2)


@pytest.mark.parametrize(
    ("kwargs", "exc", "msg"),
    [
        ({"m": 0}, ValueError, r"^m must be in \[1, inf\], not 0$"),
        ({"k": 2.0}, TypeError, r"^k must be an integer, not 2\.0$"),
        ({"rows": -1}, ValueError, r"^rows must be in \[1, inf\], not -1$"),
        ({"dataflow": "is"}, ValueError, r"^dataflow must be one of os, ws, not 'is'$"),
    ],
)
def test_rejects_bad_arguments(kwargs, exc, msg):
    args = {"m": 4, "k": 4, "n": 4, "rows": 2, "cols": 2, "dataflow": "os"} | kwargs
    with pytest.raises(exc, match=msg):
        gemm_cycles(args.pop("m"), args.pop("k"), args.pop("n"), **args)


def _rng():
    return np.random.default_rng(7)


def test_conv_gemm_view_with_groups():
    layer = golden.make_random_layer(
        "conv2d",
        rng=_rng(),
        batch=2,
        h=9,
        w=7,
        cin=6,
        cout=4,
        kernel=3,
        stride=2,
        padding="SAME",
        groups=2,
    )
    # SAME, stride 2: OH = ceil(9/2) = 5, OW = ceil(7/2) = 4; M = 2*5*4, K = 9*6/2, N = 4/2
    assert layer_gemms(layer) == [(40, 27, 2)] * 2
    lc = layer_cycles(layer, rows=4, cols=4, dataflow="os")
    per = gemm_cycles(40, 27, 2, rows=4, cols=4)
    assert lc.cycles == 2 * per.cycles and lc.macs == layer.macs == 2 * 40 * 27 * 2


def test_depthwise_is_one_gemm_per_channel():
    layer = golden.make_random_layer(
        "depthwise_conv2d",
        rng=_rng(),
        h=6,
        w=6,
        cin=3,
        multiplier=2,
        kernel=3,
        stride=1,
        padding="VALID",
        dilation=1,
    )
    assert layer_gemms(layer) == [(16, 9, 2)] * 3
    assert layer_cycles(layer, rows=4, cols=4).macs == layer.macs


def test_matmul_and_fc_views():
    mm = golden.make_random_layer("matmul", rng=_rng(), m=5, k=6, n=7)
    fc = golden.make_random_layer(
        "fully_connected", rng=_rng(), batch=3, in_features=10, out_features=4
    )
    assert layer_gemms(mm) == [(5, 6, 7)]
    assert layer_gemms(fc) == [(3, 10, 4)]
    assert (
        layer_cycles(mm, rows=2, cols=2, dataflow="ws").cycles
        == gemm_cycles(5, 6, 7, rows=2, cols=2, dataflow="ws").cycles
    )
