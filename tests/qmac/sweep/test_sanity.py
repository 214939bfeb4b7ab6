"""Sanity of what sweeps measure on the real generator: error vs bits, resources vs size and width.

The quantization-error check runs by default (golden model only, a few seconds); the ones that
synthesize or simulate QmacTop are ``slow``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hw.config import preset
from qmac.sweep.run import run_sweep
from qmac.sweep.spec import SweepSpec

ROOT = Path(__file__).resolve().parents[3]


def _by(doc: dict, *keys: str) -> dict:
    rows = doc["rows"]
    assert all(r["status"] == "ok" for r in rows), [
        r["reason"] for r in rows if r["status"] != "ok"
    ]
    return {tuple(r[k] for k in keys): r for r in rows}


def test_accuracy_vs_bits(tmp_path):
    spec = SweepSpec(bits=[2, 4, 8], targets=[])
    rows = _by(run_sweep(spec, workdir=tmp_path, jobs=1, progress=False), "a_bits")
    r2, r4, r8 = rows[(2,)], rows[(4,)], rows[(8,)]
    assert abs(r8["int_accuracy"] - r8["float_accuracy"]) <= 0.01  # within 1 point of float
    assert r4["int_accuracy"] < r8["int_accuracy"] and r2["int_accuracy"] < r8["int_accuracy"]
    assert r2["sqnr_db"] < r4["sqnr_db"] < r8["sqnr_db"]


@pytest.mark.slow
def test_resources_grow_with_size_and_width(tmp_path):
    spec = SweepSpec(sizes=[(2, 2), (4, 4)], bits=[8, 16], targets=["ecp5"], quant_error="off")
    rows = _by(run_sweep(spec, workdir=tmp_path, jobs=2, progress=False), "rows", "a_bits")
    for bits in (8, 16):
        small, big = rows[(2, bits)], rows[(4, bits)]
        for key in ("lut", "ff", "dsp"):
            assert big[key] > small[key], (key, bits)
    for size in (2, 4):
        narrow, wide = rows[(size, 8)], rows[(size, 16)]
        assert wide["lut"] > narrow["lut"] and wide["ff"] > narrow["ff"]
        assert wide["dsp"] >= narrow["dsp"]


@pytest.mark.slow
def test_workload_cycles_fall_with_size(tmp_path):
    spec = SweepSpec(sizes=[(2, 2), (4, 4)], targets=[], workload="matmul16", quant_error="off")
    rows = _by(run_sweep(spec, workdir=tmp_path, jobs=1, progress=False), "rows")
    small, big = rows[(2,)], rows[(4,)]  # outputs were checked bit-exact inside the task
    assert big["cycles"] < small["cycles"]
    assert small["macs"] == big["macs"] == 16 * 16 * 16
    for r in (small, big):
        assert 0 < r["utilization"] <= 1
        assert r["utilization"] == pytest.approx(r["macs"] / (r["rows"] * r["cols"] * r["cycles"]))


@pytest.mark.slow
def test_int8_8x8_preset_one_dsp_per_pe(tmp_path):
    """Issue 3: on ECP5 each PE's multiply maps to one MULT18X18D, not to LUTs."""
    out = tmp_path / "s.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "synth_preset.py"),
            "--preset",
            "int8-8x8",
            "--target",
            "ecp5",
            "--workdir",
            str(tmp_path),
            "--out",
            str(out),
        ],
        check=True,
    )
    s = json.loads(out.read_text())
    cfg = preset("int8-8x8")
    n_pe = cfg.rows * cfg.cols
    assert s["parts"]["pe"]["cells_by_type"].get("MULT18X18D") == 1
    # the whole mesh, synthesized as one: exactly one MULT18X18D per PE, none shared or spilled
    assert s["parts"]["mesh"]["cells_by_type"].get("MULT18X18D") == n_pe
    assert s["dsp"]["mesh"] == n_pe and s["dsp"]["one_pe"] == 1
    # the rest of the design's DSPs are the requantization multipliers, not PEs in LUTs
    assert s["dsp"]["total"] == n_pe + s["dsp"]["requant_all"] + s["dsp"]["rest"]
    assert s["dsp"]["rest"] == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--pe-pipeline", "9"], "pe_pipeline must be in [0, 2], not 9"),
        (["--buf-depth", "0"], "a_buf_depth"),
    ],
)
def test_synth_preset_rejects_a_bad_override_in_one_line(tmp_path, args, message):
    """A bad --pe-pipeline / --buf-depth is refused before any synthesis, without a traceback."""
    script = str(ROOT / "scripts" / "synth_preset.py")
    proc = subprocess.run(
        [sys.executable, script, "--workdir", str(tmp_path), *args],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []
