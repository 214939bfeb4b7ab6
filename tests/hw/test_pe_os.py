# amaranth: UnusedElaboratable=no
"""OSPE: accumulate folds back to back, capture, pass operands on, drain chain."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.config import ArrayConfig
from hw.pe_os import OSPE


def test_init_wrong_config():
    with pytest.raises(TypeError, match=r"^config must be an ArrayConfig, not None$"):
        OSPE(None)


@pytest.mark.parametrize("pipe", [0, 1, 2])
def test_folds_back_to_back(pipe):
    cfg = ArrayConfig(pe_pipeline=pipe)
    rng = np.random.default_rng(pipe)
    fold_lens = [3, 1, 5, 2]
    a = [rng.integers(-255, 256, size=n) for n in fold_lens]
    w = [rng.integers(-128, 128, size=n) for n in fold_lens]
    stream = [
        (int(x), int(y), int(i == 0), int(i == len(xs) - 1))
        for xs, ws in zip(a, w, strict=True)
        for i, (x, y) in enumerate(zip(xs, ws, strict=True))
    ]
    dut = OSPE(cfg)
    caps = []
    passed = []

    async def bench(ctx):
        for t in range(len(stream) + dut.acc_latency + 2):
            x, y, first, last = stream[t] if t < len(stream) else (7, 7, 0, 0)
            ctx.set(dut.a_in, x)
            ctx.set(dut.w_in, y)
            ctx.set(dut.first_in, first)
            ctx.set(dut.last_in, last)
            _, _, cap, res, a_out, w_out, f_out, l_out = await ctx.tick().sample(
                dut.cap, dut.res, dut.a_out, dut.w_out, dut.first_out, dut.last_out
            )
            if cap:
                caps.append((t, int(res)))
            passed.append((int(a_out), int(w_out), int(f_out), int(l_out)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    # Operands and flags leave one cycle after they entered.
    assert passed[1 : len(stream) + 1] == stream
    # Each fold's exact dot product appears acc_latency cycles after its last operands.
    ends = np.cumsum(fold_lens) - 1
    expect = [
        (int(e) + dut.acc_latency, int(np.dot(x, y))) for e, x, y in zip(ends, a, w, strict=True)
    ]
    assert caps == expect


def test_chain_load_and_shift():
    cfg = ArrayConfig(pe_pipeline=0)
    dut = OSPE(cfg)

    async def bench(ctx):
        # One-product fold: res = 3 * -4.
        ctx.set(dut.a_in, 3)
        ctx.set(dut.w_in, -4)
        ctx.set(dut.first_in, 1)
        ctx.set(dut.last_in, 1)
        await ctx.tick()
        ctx.set(dut.first_in, 0)
        ctx.set(dut.last_in, 0)
        await ctx.tick().repeat(dut.acc_latency - 1)
        assert ctx.get(dut.cap) == 1 and ctx.get(dut.res) == -12
        ctx.set(dut.chain_in, 99)
        ctx.set(dut.load, 1)
        await ctx.tick()
        assert ctx.get(dut.chain) == -12
        ctx.set(dut.load, 0)
        await ctx.tick()
        assert ctx.get(dut.chain) == 99

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
