# amaranth: UnusedElaboratable=no
"""hw.dsp, hw.accumulate and the targets: the ECP5 path against the generic one, in Verilator,
under random stalls; the ECP5 netlist really uses the blocks' registers; generic is the default.

The ECP5 Verilog instantiates MULT18X18D, simulated with ``sim/models/MULT18X18D.v`` (Yosys
has no simulation model of the block), and CCU2C carry chains, simulated with Yosys's own ECP5
models (``share/ecp5``: CCU2C, LUT4, LUT2), both from :mod:`sim.cell_models` as the ECP5-target
builds of ``sim.runner`` use them; the generic Verilog infers ``*`` and ``+``. Both are
driven with the same random inputs and clock enable, and every output must agree on every cycle.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from amaranth.hdl import Const, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from hw.config import ArrayConfig
from hw.dsp import dsp_stage_names, registered_product
from hw.emit import generate_verilog, ports
from hw.mesh_os import OSMesh, min_drain_latency
from hw.mesh_ws import WSMesh
from hw.pe_os import OSPE
from hw.requant import Requant
from hw.target import ECP5, GENERIC, check_target, target_of
from sim.cell_models import target_models

HERE = Path(__file__).parent


class WithEnable(wiring.Component):
    """A unit built with ``en=`` (a constructor argument) exposed with ``en`` as an input port."""

    def __init__(self, make) -> None:
        self._en_inner = Signal()
        self._unit = make(self._en_inner)
        members = dict(self._unit.signature.members)
        super().__init__({**members, "en": In(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.unit = self._unit
        m.d.comb += self._en_inner.eq(self.en)
        for name, member in self._unit.signature.members.items():
            inner, outer = getattr(self._unit, name), getattr(self, name)
            m.d.comb += inner.eq(outer) if member.flow == In else outer.eq(inner)
        return m


UNITS = {
    "os_mesh_p0": (ArrayConfig(rows=3, cols=2, pe_pipeline=0),
                   lambda cfg, en: OSMesh(cfg, en=en)),
    "os_mesh_p1": (ArrayConfig(rows=3, cols=2, pe_pipeline=1),
                   lambda cfg, en: OSMesh(cfg, en=en)),
    "os_mesh_p2": (ArrayConfig(rows=2, cols=2, pe_pipeline=2),
                   lambda cfg, en: OSMesh(cfg, en=en)),
    "ws_mesh_p1": (ArrayConfig(rows=3, cols=2, pe_pipeline=1, dataflow="ws"),
                   lambda cfg, en: WSMesh(cfg, en=en)),
    "ws_mesh_p0": (ArrayConfig(rows=2, cols=2, pe_pipeline=0, dataflow="ws"),
                   lambda cfg, en: WSMesh(cfg, en=en)),
    "requant_m32": (ArrayConfig(), lambda cfg, en: Requant(cfg, en=en)),
    "requant_a48": (ArrayConfig(a_bits=16, w_bits=16, acc_bits=48, mult_bits=31, out_bits=16),
                    lambda cfg, en: Requant(cfg, en=en)),
}


def _equiv_top(cfg: ArrayConfig, make) -> tuple[str, list, list]:
    """Verilog of ``equiv``: the unit for both targets side by side, plus the port lists."""
    texts = {}
    for tag, target in (("g", "generic"), ("e", "ecp5")):
        unit = WithEnable(lambda en: make(cfg, en))
        texts[tag] = generate_verilog(cfg, unit, name=f"dut_{tag}", target=target)
        plist = ports(cfg, unit)
    ins = [p for p in plist if p["direction"] == "in" and p["name"] not in ("clk", "rst")]
    outs = [p for p in plist if p["direction"] == "out"]
    decl = ["input clk", "input rst"]
    decl += [f"input [{p['width'] - 1}:0] {p['name']}" for p in ins]
    decl += [f"output [{p['width'] - 1}:0] {t}_{p['name']}" for p in outs for t in "ge"]
    inst = []
    for t in "ge":
        conns = [".clk(clk)", ".rst(rst)"] + [f".{p['name']}({p['name']})" for p in ins]
        conns += [f".{p['name']}({t}_{p['name']})" for p in outs]
        inst.append(f"  dut_{t} u_{t} ({', '.join(conns)});")
    top = "module equiv(" + ", ".join(d.split()[-1] for d in decl) + ");\n"
    top += "".join(f"  {d};\n" for d in decl) + "\n".join(inst) + "\nendmodule\n"
    models = [text for _, text in target_models("ecp5")]
    text = "\n".join([*models, texts["g"], texts["e"], top])
    return text, [[p["name"], p["width"]] for p in ins], [p["name"] for p in outs]


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_ecp5_equals_generic_under_stalls(unit, tmp_path):
    from sim.runner import build_verilog, run_cocotb

    cfg, make = UNITS[unit]
    text, ins, outs = _equiv_top(cfg, make)
    assert "MULT18X18D #(" in text and text.count("MULT18X18D #(") >= 2
    info = build_verilog(text, "equiv")
    env = {"EQUIV_INPUTS": json.dumps(ins), "EQUIV_OUTPUTS": json.dumps(outs),
           "EQUIV_CYCLES": "600", "EQUIV_STALL": "0.3"}
    run = run_cocotb(info, "cocotb_equiv", module_dir=HERE, test_dir=tmp_path / "run",
                     extra_env=env, log_file=tmp_path / "sim.log")
    assert (run.tests, run.failed) == (1, 0), run.messages


@pytest.mark.parametrize(("old", "new"), [
    ("wire [35:0] p = clocked(REG_OUTPUT_CLK) ? out_q : pipe_s;", "wire [35:0] p = pipe_s;"),
    ("end else if (ce[index(REG_INPUTA_CE)]) begin", "end else begin"),
], ids=["no_output_register", "input_register_ignores_ce"])
def test_a_wrong_ecp5_model_is_caught(old, new, tmp_path):
    """The comparison can fail: a block without its output register, or one that does not stall,
    gives different outputs."""
    from sim.runner import build_verilog, run_cocotb

    cfg, make = UNITS["os_mesh_p1"]
    text, ins, outs = _equiv_top(cfg, make)
    broken = text.replace(old, new)
    assert broken != text
    info = build_verilog(broken, "equiv")
    env = {"EQUIV_INPUTS": json.dumps(ins), "EQUIV_OUTPUTS": json.dumps(outs),
           "EQUIV_CYCLES": "200"}
    run = run_cocotb(info, "cocotb_equiv", module_dir=HERE, test_dir=tmp_path / "run",
                     extra_env=env, log_file=tmp_path / "sim.log")
    assert (run.tests, run.failed) == (1, 1)
    assert "!= ecp5" in run.messages[0]


# ---- the netlist ------------------------------------------------------------------------------
def _mult_cells(netlist: Path) -> list[dict]:
    data = json.loads(netlist.read_text())
    return [c for mod in data["modules"].values() for c in mod["cells"].values()
            if c["type"] == "MULT18X18D"]


@pytest.mark.parametrize("pipe", [0, 1, 2])
def test_ecp5_netlist_uses_dsp_registers(pipe, tmp_path):
    """synth_ecp5 keeps the blocks' own registers (REG_* parameters set in the JSON netlist) and
    the product registers the generic netlist has in the fabric are gone from it."""
    from qmac.synth import synthesize

    cfg = ArrayConfig(rows=2, cols=2, pe_pipeline=pipe)
    stats = {}
    for target in ("generic", "ecp5"):
        unit = WithEnable(lambda en: OSMesh(cfg, en=en, drain_latency=min_drain_latency(cfg)))
        path = tmp_path / f"mesh_{target}.v"
        path.write_text(generate_verilog(cfg, unit, name="mesh", target=target))
        stats[target] = synthesize(path, target="ecp5", top="mesh", workdir=tmp_path / target,
                                   netlist=True)
    cells = _mult_cells(Path(stats["ecp5"]["netlist"]))
    assert len(cells) == stats["ecp5"]["dsp"] == stats["generic"]["dsp"] == 4  # one per PE
    expected = set(dsp_stage_names(pipe + 1))
    for cell in cells:
        params = cell["parameters"]
        used = {name for name in ("REG_INPUT", "REG_PIPELINE", "REG_OUTPUT")
                if params.get(f"{name}A_CLK" if name == "REG_INPUT" else f"{name}_CLK") == "CLK0"}
        assert used == expected
        assert params["REG_INPUTA_CLK"] == params["REG_INPUTB_CLK"] == "CLK0"
        assert cell["connections"]["CE0"] != cell["connections"]["CLK0"]
    # Where the block's output register is the last stage, the accumulator's upper bits come from
    # the block's own sign-extended pins, not all from the product's sign pin.
    data = json.loads(Path(stats["ecp5"]["netlist"]).read_text())
    readers: dict = {}
    for mod in data["modules"].values():
        for c in mod["cells"].values():
            for port, bits in c["connections"].items():
                if c.get("port_directions", {}).get(port) == "input":
                    for bit in bits:
                        readers[bit] = readers.get(bit, 0) + 1
    wide = cfg.acc_bits if pipe < 2 else cfg.product_bits  # pipe 2: a fabric stage after it
    for cell in cells:
        read = {k for k in range(36) if readers.get(cell["connections"][f"P{k}"][0])}
        assert read == set(range(wide))
    for cell in _mult_cells(Path(stats["generic"]["netlist"])):  # inferred: no block registers
        assert all(v == "NONE" for k, v in cell["parameters"].items() if k.endswith("_CLK"))
    # Generic: operand registers and pipe product registers in the fabric (an operand register
    # merges with the PE's pass-through register where the neighbour uses that, i.e. except in
    # the right column for activations and the bottom row for weights); ECP5: the blocks hold
    # the operand registers and one product register, a third stage is in the fabric.
    edge = cfg.rows * cfg.diff_bits + cfg.cols * cfg.w_bits
    in_block_products = min(pipe, 1)
    assert stats["generic"]["ff"] - stats["ecp5"]["ff"] == \
        4 * in_block_products * cfg.product_bits + edge
    # The restart of the accumulator is a LUT per bit when inferred, none in the carry chain.
    assert stats["generic"]["lut"] - stats["ecp5"]["lut"] >= 4 * cfg.acc_bits
    assert stats["ecp5"]["carry"] == stats["generic"]["carry"] == 4 * cfg.acc_bits // 2


def test_generic_netlist_has_no_instance(tmp_path):
    cfg = ArrayConfig(rows=2, cols=2)
    text = generate_verilog(cfg, OSMesh(cfg), name="mesh")
    assert "MULT18X18D" not in text and re.search(r"\*", text)


def test_generic_is_the_default_target():
    cfg = ArrayConfig(rows=2, cols=2)
    assert generate_verilog(cfg) == generate_verilog(cfg, target="generic")
    assert generate_verilog(cfg) == generate_verilog(cfg, target=GENERIC)
    assert "MULT18X18D" not in generate_verilog(cfg)


# ---- selection and checks ---------------------------------------------------------------------
def test_target_of():
    class Lattice:
        family = "ecp5"

    assert target_of(None) is GENERIC and target_of(ECP5) is ECP5
    assert target_of(Lattice()) is ECP5 and target_of(object()) is GENERIC
    assert check_target("ecp5") is ECP5
    with pytest.raises(ValueError, match=r"^target must be one of generic, ecp5, not 'xc7'$"):
        check_target("xc7")


def test_ecp5_requires_the_stall_enable():
    cfg = ArrayConfig(rows=2, cols=2)
    for unit in (OSMesh(cfg), WSMesh(cfg.replace(dataflow="ws")), Requant(cfg)):
        with pytest.raises(ValueError, match=r"on the ecp5 target needs its clock enable"):
            generate_verilog(cfg, unit, name="u", target="ecp5")
    # Never-stalled units say so explicitly.
    assert "MULT18X18D" in generate_verilog(cfg, OSMesh(cfg, en=Const(1)), name="u", target="ecp5")


def test_enable_must_be_one_bit():
    with pytest.raises(TypeError, match=r"^en must be a 1-bit Amaranth Value or None, not 1$"):
        OSMesh(ArrayConfig(), en=1)
    with pytest.raises(TypeError, match=r"^en must be a 1-bit Amaranth Value or None"):
        Requant(ArrayConfig(), en=Signal(2))


def test_registered_product_checks():
    m = Module()
    a, b = Signal(signed(19)), Signal(signed(8))
    with pytest.raises(ValueError, match=r"^operand a must be at most 18 bits, not 19$"):
        registered_product(m, a, b, stages=1, en=Const(1), target=GENERIC, name="x")
    with pytest.raises(TypeError, match=r"^operand b must be a signed Value"):
        registered_product(m, b, Signal(8), stages=1, en=Const(1), target=GENERIC, name="x")
    with pytest.raises(ValueError, match=r"^stages must be an integer >= 1, not 0$"):
        registered_product(m, b, b, stages=0, en=Const(1), target=GENERIC, name="x")
    with pytest.raises(ValueError, match=r"^out_bits must be an int >= 16, not 15$"):
        registered_product(m, b, b, stages=1, en=Const(1), target=GENERIC, name="x", out_bits=15)
    wide = registered_product(m, b, b, stages=1, en=Const(1), target=GENERIC, name="y",
                              out_bits=40)
    assert wide.shape() == signed(40)


def test_pe_port_en_reaches_the_block():
    text = generate_verilog(ArrayConfig(), OSPE(ArrayConfig()), name="pe", target="ecp5")
    assert re.search(r"\.CE0\(en\)", text)
