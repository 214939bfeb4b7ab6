# amaranth: UnusedElaboratable=no
"""OSSequencer: the word order, fold flags, masks and fold tags of output-stationary jobs."""

from __future__ import annotations

import pytest
from amaranth.hdl import Elaboratable, Module
from amaranth.sim import Simulator

from hw.config import ArrayConfig
from hw.sequencer_os import OSSequencer, job_plan


class _Planned(Elaboratable):
    """The sequencer with its ``job_plan`` computed from its ``job_*`` inputs, as the top does."""

    def __init__(self, dut: OSSequencer, cfg: ArrayConfig) -> None:
        self.dut, self.cfg = dut, cfg

    def elaborate(self, platform):
        m = Module()
        m.submodules.seq = d = self.dut
        fields = {"m": d.job_m, "k": d.job_k, "n": d.job_n}
        m.d.comb += [d.job_plan[n].eq(f(fields)) for n, (_, f) in job_plan(self.cfg).items()]
        return m


def model(cfg: ArrayConfig, m: int, k: int, n: int, bank: int) -> list[dict]:
    """Every word of a job in issue order (nb outer, mb inner, k innermost), independently."""
    words = []
    mbs, nbs = -(-m // cfg.rows), -(-n // cfg.cols)
    for nb in range(nbs):
        for mb in range(mbs):
            rows_in = min(cfg.rows, m - mb * cfg.rows)
            lanes = sum(1 << j for j in range(cfg.cols) if nb * cfg.cols + j < n)
            for kk in range(k):
                words.append(dict(
                    a_addr=bank * cfg.a_buf_depth + mb * k + kk,
                    w_addr=bank * cfg.w_buf_depth + nb * k + kk,
                    first=int(kk == 0),
                    last=int(kk == k - 1),
                    row_mask=(1 << rows_in) - 1,
                    col_mask=lanes,
                    fold=(nb, int(nb == nbs - 1 and mb == mbs - 1), rows_in, lanes)
                    if kk == k - 1 else None,
                ))
    return words


def run(cfg: ArrayConfig, jobs: list[tuple]) -> tuple[list[dict], list[int], list[int]]:
    """Run jobs (m, k, n, x_zp) back to back; return issued words, issue cycles, released cycles."""
    dut = OSSequencer(cfg)
    assert len(jobs) <= 2
    zero_points = [zp for _, _, _, zp in jobs]
    words, cycles, released = [], [], []
    total = sum(-(-m // cfg.rows) * -(-n // cfg.cols) * k for m, k, n, _ in jobs)

    async def driver(ctx):
        for bank, (m, k, n, zp) in enumerate(jobs):
            for name, value in (("m", m), ("k", k), ("n", n), ("x_zp", zp)):
                ctx.set(getattr(dut, f"job_{name}"), value)
            ctx.set(dut.job_bank, bank % 2)
            ctx.set(dut.start, 1)
            await ctx.tick().until(dut.idle)
            ctx.set(dut.start, 0)

    async def monitor(ctx):
        cycle = 0
        predicted = None  # the *_next of the previous cycle (the sequencer is never stalled here)
        while len(words) < total:
            await ctx.delay(1e-9)  # after the driver's settings of this cycle
            now = (ctx.get(dut.issue), ctx.get(dut.a_addr), ctx.get(dut.w_addr))
            assert cycle == 0 or now == predicted, f"*_next mispredicted cycle {cycle}"
            predicted = (ctx.get(dut.issue_next), ctx.get(dut.a_addr_next),
                         ctx.get(dut.w_addr_next))
            if ctx.get(dut.issue):
                fold = None
                if ctx.get(dut.fold.valid):
                    f = dut.fold
                    fold = (ctx.get(f.nb), ctx.get(f.last), ctx.get(f.nrows), ctx.get(f.lanes))
                    assert ctx.get(f.bank) == ctx.get(dut.a_addr) // cfg.a_buf_depth
                bank = ctx.get(dut.a_addr) // cfg.a_buf_depth
                assert ctx.get(dut.x_zp) == zero_points[bank]
                words.append(dict(
                    a_addr=ctx.get(dut.a_addr),
                    w_addr=ctx.get(dut.w_addr),
                    first=ctx.get(dut.first),
                    last=ctx.get(dut.last),
                    row_mask=ctx.get(dut.row_mask),
                    col_mask=ctx.get(dut.col_mask),
                    fold=fold,
                ))
                cycles.append(cycle)
            if ctx.get(dut.released):
                released.append(cycle)
            await ctx.tick()
            cycle += 1
            assert cycle < 5000, "sequencer hung"

    sim = Simulator(_Planned(dut, cfg))
    sim.add_clock(1e-8)
    sim.add_testbench(driver)
    sim.add_testbench(monitor)
    sim.run()
    return words, cycles, released


def test_init_wrong_config():
    with pytest.raises(TypeError, match=r"^config must be an ArrayConfig, not None$"):
        OSSequencer(None)


@pytest.mark.parametrize(
    "rows, cols, m, k, n",
    [(2, 2, 3, 5, 3), (4, 2, 9, 2, 5), (3, 3, 3, 3, 3), (2, 4, 1, 1, 1), (4, 4, 5, 7, 9),
     (1, 3, 2, 1, 4), (1, 2, 3, 2, 2), (1, 1, 1, 1, 1), (3, 2, 7, 1, 5)],
)
def test_words_flags_and_tags_follow_the_model(rows, cols, m, k, n):
    cfg = ArrayConfig(rows=rows, cols=cols, a_buf_depth=64, w_buf_depth=64)
    words, cycles, released = run(cfg, [(m, k, n, -3)])
    assert words == model(cfg, m, k, n, 0)
    # Folds start every fold period max(K, rows): words within a fold are consecutive cycles.
    starts = [c for c, w in zip(cycles, words, strict=True) if w["first"]]
    assert all(b - a == max(k, rows) for a, b in zip(starts, starts[1:], strict=False))
    assert all(b - a == 1 for a, b, w in zip(cycles, cycles[1:], words, strict=False)
               if not w["last"])
    assert released == [cycles[-1]]


def test_two_jobs_use_their_banks_and_follow_without_a_bubble():
    cfg = ArrayConfig(rows=2, cols=2, a_buf_depth=32, w_buf_depth=32)
    jobs = [(3, 4, 3, 1), (2, 5, 4, -2)]
    words, cycles, released = run(cfg, jobs)
    assert words == model(cfg, *jobs[0][:3], 0) + model(cfg, *jobs[1][:3], 1)
    assert cycles == list(range(cycles[0], cycles[0] + len(cycles)))  # K >= rows: no bubble
    assert len(released) == 2


def test_short_k_waits_for_the_drain_chains():
    cfg = ArrayConfig(rows=4, cols=2, a_buf_depth=32, w_buf_depth=32)
    jobs = [(4, 6, 2, 0), (4, 1, 2, 0)]  # K = 1 after K = 6: last words >= rows cycles apart
    words, cycles, _ = run(cfg, jobs)
    ends = [c for c, w in zip(cycles, words, strict=True) if w["last"]]
    assert all(b - a >= cfg.rows for a, b in zip(ends, ends[1:], strict=False))
