"""PartialSums: the read-modify-write of K-split sums, against a dictionary model of its memory."""

from __future__ import annotations

import random

import pytest
from amaranth.hdl import EnableInserter, Module, Signal
from amaranth.sim import Simulator

from hw.config import ArrayConfig
from hw.psum import PSUM_LATENCY, PartialSums

CFG = ArrayConfig(rows=2, cols=3, acc_bits=20, a_bits=4, w_bits=4, out_bits=4, mult_bits=16,
                  psum_depth=8)


def test_init():
    dut = PartialSums(CFG)
    dut._MustUse__silence = True
    assert dut.latency == PSUM_LATENCY == 3
    names = set(dut.signature.members)
    assert {"i_valid", "i_acc", "i_cont", "i_hold", "o_valid", "o_acc", "o_void"} <= names


def test_init_wrong_config():
    with pytest.raises(TypeError, match=r"^config must be an ArrayConfig, not 4$"):
        PartialSums(4)


def _jobs(rng: random.Random, count: int) -> list[dict]:
    """Random job sequences: whole jobs and K-split chains of 2..4 jobs, 1..8 rows each."""
    jobs = []
    while len(jobs) < count:
        rows = rng.choice([1, 1, 2, 3, 8]) if rng.random() < 0.7 else rng.randint(1, 40)
        chain = 1 if rows > CFG.psum_depth or rng.random() < 0.3 else rng.randint(2, 4)
        for c in range(chain):
            jobs.append({"rows": rows, "cont": int(c > 0), "hold": int(c < chain - 1),
                         "bank": len(jobs) % 2})
    return jobs


def _model(jobs: list[dict], accs: list[list[list[int]]]) -> list[tuple]:
    """Rows out: (sum lanes, nb tag, bank, last, void), held sums carried across each chain."""
    lim = 1 << (CFG.acc_bits - 1)
    out, held = [], {}
    for job, rows in zip(jobs, accs, strict=True):
        for r, acc in enumerate(rows):
            total = [a + (held.get((r, j), 0) if job["cont"] else 0) for j, a in enumerate(acc)]
            assert all(-lim <= t < lim for t in total)
            last = int(r == len(rows) - 1)
            if job["hold"]:
                held.update({(r, j): t for j, t in enumerate(total)})
                if last:
                    out.append((None, r, job["bank"], 1, 1))
            else:
                out.append((total, r, job["bank"], last, 0))
    return out


@pytest.mark.parametrize("seed,stall", [(0, 0.0), (1, 0.0), (2, 0.3), (3, 0.6)])
def test_sums_against_model(seed, stall):
    """Rows on every cycle (rows of consecutive 1-row jobs hit the forwarding and transparent
    read), and random stalls of the whole stage (its enable) and gaps between rows."""
    rng = random.Random(seed)
    jobs = _jobs(rng, 60)
    lim = 1 << (CFG.acc_bits - 4)  # a chain of 4 never overflows acc_bits
    accs = [[[rng.randrange(-lim, lim) for _ in range(CFG.cols)] for _ in range(j["rows"])]
            for j in jobs]
    expect = _model(jobs, accs)
    stream = [(job, r, acc) for job, rows in zip(jobs, accs, strict=True)
              for r, acc in enumerate(rows)]

    run = Signal(init=1)
    dut = PartialSums(CFG)
    top = Module()
    top.submodules.dut = EnableInserter(run)(dut)
    got = []

    async def drive(ctx):
        for job, r, acc in stream:
            while True:
                enabled = rng.random() >= stall
                ctx.set(run, enabled)
                gap = rng.random() < stall / 2
                ctx.set(dut.i_valid, 0 if gap else 1)
                ctx.set(dut.i_acc, acc)
                ctx.set(dut.i_nb, r)  # a tag that travels with the row
                ctx.set(dut.i_bank, job["bank"])
                ctx.set(dut.i_last, int(r == job["rows"] - 1))
                ctx.set(dut.i_lanes, 0b101)
                ctx.set(dut.i_cont, job["cont"])
                ctx.set(dut.i_hold, job["hold"])
                await ctx.tick()
                if enabled and not gap:
                    break
        ctx.set(dut.i_valid, 0)
        ctx.set(run, 1)
        await ctx.tick().repeat(PSUM_LATENCY + 2)

    async def watch(ctx):
        async for _, _, valid, void, acc, nb, bank, last, lanes, enabled in ctx.tick().sample(
            dut.o_valid, dut.o_void, dut.o_acc, dut.o_nb, dut.o_bank, dut.o_last, dut.o_lanes, run
        ):
            # o_* are registers of the stage: a row is taken where the next stage would take it.
            if valid and enabled:
                lanes_out = None if void else [int(acc[j]) for j in range(CFG.cols)]
                got.append((lanes_out, int(nb), int(bank), int(last), int(void)))
                assert lanes == 0b101

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(drive)
    sim.add_process(watch)
    sim.run()
    assert len(got) == len(expect)
    for i, (g, e) in enumerate(zip(got, expect, strict=True)):
        assert g == e, f"row {i}: got {g}, expected {e}"
    assert sum(1 for e in expect if e[4]) > 10 and sum(j["cont"] for j in jobs) > 10
