"""qmac.report.run_table: the totals' arithmetic and the table's columns."""

from __future__ import annotations

import pytest

from qmac.report.run_table import format_run_table, format_totals, run_totals


def _ops(cycles=(300, 100)):
    return [
        {"index": 0, "name": "CONV_2D_0", "op": "conv2d", "kind": "array",
         "input_shapes": [(4, 8, 8, 1)],
         "output_shape": (4, 8, 8, 8), "macs": 18432, "cycles": cycles[0], "ideal_cycles": 400,
         "utilization": 0.5, "mismatches": 0, "wall_s": 1.0},
        {"index": 1, "name": "ADD_1", "op": "ADD", "kind": "host", "input_shapes": [(4, 8), (4, 8)],
         "output_shape": (4, 8), "macs": 0, "cycles": None, "ideal_cycles": None,
         "utilization": None, "mismatches": 0, "wall_s": 0.5},
        {"index": 2, "name": "FULLY_CONNECTED_2", "op": "fully_connected", "kind": "array",
         "input_shapes": [(4, 8)],
         "output_shape": (4, 10), "macs": 320, "cycles": cycles[1], "ideal_cycles": 200,
         "utilization": 0.2, "mismatches": 0, "wall_s": 2.0},
    ]


def test_totals():
    t = run_totals(_ops(), batch=4, rows=4, cols=4, clock_mhz=200.0)
    assert (t["ops"], t["array_ops"], t["host_ops"]) == (3, 2, 1)
    assert t["cycles"] == 400 and t["cycles_per_inference"] == 100
    assert t["ideal_cycles_per_inference"] == 150
    assert t["inferences_per_s"] == pytest.approx(2e6)
    assert t["mac_efficiency"] == pytest.approx(18752 / (16 * 400))
    assert t["array_wall_s"] == 3.0 and t["host_wall_s"] == 0.5
    golden = run_totals(_ops((None, None)), batch=4, rows=4, cols=4, clock_mhz=100.0)
    assert golden["cycles"] is None and golden["inferences_per_s"] is None
    assert golden["ideal_cycles"] == 600


def test_table_and_totals_lines():
    ops = _ops()
    lines = format_run_table(ops)
    assert len(lines) == 4 and lines[0].split()[:5] == ["#", "name", "op", "on", "input"]
    assert lines[2].split()[1:4] == ["ADD_1", "ADD", "host"]
    assert "4x8 + 4x8 -> 4x8" in lines[2] and lines[2].split()[-2:] == ["-", "0.50"]
    assert "18,432" in lines[1] and "50.0%" in lines[1]
    t = run_totals(ops, batch=4, rows=4, cols=4, clock_mhz=200.0)
    text = "\n".join(format_totals(t, "4x4"))
    assert "100 array cycles (ideal 150); 2,000,000 inferences/s at 200 MHz" in text
    golden = run_totals(_ops((None, None)), batch=4, rows=4, cols=4, clock_mhz=100.0)
    assert "150 ideal array cycles on 4x4" in "\n".join(format_totals(golden, "4x4"))
