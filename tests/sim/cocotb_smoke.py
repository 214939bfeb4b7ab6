"""cocotb test for the toolchain smoke test (not collected by pytest: no ``test_`` prefix).

Drives random operands into the registered adder of ``tests/sim/test_smoke.py`` and checks
``sum == a + b`` (mod 2^9) one cycle later. ``SMOKE_OFFSET`` adds a deliberate error to the
expected value, so the Python side can check that a wrong result does fail the run.
"""

import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge


@cocotb.test()
async def adder_sums(dut):
    offset = int(os.environ.get("SMOKE_OFFSET", "0"))
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    rng = random.Random(1)
    for _ in range(50):
        a, b = rng.randrange(256), rng.randrange(256)
        dut.a.value = a
        dut.b.value = b
        await RisingEdge(dut.clk)
        await ReadOnly()
        got = dut.s.value.to_unsigned()
        assert got == (a + b + offset) % 512, f"{a} + {b}: got {got}"
        await RisingEdge(dut.clk)
