# amaranth: UnusedElaboratable=no
"""WSSequencer: weight rows preloaded and activation words streamed per fold, with bookkeeping."""

from __future__ import annotations

import pytest
from amaranth.sim import Simulator

from hw.config import ArrayConfig
from hw.sequencer_ws import WSSequencer


def model(cfg: ArrayConfig, m: int, k: int, n: int, bank: int) -> tuple[list, list]:
    """Weight-row reads and activation reads of a job, fold by fold (nb outer, kb inner)."""
    R, C = cfg.rows, cfg.cols
    w_reads, a_reads = [], []
    kbs, nbs = -(-k // R), -(-n // C)
    for nb in range(nbs):
        lanes = sum(1 << j for j in range(C) if nb * C + j < n)
        for kb in range(kbs):
            for row in range(R):
                inside = kb * R + row < k
                w_reads.append(dict(
                    row=row,
                    en=int(inside),
                    addr=bank * cfg.w_buf_depth + nb * k + kb * R + row if inside else None,
                    lanes=lanes if inside else 0,
                ))
            for mm in range(m):
                a_reads.append(dict(
                    addr=bank * cfg.a_buf_depth + kb * m + mm,
                    switch=int(mm == 0),
                    m=mm,
                    nb=nb,
                    bank=bank,
                    kfirst=int(kb == 0),
                    klast=int(kb == kbs - 1),
                    last=int(nb == nbs - 1 and kb == kbs - 1 and mm == m - 1),
                    lanes=lanes,
                ))
    return w_reads, a_reads


def run(cfg: ArrayConfig, jobs: list[tuple]) -> tuple[list, list, list]:
    dut = WSSequencer(cfg)
    zero_points = [zp for _, _, _, zp in jobs]
    w_reads, a_reads, released = [], [], []
    total = sum(-(-n // cfg.cols) * -(-k // cfg.rows) * m for m, k, n, _ in jobs)

    async def driver(ctx):
        for bank, (m, k, n, zp) in enumerate(jobs):
            for name, value in (("m", m), ("k", k), ("n", n), ("x_zp", zp)):
                ctx.set(getattr(dut, f"job_{name}"), value)
            ctx.set(dut.job_bank, bank)
            ctx.set(dut.start, 1)
            await ctx.tick().until(dut.idle)
            ctx.set(dut.start, 0)

    async def monitor(ctx):
        cycle = 0
        while len(a_reads) < total or len(released) < len(jobs):
            await ctx.delay(1e-9)
            if ctx.get(dut.w_row_valid):
                en = ctx.get(dut.w_en)
                w_reads.append(dict(
                    row=ctx.get(dut.w_row),
                    en=en,
                    addr=ctx.get(dut.w_addr) if en else None,
                    lanes=ctx.get(dut.w_lanes),
                ))
            if ctx.get(dut.a_en):
                meta = dut.meta
                assert ctx.get(meta.valid)
                assert ctx.get(dut.x_zp) == zero_points[ctx.get(meta.bank)]
                a_reads.append(dict(
                    addr=ctx.get(dut.a_addr),
                    switch=ctx.get(dut.switch),
                    **{f: ctx.get(getattr(meta, f))
                       for f in ("m", "nb", "bank", "kfirst", "klast", "last", "lanes")},
                ))
            if ctx.get(dut.released):
                released.append(cycle)
            await ctx.tick()
            cycle += 1
            assert cycle < 5000, "sequencer hung"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(driver)
    sim.add_testbench(monitor)
    sim.run()
    return w_reads, a_reads, released


def test_init_wrong_config():
    with pytest.raises(TypeError, match=r"^config must be an ArrayConfig, not 'ws'$"):
        WSSequencer("ws")


@pytest.mark.parametrize(
    "rows, cols, m, k, n",
    [(2, 2, 3, 5, 3), (4, 2, 9, 2, 5), (3, 3, 3, 3, 3), (2, 4, 1, 1, 1), (4, 4, 5, 7, 9)],
)
def test_reads_and_bookkeeping_follow_the_model(rows, cols, m, k, n):
    cfg = ArrayConfig(rows=rows, cols=cols, dataflow="ws", a_buf_depth=64, w_buf_depth=64)
    w_reads, a_reads, released = run(cfg, [(m, k, n, 5)])
    want_w, want_a = model(cfg, m, k, n, 0)
    assert w_reads == want_w and a_reads == want_a
    assert len(released) == 1


def test_two_jobs_in_their_banks():
    cfg = ArrayConfig(rows=2, cols=2, dataflow="ws", a_buf_depth=32, w_buf_depth=32)
    jobs = [(3, 4, 3, 1), (2, 3, 4, -2)]
    w_reads, a_reads, released = run(cfg, jobs)
    w0, a0 = model(cfg, *jobs[0][:3], 0)
    w1, a1 = model(cfg, *jobs[1][:3], 1)
    assert w_reads == w0 + w1 and a_reads == a0 + a1
    assert len(released) == 2
