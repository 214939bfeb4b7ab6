# amaranth: UnusedElaboratable=no
"""JobSlots: command intake into alternating slots, load/start flags and release, in order."""

from __future__ import annotations

import pytest
from amaranth.sim import Simulator

from hw.command import command_fields
from hw.config import ArrayConfig
from hw.slots import STREAMS, JobSlots

CFG = ArrayConfig(rows=2, cols=2)


def _command(i: int) -> dict:
    return dict(m=10 + i, k=20 + i, n=30 + i, x_zp=-i, y_zp=i, act_min=-100 + i, act_max=100 - i,
                acc_cont=i % 2, acc_hold=(i // 2) % 2)


def _run(scenario):
    dut = JobSlots(CFG)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bench(ctx):
        await scenario(ctx, dut)

    sim.add_testbench(bench)
    sim.run()


async def _push(ctx, dut, i):
    """Offer command i; return the number of cycles until it was accepted."""
    for name, value in _command(i).items():
        ctx.set(dut.cmd[name], value)
    ctx.set(dut.cmd_valid, 1)
    waited = 0
    while not ctx.get(dut.cmd_ready):
        await ctx.tick()
        waited += 1
    await ctx.tick()
    ctx.set(dut.cmd_valid, 0)
    return waited


def _slot(ctx, dut, b):
    return {name: ctx.get(dut.slot[b][name]) for name in command_fields(CFG)}


def test_init_wrong_config():
    with pytest.raises(TypeError, match=r"^config must be an ArrayConfig, not 3$"):
        JobSlots(3)


def test_commands_fill_alternating_slots_and_release_in_order():
    async def scenario(ctx, dut):
        assert ctx.get(dut.cmd_ready) and ctx.get(dut.valid) == 0
        assert await _push(ctx, dut, 0) == 0
        assert await _push(ctx, dut, 1) == 0
        assert ctx.get(dut.valid) == 0b11 and not ctx.get(dut.cmd_ready)
        assert _slot(ctx, dut, 0) == _command(0) and _slot(ctx, dut, 1) == _command(1)
        # Loads complete out of order across streams and banks.
        ctx.set(dut.w_done, 1)
        ctx.set(dut.w_bank, 1)
        await ctx.tick()
        ctx.set(dut.w_done, 0)
        assert ctx.get(dut.w_loaded) == 0b10 and ctx.get(dut.a_loaded) == 0
        # The engine takes slot 0, then slot 1.
        for expected_ptr, started in ((0, 0b01), (1, 0b11)):
            assert ctx.get(dut.eng_ptr) == expected_ptr
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            assert ctx.get(dut.started) == started
        assert ctx.get(dut.eng_ptr) == 0
        # Release frees slot 0 only: flags cleared, a third command goes there.
        ctx.set(dut.release, 1)
        await ctx.tick()
        ctx.set(dut.release, 0)
        assert ctx.get(dut.valid) == 0b10 and ctx.get(dut.started) == 0b10
        assert ctx.get(dut.w_loaded) == 0b10 and ctx.get(dut.cmd_ready)
        assert await _push(ctx, dut, 2) == 0
        assert _slot(ctx, dut, 0) == _command(2) and _slot(ctx, dut, 1) == _command(1)
        assert not ctx.get(dut.cmd_ready)

    _run(scenario)


def test_full_slots_hold_the_command_until_release():
    async def scenario(ctx, dut):
        await _push(ctx, dut, 0)
        await _push(ctx, dut, 1)
        for name, value in _command(2).items():
            ctx.set(dut.cmd[name], value)
        ctx.set(dut.cmd_valid, 1)
        await ctx.tick().repeat(3)
        assert _slot(ctx, dut, 0) == _command(0)  # not overwritten while held
        ctx.set(dut.release, 1)  # frees slot 0 at the end of this cycle
        await ctx.tick()
        ctx.set(dut.release, 0)
        assert ctx.get(dut.valid) == 0b10 and ctx.get(dut.cmd_ready)  # taken on this cycle
        await ctx.tick()
        ctx.set(dut.cmd_valid, 0)
        assert ctx.get(dut.valid) == 0b11 and _slot(ctx, dut, 0) == _command(2)

    _run(scenario)


@pytest.mark.parametrize("stream", STREAMS)
def test_release_wins_over_a_load_on_the_same_cycle(stream):
    async def scenario(ctx, dut):
        await _push(ctx, dut, 0)
        ctx.set(getattr(dut, f"{stream}_done"), 1)
        ctx.set(getattr(dut, f"{stream}_bank"), 0)
        ctx.set(dut.release, 1)
        await ctx.tick()
        assert ctx.get(getattr(dut, f"{stream}_loaded")) == 0 and ctx.get(dut.valid) == 0

    _run(scenario)
