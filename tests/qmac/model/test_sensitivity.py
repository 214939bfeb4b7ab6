"""Per-layer sensitivity: ranking, reproducibility with a seed, bad input, the script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qmac.model import digits, ptq
from qmac.model.evaluate import predict
from qmac.model.sensitivity import format_ranking, layer_sensitivity

ROOT = Path(__file__).resolve().parents[3]


def test_ranking_is_sorted_and_reproducible_with_a_seed():
    a = layer_sensitivity(2, seed=3, n_boot=200)
    b = layer_sensitivity(2, seed=3, n_boot=200)
    assert a == b
    drops = [r["drop"] for r in a["ranking"]]
    assert drops == sorted(drops, reverse=True)
    assert sorted(r["layer"] for r in a["ranking"]) == sorted(s.name for s in digits.ARCH)
    c = layer_sensitivity(2, seed=4, n_boot=200)
    assert [r["layer"] for r in c["ranking"]] == [r["layer"] for r in a["ranking"]]
    assert [r["drop"] for r in c["ranking"]] == drops  # the measurement has no randomness
    assert [r["drop_std"] for r in c["ranking"]] != [r["drop_std"] for r in a["ranking"]]


def test_one_layer_at_low_width_is_that_layers_operands():
    """The drop of fc4 at 2 bits is that of a network with fc4's weights and input at 2 bits."""
    r = layer_sensitivity(2, part="both", n_boot=10)
    fc4 = next(x for x in r["ranking"] if x["layer"] == "fc4")
    data = digits.load_digits_data()
    q = ptq.quantize_cnn(digits.load_float_cnn(), data.images[data.calib],
                         tensor_bits=[8, 8, 8, 2, 8], layer_w_bits=[8, 8, 8, 2])
    assert (q.layers[3].a_bits, q.layers[3].w_bits, q.layers[3].out_bits) == (2, 2, 8)
    assert q.layers[2].out_bits == 2 and q.layers[2].a_bits == 8
    acc = (predict(q.forward(q.quantize_input(data.images[data.test]))) ==
           data.labels[data.test]).mean()
    assert fc4["accuracy"] == acc


@pytest.mark.parametrize(
    ("kwargs", "exc", "msg"),
    [
        ({"bits": 1}, ValueError, r"^bits must be in \[2, 16\], not 1$"),
        ({"base_bits": 17}, ValueError, r"^base_bits must be in \[2, 16\], not 17$"),
        ({"part": "bias"}, ValueError, r"^part must be one of both, weights, activations, "),
        ({"method": "max"}, ValueError, r"^method must be one of minmax, percentile, "),
        ({"seed": -1}, ValueError, r"^seed must be in \[0, inf\], not -1$"),
        ({"n_boot": 0}, ValueError, r"^n_boot must be in \[1, 100000\], not 0$"),
    ],
)
def test_bad_input(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        layer_sensitivity(**kwargs)


def test_script_prints_the_ranking():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "sensitivity.py"), "--boot",
                           "50"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    r = layer_sensitivity(2, n_boot=50)
    assert proc.stdout.strip() == format_ranking(r)
