"""qmac.synth: parsers on saved real tool output, fit checks, and one tiny real Yosys/nextpnr run.

The saved outputs (tests/qmac/data, see its README) come from ``tiny_mac.v``: two PEs, each a
registered 8x8 multiply (16-bit product register) into a 32-bit accumulator, an 8-bit delay register
between them, and a 32-bit adder of the two accumulators. Expected counts below follow from that
structure, not from the parser: 2 multipliers, 2 * (16 + 32) + 8 = 104 flip-flops, and three 32-bit
adders = 96 adder bits (an ECP5 CCU2C holds 2).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from qmac.synth import (
    CATEGORIES,
    TARGETS,
    ToolError,
    check_fit,
    classify_cell,
    module_stats,
    parse_nextpnr_report,
    parse_stat,
    place_and_route,
    synthesize,
    yosys_script,
)

DATA = Path(__file__).resolve().parent.parent / "data"
N_PE, PRODUCT_BITS, ACC_BITS, DELAY_BITS = 2, 16, 32, 8
FLOPS = N_PE * (PRODUCT_BITS + ACC_BITS) + DELAY_BITS
ADDER_BITS = 3 * ACC_BITS


@pytest.mark.parametrize("target", TARGETS)
def test_parse_stat_real_output(target):
    stats = parse_stat(DATA / f"yosys_stat_{target}.json", target)
    raw = json.loads((DATA / f"yosys_stat_{target}.json").read_text())["design"][
        "num_cells_by_type"
    ]
    assert stats["cells"] == sum(stats[c] for c in (*CATEGORIES, "io"))
    assert stats["cells"] == sum(n for t, n in raw.items() if t != "$scopeinfo")
    assert stats["port_bits"] == 8 + 8 + 1 + 32 + 2  # a, w, clr, acc, clk, rst
    if target == "generic":
        assert stats["dsp"] == 0 and stats["ff"] == FLOPS and stats["lut"] > 100  # gates
    else:
        assert stats["dsp"] == N_PE
    if target in ("ecp5", "ice40"):
        assert stats["ff"] == FLOPS
    if target == "ecp5":
        assert stats["carry"] == ADDER_BITS // 2
    if target == "xilinx":  # DSP48E1 absorbs product and accumulator registers
        assert stats["ff"] == 0 and stats["carry"] == ACC_BITS // 4


def test_module_stats_separate_pes():
    mods = module_stats(DATA / "yosys_stat_ecp5_hier.json", "ecp5")
    assert sorted(mods) == ["top", "top.pe_0", "top.pe_1"]
    for pe in ("top.pe_0", "top.pe_1"):
        assert mods[pe]["dsp"] == 1 and mods[pe]["ff"] == PRODUCT_BITS + ACC_BITS
        assert mods[pe]["carry"] == ACC_BITS // 2
    assert mods["top"]["ff"] == DELAY_BITS and mods["top"]["dsp"] == 0
    total = parse_stat(DATA / "yosys_stat_ecp5_hier.json", "ecp5")
    for key in ("dsp", "ff", "carry", "lut"):  # design totals = sum over the hierarchy
        assert total[key] == sum(m[key] for m in mods.values())


def test_parse_nextpnr_report_real_output():
    r = parse_nextpnr_report(DATA / "nextpnr_ecp5_report.json")
    raw = json.loads((DATA / "nextpnr_ecp5_report.json").read_text())
    assert r["fmax_mhz"] == raw["fmax"]["clk"]["achieved"]
    assert r["clocks"]["clk"]["constraint"] == 200.0
    assert r["utilization"]["MULT18X18D"] == {"used": N_PE, "available": 156}
    assert r["utilization"]["TRELLIS_FF"]["used"] == FLOPS
    assert all(u["used"] > 0 for u in r["utilization"].values())


@pytest.mark.parametrize(
    ("target", "cell", "category"),
    [
        ("ecp5", "MULT18X18D", "dsp"),
        ("ecp5", "DP16KD", "ram"),
        ("ecp5", "TRELLIS_DPR16X4", "lutram"),
        ("ice40", "SB_DFFESR", "ff"),
        ("ice40", "SB_RAM40_4KNR", "ram"),
        ("xilinx", "LUT6", "lut"),
        ("xilinx", "FDCE", "ff"),
        ("xilinx", "RAMB36E1", "ram"),
        ("generic", "$_SDFFE_PP0P_", "ff"),
        ("generic", "$_XOR_", "lut"),
        ("generic", "$_MUX_", "mux"),
        ("ecp5", "EHXPLLL", "other"),
        ("ecp5", "$scopeinfo", None),
    ],
)
def test_classify_cell(target, cell, category):
    assert classify_cell(target, cell) == category


def test_bad_inputs_named():
    with pytest.raises(
        ValueError, match=r"^target must be one of ecp5, ice40, xilinx, generic, not 'vivado'$"
    ):
        classify_cell("vivado", "LUT4")
    with pytest.raises(
        ValueError, match=r"^stat must have 'design' and 'modules' keys, not \['x'\]$"
    ):
        parse_stat({"x": 1}, "ecp5")
    with pytest.raises(ValueError, match=r"^device must be one of .*, not 'ecp5-12k'$"):
        check_fit({}, "ecp5-12k")
    with pytest.raises(ValueError, match=r"^freq_mhz must be a positive number, not -5$"):
        place_and_route("x.json", device="ecp5-85k", freq_mhz=-5, workdir=".")


def test_check_fit():
    small = parse_stat(DATA / "yosys_stat_ecp5.json", "ecp5")
    assert check_fit(small, "ecp5-85k") is None
    assert check_fit(dict(small, dsp=157), "ecp5-85k") == "needs 157 DSP > 156 on ecp5-85k"
    assert check_fit(dict(small, dsp=29), "ecp5-25k") == "needs 29 DSP > 28 on ecp5-25k"
    ice = parse_stat(DATA / "yosys_stat_ice40.json", "ice40")
    assert check_fit(ice, "ice40-hx8k") == "needs 2 DSP > 0 on ice40-hx8k"
    # 51 port bits + clk + rst do not fit the 39 pins of the up5k sg48 (no out-of-context mode)
    assert re.match(r"^needs 53 pins .* > 39 on ice40-up5k", check_fit(ice, "ice40-up5k"))


def test_yosys_script_per_target():
    assert "synth_ice40 -dsp -top t -json n.json" in yosys_script(
        "ice40", "d.v", "t", "s.json", "n.json"
    )
    assert "synth_xilinx -family xc7 -noiopad -flatten -top t" in yosys_script(
        "xilinx", "d.v", "t", "s.json", None
    )
    assert "tee -q -o s.json stat -json" in yosys_script("generic", "d.v", "t", "s.json", None)
    assert "-noflatten" in yosys_script("ecp5", "d.v", "t", "s.json", None, hierarchy=True)


def test_tiny_design_synthesis_and_pnr(tmp_path):
    """Real Yosys and nextpnr runs on the 2-PE design (a few seconds)."""
    r = synthesize(DATA / "tiny_mac.v", target="ecp5", top="top", workdir=tmp_path, netlist=True)
    saved = parse_stat(DATA / "yosys_stat_ecp5.json", "ecp5")
    assert {k: r[k] for k in ("dsp", "ff", "carry")} == {
        k: saved[k] for k in ("dsp", "ff", "carry")
    }
    assert (tmp_path / "yosys.log").exists() and Path(r["netlist"]).exists()
    p = place_and_route(r["netlist"], device="ecp5-85k", freq_mhz=50, workdir=tmp_path)
    assert p["fmax_mhz"] > 0 and p["clocks"]["clk"]["constraint"] == 50
    assert p["utilization"]["MULT18X18D"]["used"] == N_PE


def test_tool_failure_reports_error_line(tmp_path):
    bad = tmp_path / "bad.v"
    bad.write_text("module top(input a); wire; endmodule\n")
    with pytest.raises(
        ToolError,
        match=r"^yosys \(generic\) exited with 1: bad\.v:1: ERROR: .*\(log .*yosys\.log\)$",
    ):
        synthesize(bad, target="generic", top="top", workdir=tmp_path / "w")
