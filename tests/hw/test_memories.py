# amaranth: UnusedElaboratable=no
"""hw.memories: every block memory of the top carries no_rw_check, and on ECP5 every block RAM
read of the whole top ends in the DP16KD output register (no bypass logic, no fabric register)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from amaranth.hdl import Fragment

from hw.config import ArrayConfig
from hw.emit import MODULE_NAME, generate_verilog
from hw.memories import unchecked_memory


def test_unchecked_memory_attribute():
    mem = unchecked_memory(shape=8, depth=16)
    Fragment.get(mem, None)
    assert mem.attrs == {"no_rw_check": 1}
    assert (mem.depth, mem.shape) == (16, 8)


@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_every_memory_of_the_top_is_unchecked(dataflow):
    cfg = ArrayConfig(rows=2, cols=2, dataflow=dataflow)
    text = generate_verilog(cfg)
    memories = re.findall(r"^\s*reg \[\d+:0\] (\S+) \[\d+:0\];", text, re.M)
    # a, w, p banks, partial sums, output FIFO (+ the "ws" engine's accumulator memory).
    assert len(memories) == (6 if dataflow == "ws" else 5)
    unchecked = re.findall(r"\(\* no_rw_check = 32'd1 \*\)\s*\n\s*reg \[\d+:0\] (\S+) \[", text)
    # The "ws" engine's accumulator memory reads through a transparent port (hw/engine_ws.py).
    assert set(unchecked) == {m for m in memories if "acc_mem" not in m}


def test_ecp5_top_reads_every_block_ram_through_its_output_register(tmp_path):
    from qmac.synth import synthesize

    cfg = ArrayConfig(rows=2, cols=2)
    path = tmp_path / "top.v"
    path.write_text(generate_verilog(cfg, target="ecp5"))
    result = synthesize(path, target="ecp5", top=MODULE_NAME, workdir=tmp_path, netlist=True)
    report = result["bram_outreg"]
    assert report["skipped"] == []
    net = json.loads(Path(result["netlist"]).read_text())
    blocks = [c for mod in net["modules"].values() for c in mod["cells"].values()
              if c["type"] == "DP16KD"]
    assert blocks and result["ram"] == len(blocks)
    assert report["ports_converted"] == len(blocks)  # one read port each
    assert all("OUTREG" in (c["parameters"]["REGMODE_A"], c["parameters"]["REGMODE_B"])
               for c in blocks)
