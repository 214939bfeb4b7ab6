# amaranth: UnusedElaboratable=no
"""Skew: lane i delayed by i (or lanes - 1 - i) cycles."""

from __future__ import annotations

import pytest
from amaranth.hdl import signed
from amaranth.lib import data
from amaranth.sim import Simulator

from hw.skew import Skew


def test_init_wrong_lanes():
    with pytest.raises(TypeError, match=r"^lanes must be an integer, not 2\.0$"):
        Skew(2.0, 8)
    with pytest.raises(ValueError, match=r"^lanes must be at least 1, not 0$"):
        Skew(0, 8)


def test_init_wrong_shape():
    with pytest.raises(TypeError, match=r"^shape must be a shape-castable object, not 'x'$"):
        Skew(2, "x")


@pytest.mark.parametrize("reverse", [False, True])
def test_delays(reverse):
    lanes = 4
    dut = Skew(lanes, signed(8), reverse=reverse)
    assert dut.latency == 3
    assert [dut.delay(i) for i in range(lanes)] == ([3, 2, 1, 0] if reverse else [0, 1, 2, 3])
    inputs = [[(10 * t + i) % 128 - 64 for i in range(lanes)] for t in range(12)]
    seen = []

    async def bench(ctx):
        for t in range(12):
            ctx.set(dut.i_data, inputs[t])
            # Outputs are sampled in the same cycle (lane with delay 0 is a wire).
            seen.append([ctx.get(dut.o_data[i]) for i in range(lanes)])
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    for t in range(lanes, 12):
        for i in range(lanes):
            assert seen[t][i] == inputs[t - dut.delay(i)][i], f"cycle {t} lane {i}"


def test_struct_lanes():
    layout = data.StructLayout({"v": signed(5), "flag": 1})
    dut = Skew(2, layout)
    out = []

    async def bench(ctx):
        for t in range(4):
            ctx.set(dut.i_data[0], {"v": -t, "flag": t & 1})
            ctx.set(dut.i_data[1], {"v": t, "flag": (t + 1) & 1})
            await ctx.tick()
            out.append((ctx.get(dut.o_data[1].v), ctx.get(dut.o_data[1].flag)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    # After tick t, lane 1 shows the value set in cycle t (it was registered once).
    assert out == [(t, (t + 1) & 1) for t in range(4)]
