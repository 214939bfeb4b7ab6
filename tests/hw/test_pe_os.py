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


def test_cap_lasts_one_cycle_and_gaps_are_discarded():
    """``res`` holds a finished fold while ``cap`` is high; products between folds (operands
    without flags) do not leak into the next fold."""
    cfg = ArrayConfig(pe_pipeline=1)
    dut = OSPE(cfg)
    # fold (3, -4), (5, 6); three garbage cycles; fold (-7, 2); then garbage.
    stream = [(3, -4, 1, 0), (5, 6, 0, 1), (100, 100, 0, 0), (-99, 50, 0, 0), (1, 1, 0, 0),
              (-7, 2, 1, 1)] + [(55, -55, 0, 0)] * 6
    seen = []

    async def bench(ctx):
        for t, (x, y, first, last) in enumerate(stream):
            ctx.set(dut.a_in, x)
            ctx.set(dut.w_in, y)
            ctx.set(dut.first_in, first)
            ctx.set(dut.last_in, last)
            _, _, cap, res = await ctx.tick().sample(dut.cap, dut.res)
            seen.append((t, int(cap), int(res)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    caps = [(t, res) for t, cap, res in seen if cap]
    assert caps == [(1 + dut.acc_latency, 3 * -4 + 5 * 6), (5 + dut.acc_latency, -14)]
    # The garbage products pile up on the finished sum until the next fold restarts.
    assert seen[2 + dut.acc_latency][2] == 18 + 100 * 100


def test_acc_latency():
    assert [OSPE(ArrayConfig(pe_pipeline=p)).acc_latency for p in (0, 1, 2)] == [2, 3, 4]
