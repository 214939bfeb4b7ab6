"""The sweep generates the Verilog for the synthesis target: MULT18X18D instances on ECP5."""

from __future__ import annotations

from hw.config import ArrayConfig
from qmac.sweep import task_synth

CFG = ArrayConfig(rows=2, cols=2, a_buf_depth=16, w_buf_depth=16, param_depth=4)


def _point(tmp_path, target: str, design: str = task_synth.DEFAULT_DESIGN) -> dict:
    return {"config": CFG.to_dict(), "workdir": str(tmp_path / target), "design": design,
            "target": target, "device": {}, "pnr": False, "timeout_s": None}


def _fake_synthesize(seen: dict):
    def synthesize(path, **kw):
        seen[kw["target"]] = path.read_text()
        return {"cells_by_type": {}, "cells": 0, "port_bits": 0, "synth_s": 0.0,
                **{k: 0 for k in task_synth.CATEGORIES}}
    return synthesize


def test_ecp5_points_instantiate_dsp_blocks_ice40_points_infer(tmp_path, monkeypatch):
    seen: dict = {}
    monkeypatch.setattr(task_synth, "synthesize", _fake_synthesize(seen))
    rows = {t: task_synth.run(_point(tmp_path, t)) for t in ("ecp5", "ice40")}
    assert rows["ecp5"]["hw_target"] == "ecp5" and rows["ice40"]["hw_target"] == "generic"
    assert "MULT18X18D" in seen["ecp5"] and "target ecp5" in seen["ecp5"].splitlines()[0]
    assert "MULT18X18D" not in seen["ice40"]


def test_a_design_without_a_target_parameter_is_used_as_is(tmp_path, monkeypatch):
    seen: dict = {}
    monkeypatch.setattr(task_synth, "synthesize", _fake_synthesize(seen))
    row = task_synth.run(_point(tmp_path, "ecp5", "tests.qmac.sweep.test_sweep:tiny_mac_verilog"))
    assert row["hw_target"] is None and "MULT18X18D" not in seen["ecp5"]
