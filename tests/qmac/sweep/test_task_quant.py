"""The sweep's quant task: inter-layer widths follow the swept width, error in float units, one
accuracy per calibration method and QAT."""

from __future__ import annotations

from qmac.model.evaluate import METHODS
from qmac.sweep import task_quant
from qmac.sweep.run import build_tasks
from qmac.sweep.spec import SweepSpec


def test_rows_follow_the_swept_width_and_list_every_method():
    r4 = task_quant.run({"a_bits": 4, "w_bits": 4, "n_test": None})
    r16 = task_quant.run({"a_bits": 16, "w_bits": 16, "n_test": None})
    assert r4["quant_out_bits"] == 4 and r16["quant_out_bits"] == 16
    assert r16["sqnr_db"] > r4["sqnr_db"] + 20
    assert r16["max_abs_err"] < r4["max_abs_err"] / 5 and r16["rms_err"] < r4["rms_err"] / 10
    assert "max_err_lsb" not in r4
    for m in METHODS:
        assert 0 < r4[f"int_accuracy_{m}"] <= 1 and r4[f"int_accuracy_stderr_{m}"] > 0
    assert r16["int_accuracy_qat"] is None  # no QAT network of 16 bits
    assert r4["int_accuracy_minmax"] == r4["int_accuracy"]


def test_an_out_bits_axis_sets_the_inter_layer_width(tmp_path):
    follow = SweepSpec(bits=[8], targets=[])
    fixed = SweepSpec(axes={"a_bits": [8], "w_bits": [8], "out_bits": [4]}, targets=[],
                      quant_error="on")
    (_, t1), (_, t2) = (build_tasks(s, tmp_path) for s in (follow, fixed))
    q1 = [t for t in t1 if t["kind"] == "quant"][0]["payload"]
    q2 = [t for t in t2 if t["kind"] == "quant"][0]["payload"]
    assert q1["out_bits"] is None and q2["out_bits"] == 4
    r = task_quant.run(dict(q2, n_test=50))
    assert r["quant_out_bits"] == 4 and r["int_accuracy_qat"] is None
