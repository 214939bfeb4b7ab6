# amaranth: UnusedElaboratable=no
"""OSEngine against golden.matmul_acc: buffers are Amaranth memories preloaded with job words."""

from __future__ import annotations

import random

import numpy as np
import pytest
from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator

from golden import matmul_acc
from hw.config import ArrayConfig
from hw.engine_os import OSEngine
from tests.hw.streams import os_a_words, w_words


class Harness(Elaboratable):
    """The engine stalled by ``run`` with its two buffers, as QmacTop wires them: the engine
    applies ``run`` itself (``back_lag``), and its rows are taken on ``res_en``, ``run`` delayed
    by ``back_lag`` cycles."""

    def __init__(self, cfg: ArrayConfig, a_init: list[int], w_init: list[int]) -> None:
        self.cfg = cfg
        self.run = Signal(init=1)
        self.res_en = Signal(init=1)
        self.engine = OSEngine(cfg, en=self.run)
        self.a_init, self.w_init = a_init, w_init

    def elaborate(self, platform):
        cfg, e = self.cfg, self.engine
        m = Module()
        m.submodules.engine = e
        res_en = self.run
        for _ in range(e.back_lag):
            res_en_d = Signal(init=1)
            m.d.sync += res_en_d.eq(res_en)
            res_en = res_en_d
        m.d.comb += self.res_en.eq(res_en)
        fields = {"m": e.job_m, "k": e.job_k, "n": e.job_n}
        m.d.comb += [e.job_plan[n].eq(v) for n, v in e.plan_values(fields).items()]
        a_mem = Memory(shape=cfg.rows * cfg.a_bits, depth=2 * cfg.a_buf_depth, init=self.a_init)
        w_mem = Memory(shape=cfg.cols * cfg.w_bits, depth=2 * cfg.w_buf_depth, init=self.w_init)
        m.submodules.a_mem, m.submodules.w_mem = a_mem, w_mem
        a_rd, w_rd = a_mem.read_port(), w_mem.read_port()
        m.d.comb += [
            a_rd.addr.eq(e.a_addr),
            a_rd.en.eq(e.a_en & self.run),
            e.a_data.eq(a_rd.data),
            w_rd.addr.eq(e.w_addr),
            w_rd.en.eq(e.w_en & self.run),
            e.w_data.eq(w_rd.data),
        ]
        return m


def make_job(cfg, m, k, n, rng):
    a = rng.integers(-(1 << (cfg.a_bits - 1)), 1 << (cfg.a_bits - 1), size=(m, k), dtype=np.int64)
    w = rng.integers(-(1 << (cfg.w_bits - 1)), 1 << (cfg.w_bits - 1), size=(k, n), dtype=np.int64)
    x_zp = int(rng.integers(-(1 << (cfg.a_bits - 1)), 1 << (cfg.a_bits - 1)))
    return a, w, x_zp


