"""cocotb test: two implementations of one unit, driven alike, must agree on every cycle.

Not collected by pytest (no ``test_`` prefix); ``tests/hw/test_dsp.py`` builds the model. The
top level ``equiv`` feeds the same inputs to the generic-target and the ECP5-target Verilog of the
unit and exposes their outputs as ``g_<name>`` and ``e_<name>``. Environment:

- ``EQUIV_INPUTS``: JSON list of ``[name, width]`` of the unit's inputs (``en`` among them);
- ``EQUIV_OUTPUTS``: JSON list of output names;
- ``EQUIV_CYCLES``: cycles to run; ``EQUIV_STALL``: probability of ``en`` low in a cycle.
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge


@cocotb.test()
async def outputs_agree(dut):
    inputs = json.loads(os.environ["EQUIV_INPUTS"])
    outputs = json.loads(os.environ["EQUIV_OUTPUTS"])
    cycles = int(os.environ.get("EQUIV_CYCLES", "400"))
    stall = float(os.environ.get("EQUIV_STALL", "0.3"))
    rng = random.Random(int(os.environ.get("EQUIV_SEED", "1")))
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    changes = {name: 0 for name in outputs}
    last = {}
    stalls = 0
    for t in range(cycles):
        await FallingEdge(dut.clk)
        for name, width in inputs:
            if name == "en":
                value = int(rng.random() >= stall)
                stalls += 1 - value
            else:
                value = rng.getrandbits(width)
            getattr(dut, name).value = value
        await RisingEdge(dut.clk)
        await ReadOnly()
        for name in outputs:
            g = getattr(dut, f"g_{name}").value
            e = getattr(dut, f"e_{name}").value
            assert g == e, f"cycle {t}: {name} generic {g} != ecp5 {e}"
            if name in last and int(g) != last[name]:
                changes[name] += 1
            last[name] = int(g)
    # The comparison is only meaningful if the outputs actually move and stalls happened.
    assert all(n > cycles // 20 for n in changes.values()), f"outputs barely change: {changes}"
    assert stall == 0 or stalls > 0
