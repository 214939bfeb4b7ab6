"""The sweep's breakdown option: the mesh and the requant units of a real array synthesized alone,
the rest by difference; a design without those modules says so; the option is validated."""

from __future__ import annotations

import pytest

from hw.config import ArrayConfig
from hw.emit import generate_verilog
from qmac.sweep.breakdown import breakdown
from qmac.sweep.run import build_tasks
from qmac.sweep.spec import SweepSpec, spec_from_toml

TINY = "tests.qmac.sweep.test_sweep:tiny_mac_verilog"


def test_breakdown_of_a_real_2x2_array(tmp_path):
    cfg = ArrayConfig(rows=2, cols=2, a_buf_depth=64, w_buf_depth=64)
    v = tmp_path / "qmac_top.v"
    v.write_text(generate_verilog(cfg))
    total = {"lut": 100_000, "ff": 100_000, "dsp": 50, "ram": 8}  # the whole array, given
    out = breakdown(v, total, target="ecp5", workdir=tmp_path, timeout=600)
    assert out["requant_units"] == cfg.cols
    assert out["mesh_dsp"] == cfg.rows * cfg.cols  # one multiplier per int8 PE
    assert out["requant_dsp"] > 0 and out["requant_dsp"] % cfg.cols == 0
    assert out["mesh_ram"] == out["requant_ram"] == 0 and out["rest_ram"] == 8  # the buffers
    for k in ("lut", "ff", "dsp"):
        assert out[f"rest_{k}"] == total[k] - out[f"mesh_{k}"] - out[f"requant_{k}"] >= 0
    assert (tmp_path / "mesh" / "stat.json").exists() and (tmp_path / "requant").is_dir()


def test_design_without_mesh_modules_says_so(tmp_path):
    v = tmp_path / "qmac_top.v"
    v.write_text("module qmac_top(input a, output b);\nassign b = a;\nendmodule\n")
    out = breakdown(v, {"lut": 1}, target="ecp5", workdir=tmp_path, timeout=60)
    assert out == {"breakdown_note": "no qmac_top.engine.mesh or requant modules in the design"}


def test_breakdown_option_checked_and_in_the_cache_key(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[sweep]\nrows = 1\n[options]\nbreakdown = "yes"\n')
    with pytest.raises(ValueError, match=r"^breakdown must be true or false, not 'yes'$"):
        spec_from_toml(f)
    keys = []
    for on in (False, True):
        spec = SweepSpec(axes={"rows": "1"}, design=TINY, breakdown=on)
        keys.append([t["key"] for t in build_tasks(spec, tmp_path)[1] if t["kind"] == "synth"])
    assert keys[0] != keys[1]
