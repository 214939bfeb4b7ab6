# amaranth: UnusedElaboratable=no
"""qmac.synth honours ``keep`` on registers: twin registers stay two, so per-unit copies of a shared
value (a requantizer's zero point and clamp bounds) are not merged into one driving all units."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from amaranth.back import verilog
from amaranth.hdl import Const, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig
from hw.requant import Requant
from qmac.synth import synthesize
from qmac.synth.yosys import KEEP_REGISTERS, yosys_script


class Twins(wiring.Component):
    """Two registers of the same input, kept or not, XORed (nonzero only if they differ)."""

    def __init__(self, keep: bool) -> None:
        self._keep = keep
        super().__init__({"a": In(8), "o": Out(8)})

    def elaborate(self, platform):
        m = Module()
        attrs = {"keep": 1} if self._keep else {}
        r1, r2 = Signal(8, attrs=attrs), Signal(8, attrs=attrs)
        m.d.sync += [r1.eq(self.a), r2.eq(self.a)]
        m.d.comb += self.o.eq(r1 ^ r2)
        return m


@pytest.mark.parametrize(("keep", "ff"), [(False, 0), (True, 16)])
def test_kept_registers_are_not_merged(keep, ff, tmp_path):
    path = tmp_path / "twins.v"
    path.write_text(verilog.convert(Twins(keep), name="twins", emit_src=False))
    assert synthesize(path, target="ecp5", top="twins", workdir=tmp_path / "w")["ff"] == ff


def test_script_marks_kept_registers_before_synthesis():
    script = yosys_script("ecp5", "d.v", "t", "s.json", None)
    assert script.index(KEEP_REGISTERS) < script.index("synth_ecp5")


class TwoUnits(wiring.Component):
    """Two requantizers fed the same zero point and clamp bounds (as the columns of an array)."""

    def __init__(self, cfg: ArrayConfig) -> None:
        self._cfg = cfg
        super().__init__({
            "acc": In(signed(cfg.acc_bits)), "zp": In(signed(cfg.out_bits)),
            "o0": Out(signed(cfg.out_bits)), "o1": Out(signed(cfg.out_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        for j in range(2):
            rq = Requant(cfg, en=Const(1))
            m.submodules[f"u{j}"] = rq
            m.d.comb += [
                rq.i_valid.eq(1), rq.i_acc.eq(self.acc + j), rq.i_bias.eq(j),
                rq.i_m0.eq(1 << (cfg.mult_bits - 2)), rq.i_shift.eq(-3 - j),
                rq.i_y_zp.eq(self.zp), rq.i_act_min.eq(-100), rq.i_act_max.eq(100),
                getattr(self, f"o{j}").eq(rq.o_data),
            ]
        return m


def test_requant_units_keep_their_own_zero_point(tmp_path):
    cfg = ArrayConfig(acc_bits=16, mult_bits=16, a_bits=4, w_bits=4, out_bits=8)
    path = tmp_path / "two.v"
    path.write_text(verilog.convert(TwoUnits(cfg), name="two", emit_src=False))
    r = synthesize(path, target="ecp5", top="two", workdir=tmp_path / "w", netlist=True)
    nets = json.loads(Path(r["netlist"]).read_text())["modules"]["two"]["netnames"]
    for name in ("zp_local", "act_min_local", "act_max_local"):
        bits = [tuple(nets[f"u{j}.{name}"]["bits"]) for j in range(2)]
        assert bits[0] != bits[1], name  # two registers, not one net driving both units