def run_engine(cfg, jobs, *, seed=0, stall=0.0, start_gap=0):
    """Run ``jobs`` [(a, w, x_zp)] back to back (bank = index mod 2, at most two preloaded)."""
    rng = np.random.default_rng(seed)
    a_init = [0] * (2 * cfg.a_buf_depth)
    w_init = [0] * (2 * cfg.w_buf_depth)
    assert len(jobs) <= 2
    for bank, (a, w, _) in enumerate(jobs):
        aw = os_a_words(a, cfg.rows, cfg.a_bits, rng)
        ww = w_words(w, cfg.cols, cfg.w_bits, rng)
        a_init[bank * cfg.a_buf_depth : bank * cfg.a_buf_depth + len(aw)] = aw
        w_init[bank * cfg.w_buf_depth : bank * cfg.w_buf_depth + len(ww)] = ww
    dut = Harness(cfg, a_init, w_init)
    e = dut.engine
    total_rows = sum(-(-w.shape[1] // cfg.cols) * a.shape[0] for a, w, _ in jobs)
    rows_out: list[tuple] = []
    events = {"start": [], "released": [], "engine": e}
    prng = random.Random(seed)

    async def driver(ctx):
        for bank, (a, w, x_zp) in enumerate(jobs):
            await ctx.tick().repeat(start_gap + 1)
            ctx.set(e.job_m, a.shape[0])
            ctx.set(e.job_k, a.shape[1])
            ctx.set(e.job_n, w.shape[1])
            ctx.set(e.job_x_zp, x_zp)
            ctx.set(e.job_bank, bank)
            ctx.set(e.start, 1)
            await ctx.tick().until(e.idle & dut.run)
            ctx.set(e.start, 0)

    async def staller(ctx):
        while True:
            ctx.set(dut.run, int(not (stall and prng.random() < stall)))
            await ctx.tick()

    async def monitor(ctx):
        cycle = 0
        while len(rows_out) < total_rows:
            _, _, run, res_en, valid, acc, nb, bank, last, lanes, rel, go = (
                await ctx.tick().sample(
                    dut.run,
                    dut.res_en,
                    e.res_valid,
                    e.res_acc,
                    e.res_nb,
                    e.res_bank,
                    e.res_last,
                    e.res_lanes,
                    e.released,
                    e.start & e.idle,
                )
            )
            if run and go:
                events["start"].append(cycle)
            if run and rel:
                events["released"].append(cycle)
            if res_en and valid:
                rows_out.append(
                    ([int(x) for x in acc], int(nb), int(bank), int(last), int(lanes), cycle)
                )
            cycle += 1  # number of the cycle that the next sample ends
            assert cycle < 20000, "engine hung"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(driver)
    sim.add_process(staller)
    sim.add_testbench(monitor)
    sim.run()
    return rows_out, events


def check_rows(cfg, jobs, rows_out):
    """Rows must come in order (job, nb, m) with the golden accumulators and correct tags."""
    i = 0
    for bank, (a, w, x_zp) in enumerate(jobs):
        m_dim, _ = a.shape
        n_dim = w.shape[1]
        ref = matmul_acc(
            a, w, None, x_zp=x_zp, a_bits=cfg.a_bits, w_bits=cfg.w_bits, acc_bits=cfg.acc_bits
        )
        nblocks = -(-n_dim // cfg.cols)
        for nb in range(nblocks):
            for mm in range(m_dim):
                acc, r_nb, r_bank, r_last, r_lanes, _ = rows_out[i]
                i += 1
                cols = range(nb * cfg.cols, min(n_dim, (nb + 1) * cfg.cols))
                assert (r_nb, r_bank) == (nb, bank), f"row {i - 1}: nb/bank"
                assert r_last == int(nb == nblocks - 1 and mm == m_dim - 1), f"row {i - 1}: last"
                assert r_lanes == (1 << len(cols)) - 1, f"row {i - 1}: lanes"
                assert acc[: len(cols)] == [int(ref[mm, c]) for c in cols], (
                    f"job {bank} nb {nb} m {mm}"
                )
    assert i == len(rows_out)


def test_init_wrong_config():
    with pytest.raises(TypeError, match=r"^config must be an ArrayConfig, not 3$"):
        OSEngine(3)


@pytest.mark.parametrize(
    "rows,cols,m,k,n,pipe",
    [
        (2, 3, 5, 7, 6, 1),  # ragged M and N, K > R, several folds
        (4, 2, 5, 2, 3, 0),  # K < R: the sequencer waits for the drain chains
        (3, 3, 3, 1, 3, 2),  # K = 1, single fold
    ],
)
def test_single_job(rows, cols, m, k, n, pipe):
    cfg = ArrayConfig(rows=rows, cols=cols, pe_pipeline=pipe, a_buf_depth=32, w_buf_depth=32)
    rng = np.random.default_rng(rows * 100 + k)
    jobs = [make_job(cfg, m, k, n, rng)]
    rows_out, events = run_engine(cfg, jobs)
    check_rows(cfg, jobs, rows_out)
    # The documented latency: start cycle to last row cycle, both included.
    assert rows_out[-1][-1] - events["start"][0] + 1 == events["engine"].job_cycles(m, k, n)
    assert len(events["released"]) == 1


def test_two_jobs_back_to_back_no_bubble():
    cfg = ArrayConfig(rows=2, cols=2, a_buf_depth=32, w_buf_depth=32)
    rng = np.random.default_rng(7)
    jobs = [make_job(cfg, 3, 4, 3, rng), make_job(cfg, 2, 5, 4, rng)]
    rows_out, events = run_engine(cfg, jobs, start_gap=0)
    check_rows(cfg, jobs, rows_out)
    eng = events["engine"]
    # Folds of both jobs follow each other without a gap: 4 folds of 4 cycles then 2 of 5.
    # Job 1 starts on the last fold cycle of job 0, so its folds follow without a bubble.
    s0, s1 = events["start"]
    assert s1 - s0 == 4 * eng.fold_period(3, 4)
    assert rows_out[5][-1] - s0 + 1 == eng.job_cycles(3, 4, 3)
    assert rows_out[-1][-1] - s1 + 1 == eng.job_cycles(2, 5, 4)
    assert len(events["released"]) == 2


def test_random_stalls():
    cfg = ArrayConfig(rows=3, cols=2, pe_pipeline=1, a_buf_depth=32, w_buf_depth=32)
    rng = np.random.default_rng(11)
    jobs = [make_job(cfg, 4, 3, 5, rng), make_job(cfg, 5, 6, 3, rng)]
    rows_out, _ = run_engine(cfg, jobs, seed=3, stall=0.3)
    check_rows(cfg, jobs, rows_out)


@pytest.mark.parametrize("pipe", [0, 2])
def test_long_fold_then_short_fold_job(pipe):
    """A job with K >= rows followed by one with K < rows: the fold ends stay rows cycles apart."""
    cfg = ArrayConfig(rows=3, cols=2, pe_pipeline=pipe, a_buf_depth=32, w_buf_depth=32)
    rng = np.random.default_rng(12)
    jobs = [make_job(cfg, 4, 5, 3, rng), make_job(cfg, 3, 2, 2, rng)]
    rows_out, _ = run_engine(cfg, jobs)
    check_rows(cfg, jobs, rows_out)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100))
def test_random_jobs(seed):
    """Random arrays, pipelines, job pairs with any K/rows relation, stalls and start gaps."""
    r = random.Random(seed)
    rows, cols = r.randint(1, 4), r.randint(1, 4)
    cfg = ArrayConfig(
        rows=rows, cols=cols, pe_pipeline=r.randint(0, 2), a_buf_depth=64, w_buf_depth=64
    )
    rng = np.random.default_rng(seed)
    shapes, count = [], r.randint(1, 2)
    while len(shapes) < count:
        m, k, n = r.randint(1, 9), r.randint(1, 9), r.randint(1, 9)
        if -(-m // rows) * k <= 64 and -(-n // cols) * k <= 64:
            shapes.append((m, k, n))
    jobs = [make_job(cfg, *s, rng) for s in shapes]
    rows_out, _ = run_engine(
        cfg, jobs, seed=seed, stall=r.choice([0, 0, 0.3]), start_gap=r.choice([0, 0, 3])
    )
    check_rows(cfg, jobs, rows_out)
