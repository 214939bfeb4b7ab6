"""qmac.synth.sdf: arrival times, grouping and names on a hand-written SDF with known paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from qmac.synth.sdf import analyze_sdf, family, parse_sdf, rtl_signal

DATA = Path(__file__).resolve().parent.parent / "data"
SDF = DATA / "tiny_routed.sdf"


def test_arrivals_and_groups():
    # src/Q 0.5 + net 1.0 + LUT 0.4 + net 0.6 + setup 0.1 = 2.6 ns into dst/DI;
    # src/Q 0.5 + net 0.2 + LUT 0.3 + net 3.0 + setup 0.15 = 4.15 ns into dst/CE;
    # an unnamed register 0.5 + 0.1 + 0.05 = 0.65 ns into dst/M.
    r = analyze_sdf(SDF, 3.0)
    assert r.endpoints == 3 and r.failing == 1
    assert r.worst_ns == pytest.approx(4.15) and r.fmax_mhz == pytest.approx(1000 / 4.15)
    (ce,) = r.groups
    assert (ce.start, ce.end, ce.pin, ce.count) == ("unit.src", "unit.dst", "CE", 1)
    assert ce.logic_ns == pytest.approx(0.3) and ce.route_ns == pytest.approx(3.2)
    assert ce.levels == 1 and ce.start_pin == "unit.src_TRELLIS_FF_Q/Q"
    assert (r.families[0].start, r.families[0].end) == ("unit", "unit")
    # Nothing fails at 5 ns: the worst groups are listed anyway, worst first.
    relaxed = analyze_sdf(SDF, 5.0)
    assert relaxed.failing == 0
    assert [(g.pin, round(g.delay_ns, 3)) for g in relaxed.groups] == \
        [("CE", 4.15), ("D", 2.6), ("D", 0.65)]
    assert relaxed.groups[2].start == "$"
    assert relaxed.to_dict()["groups"][1]["fmax_mhz"] == round(1000 / 2.6, 2)


def test_parse_counts():
    g = parse_sdf(SDF)
    assert len(g.clk2q) == 3 and len(g.setup) == 3
    assert g.cell_type["ctl.run_LUT4_Z"] == "TRELLIS_COMB"


@pytest.mark.parametrize(("cell", "signal", "fam"), [
    ("engine.mesh.pe_0_5.acc_TRELLIS_FF_Q_3", "engine.mesh.pe_0_5.acc", "engine.mesh.pe"),
    ("outpath.requant_2.$like$58_TRELLIS_FF_Q", "outpath.requant_2.$", "outpath.requant"),
    ("w_mem.0.1_DOB6_TRELLIS_FF_Q", "w_mem.DO", "w_mem"),
    ("a_loader.bank_TRELLIS_FF_Q", "a_loader.bank", "a_loader"),
    ("eng_run_LUT4_Z", "eng_run", "top"),
    ("engine.mesh.pe_1_1.mul", "engine.mesh.pe_1_1.mul", "engine.mesh.pe"),
])
def test_names(cell, signal, fam):
    assert rtl_signal(cell) == signal and family(signal) == fam


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"^sdf must be an existing SDF file, not 'nope.sdf'$"):
        analyze_sdf("nope.sdf", 5.0)
    with pytest.raises(ValueError, match=r"^period_ns must be a positive number, not 0$"):
        analyze_sdf(SDF, 0)
