# amaranth: UnusedElaboratable=no
"""OutFifo: order, no loss or duplication under random writes and reads, latency, full rate."""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator

from hw.out_fifo import OUT_FIFO_LATENCY, OutFifo


def _run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("width, depth", [(0, 4), (True, 4), (8, 2), (8, 6), (8, 4.0)])
def test_init_rejects(width, depth):
    bad = "width" if not isinstance(width, int) or isinstance(width, bool) or width < 1 else "depth"
    with pytest.raises(ValueError, match=rf"^{bad} must be "):
        OutFifo(width, depth)


@pytest.mark.parametrize("depth, seed", [(4, 0), (4, 1), (8, 2), (16, 3)])
def test_random_traffic_keeps_order(depth, seed):
    """Writes whenever level + 3 <= depth (as qmac_top does) and reads at random."""
    rng = random.Random(seed)
    dut = OutFifo(width=12, depth=depth)
    sent, got = [], []

    async def bench(ctx):
        counter = 0
        for _ in range(600):
            level = ctx.get(dut.level)
            assert level == len(sent) - len(got) <= depth - 1
            write = level + 3 <= depth and rng.random() < 0.7
            read = rng.random() < 0.6
            ctx.set(dut.w_en, write)
            ctx.set(dut.w_data, counter & 0xFFF)
            ctx.set(dut.r_en, read)
            if read and ctx.get(dut.r_rdy):
                got.append(ctx.get(dut.r_data))
            if write:
                sent.append(counter & 0xFFF)
                counter += 1
            await ctx.tick()
        ctx.set(dut.w_en, 0)
        ctx.set(dut.r_en, 1)
        for _ in range(depth + 8):
            if ctx.get(dut.r_rdy):
                got.append(ctx.get(dut.r_data))
            await ctx.tick()
        assert ctx.get(dut.level) == 0

    _run(dut, bench)
    assert len(sent) > 100
    assert got == sent


def test_latency_and_full_rate():
    dut = OutFifo(width=8, depth=8)
    seen = []

    async def bench(ctx):
        ctx.set(dut.r_en, 1)
        for cycle in range(40):
            ctx.set(dut.w_en, cycle < 20)
            ctx.set(dut.w_data, cycle)
            if ctx.get(dut.r_rdy):
                seen.append((cycle, ctx.get(dut.r_data)))
            await ctx.tick()

    _run(dut, bench)
    # The word written on cycle c is on r_data on cycle c + latency, one word every cycle.
    assert seen == [(c + OUT_FIFO_LATENCY, c) for c in range(20)]
