"""WSEngine in a small harness (two buffer memories + the engine under EnableInserter(run)).

The jobs' words are laid out as docs/PROTOCOL.md says for dataflow "ws"; lanes outside M/N/K carry
random garbage, which the engine must ignore. Every result row is compared exactly with the golden
model, in output-stream order, with its tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pytest
from amaranth.hdl import Elaboratable, EnableInserter, Module, Signal, unsigned
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator

from hw.config import ArrayConfig
from hw.engine_ws import WSEngine

try:
    from golden import matmul_acc
except ImportError:  # golden's layer functions not written yet: the same definition in int64
    def matmul_acc(x, w, bias, *, x_zp):
        assert bias is None
        return (np.asarray(x, np.int64) - x_zp) @ np.asarray(w, np.int64)


@dataclass
class Job:
    a: np.ndarray     # [M, K] int64
    w: np.ndarray     # [K, N] int64
    x_zp: int
    bank: int

    @property
    def mkn(self) -> tuple[int, int, int]:
        return self.a.shape[0], self.a.shape[1], self.w.shape[1]


def _pack(values, bits: int) -> int:
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return word


def _words(cfg: ArrayConfig, job: Job, rng) -> tuple[list[int], list[int]]:
    """Activation and weight words of ``job`` in PROTOCOL order; out-of-range lanes are garbage."""
    (m, k, n), r, c = job.mkn, cfg.rows, cfg.cols
    alo, ahi = -(1 << (cfg.a_bits - 1)), 1 << (cfg.a_bits - 1)
    wlo, whi = -(1 << (cfg.w_bits - 1)), 1 << (cfg.w_bits - 1)
    a_words = []
    for kb in range(-(-k // r)):
        for mm in range(m):
            lanes = [job.a[mm, kb * r + i] if kb * r + i < k else rng.integers(alo, ahi)
                     for i in range(r)]
            a_words.append(_pack(lanes, cfg.a_bits))
    w_words = []
    for nb in range(-(-n // c)):
        for kk in range(k):
            lanes = [job.w[kk, nb * c + j] if nb * c + j < n else rng.integers(wlo, whi)
                     for j in range(c)]
            w_words.append(_pack(lanes, cfg.w_bits))
    return a_words, w_words


def _expected(cfg: ArrayConfig, job: Job) -> list[tuple]:
    """(nb, bank, last, lanes, acc row) per result row, in output-stream order."""
    (m, _, n), c = job.mkn, cfg.cols
    acc = matmul_acc(job.a, job.w, None, x_zp=job.x_zp)
    rows = []
    nbs = -(-n // c)
    for nb in range(nbs):
        lanes = [nb * c + j < n for j in range(c)]
        for mm in range(m):
            vals = tuple(int(acc[mm, nb * c + j]) if lanes[j] else 0 for j in range(c))
            mask = sum(1 << j for j in range(c) if lanes[j])
            rows.append((nb, job.bank, nb == nbs - 1 and mm == m - 1, mask, vals))
    return rows


class Harness(Elaboratable):
    """Buffers initialised with the jobs' words and the engine, stalled by ``run`` like QmacTop."""

    def __init__(self, cfg: ArrayConfig, a_init: list[int], w_init: list[int]) -> None:
        self.cfg = cfg
        self.engine = WSEngine(cfg)
        self.run = Signal(init=1)
        self.a_init, self.w_init = a_init, w_init

    def elaborate(self, platform) -> Module:
        m = Module()
        cfg, e = self.cfg, self.engine
        m.submodules.engine = EnableInserter(self.run)(e)
        a_mem = Memory(shape=unsigned(cfg.rows * cfg.a_bits), depth=2 * cfg.a_buf_depth,
                       init=self.a_init)
        w_mem = Memory(shape=unsigned(cfg.cols * cfg.w_bits), depth=2 * cfg.w_buf_depth,
                       init=self.w_init)
        m.submodules.a_mem, m.submodules.w_mem = a_mem, w_mem
        a_rd, w_rd = a_mem.read_port(), w_mem.read_port()
        m.d.comb += [
            a_rd.addr.eq(e.a_addr), a_rd.en.eq(e.a_en & self.run), e.a_data.eq(a_rd.data),
            w_rd.addr.eq(e.w_addr), w_rd.en.eq(e.w_en & self.run), e.w_data.eq(w_rd.data),
        ]
        return m


@dataclass
class Trace:
    rows: list          # (nb, bank, last, lanes, acc row) per delivered result row
    row_cycles: list    # enabled cycle of each delivered row
    starts: list        # enabled cycle on which each start was taken
    released: list      # enabled cycles with a released pulse
    a_reads: list       # enabled cycles with a_en high, with the bank read
    engine: WSEngine


def run_jobs(cfg: ArrayConfig, jobs: list[Job], *, seed: int = 0, run_prob: float = 1.0,
             max_cycles: int = 5000) -> Trace:
    """Simulate ``jobs`` (started as soon as the engine is idle) and collect everything."""
    rng = np.random.default_rng(seed)
    a_init = [0] * (2 * cfg.a_buf_depth)
    w_init = [0] * (2 * cfg.w_buf_depth)
    for job in jobs:
        cfg.check_job(*job.mkn)
        a_words, w_words = _words(cfg, job, rng)
        base = job.bank * cfg.a_buf_depth
        a_init[base:base + len(a_words)] = a_words
        base = job.bank * cfg.w_buf_depth
        w_init[base:base + len(w_words)] = w_words
    n_rows = sum(len(_expected(cfg, job)) for job in jobs)
    h = Harness(cfg, a_init, w_init)
    e = h.engine
    trace = Trace([], [], [], [], [], e)

    async def stall(ctx):
        async for _ in ctx.tick():
            ctx.set(h.run, int(rng.random() < run_prob))

    async def drive(ctx):
        for job in jobs:
            m, k, n = job.mkn
            ctx.set(e.job_m, m)
            ctx.set(e.job_k, k)
            ctx.set(e.job_n, n)
            ctx.set(e.job_x_zp, job.x_zp)
            ctx.set(e.job_bank, job.bank)
            ctx.set(e.start, 1)
            while True:
                _, _, idle, run = await ctx.tick().sample(e.idle, h.run)
                if idle and run:
                    break
            ctx.set(e.start, 0)

    async def collect(ctx):
        cycle = 0
        sampled = (h.run, e.start, e.idle, e.released, e.a_en, e.a_addr, e.res_valid, e.res_nb,
                   e.res_bank, e.res_last, e.res_lanes, e.res_acc)
        async for _, _, run, start, idle, rel, a_en, a_addr, valid, nb, bank, last, lanes, acc in \
                ctx.tick().sample(*sampled):
            if not run:
                continue
            if start and idle:
                trace.starts.append(cycle)
            if rel:
                trace.released.append(cycle)
            if a_en:
                trace.a_reads.append((cycle, a_addr // cfg.a_buf_depth))
            if valid:
                row = tuple(int(acc[j]) for j in range(cfg.cols))
                trace.rows.append((int(nb), int(bank), bool(last), int(lanes), row))
                trace.row_cycles.append(cycle)
                if len(trace.rows) == n_rows:
                    break
            cycle += 1
            assert cycle < max_cycles, f"{len(trace.rows)} of {n_rows} rows after {cycle} cycles"
        for _ in range(cfg.rows + cfg.cols + 8):  # nothing may follow the last row
            _, _, run, valid = await ctx.tick().sample(h.run, e.res_valid)
            assert not (run and valid), "extra result row"

    sim = Simulator(h)
    sim.add_clock(1e-8)
    sim.add_process(stall)
    sim.add_testbench(drive)
    sim.add_testbench(collect)
    sim.run()
    return trace


def _random_job(cfg: ArrayConfig, rng, m: int, k: int, n: int, bank: int = 0) -> Job:
    a = rng.integers(-(1 << (cfg.a_bits - 1)), 1 << (cfg.a_bits - 1), size=(m, k))
    w = rng.integers(-(1 << (cfg.w_bits - 1)), 1 << (cfg.w_bits - 1), size=(k, n))
    x_zp = int(rng.integers(-(1 << (cfg.a_bits - 1)), 1 << (cfg.a_bits - 1)))
    return Job(a.astype(np.int64), w.astype(np.int64), x_zp, bank)


def _cfg(rows: int, cols: int, pipe: int = 1, **kw) -> ArrayConfig:
    base = dict(rows=rows, cols=cols, dataflow="ws", pe_pipeline=pipe, a_buf_depth=64,
                w_buf_depth=64, acc_depth=16, param_depth=16, out_fifo_depth=16)
    base.update(kw)
    return ArrayConfig(**base)


def _expected_all(cfg, jobs):
    return [row for job in jobs for row in _expected(cfg, job)]


# ---- construction -----------------------------------------------------------------------------
def test_init_wrong_config():
    with pytest.raises(TypeError, match=r"^config must be an ArrayConfig, not 'ws'$"):
        WSEngine("ws")


def test_init_wrong_dataflow():
    with pytest.raises(ValueError, match=re.escape("config.dataflow must be 'ws', not 'os'")):
        WSEngine(ArrayConfig(dataflow="os"))


def test_latency_properties_follow_the_config():
    e = WSEngine(_cfg(4, 3, pipe=2))
    e._MustUse__silence = True   # only the properties are under test
    assert e.row_latency == 4 + 3 + 2 + 1
    assert e.result_latency == e.row_latency + 2
    assert e.fold_period(2, 5) == 4 and e.fold_period(9, 5) == 9
    with pytest.raises(ValueError, match=r"^job M=17 exceeds acc_depth=16$"):
        e.job_cycles(17, 1, 1)


# ---- results --------------------------------------------------------------------------------
@pytest.mark.parametrize(("rows", "cols", "pipe", "m", "k", "n"), [
    (2, 2, 0, 3, 5, 3),    # ragged K > R (3 kb), ragged N (2 nb)
    (3, 2, 1, 2, 2, 5),    # M < R, K < R, 3 nb
    (4, 3, 2, 6, 9, 7),    # ragged everything, deepest PE pipeline
    (3, 3, 1, 1, 1, 1),    # smallest job
    (2, 3, 1, 5, 4, 6),    # exact multiples
    (1, 1, 0, 3, 3, 2),    # 1x1 array: one weight per fold
    (1, 2, 1, 1, 3, 3),    # R = M = 1: a fold every cycle, accumulator read right after its write
])
def test_single_job_exact(rows, cols, pipe, m, k, n):
    cfg = _cfg(rows, cols, pipe)
    rng = np.random.default_rng(rows * 1000 + m * 100 + k * 10 + n)
    job = _random_job(cfg, rng, m, k, n, bank=1)
    trace = run_jobs(cfg, [job])
    assert trace.rows == _expected(cfg, job)
    # timing as documented: folds every max(M, R) cycles, no other bubble
    assert trace.row_cycles[-1] - trace.starts[0] == trace.engine.job_cycles(m, k, n)


def test_extreme_values_exact():
    cfg = _cfg(2, 2, 1, acc_bits=20)   # max_k = 2^19 // (255 * 128) = 16
    k = cfg.max_k
    a = np.full((3, k), -128, np.int64)
    w = np.full((k, 3), -128, np.int64)
    w[:, 1] = 127
    job = Job(a, w, 127, 0)              # every difference is -255: the largest sums in magnitude
    trace = run_jobs(cfg, [job])
    assert trace.rows == _expected(cfg, job)
    assert trace.rows[0][4] == (k * 255 * 128, -k * 255 * 127)


def test_two_jobs_back_to_back_no_bubble():
    cfg = _cfg(3, 2, 1)
    rng = np.random.default_rng(7)
    jobs = [_random_job(cfg, rng, 3, 7, 3, bank=0), _random_job(cfg, rng, 5, 2, 4, bank=1)]
    trace = run_jobs(cfg, jobs)
    assert trace.rows == _expected_all(cfg, jobs)
    # M >= R for both jobs (M = R is the tightest case): the activation port reads on every cycle
    # from the first read to the last, across folds and across the job boundary
    cycles = [c for c, _ in trace.a_reads]
    total = sum(-(-k // cfg.rows) * m * -(-n // cfg.cols) for m, k, n in (j.mkn for j in jobs))
    assert len(cycles) == total
    assert cycles == list(range(cycles[0], cycles[0] + total))
    # released: once per job, after that job's last activation read
    assert len(trace.released) == 2
    for job, rel in zip(jobs, trace.released, strict=True):
        last_read = max(c for c, bank in trace.a_reads if bank == job.bank)
        assert last_read < rel


def test_short_m_fold_period_is_r():
    cfg = _cfg(4, 2, 1)
    rng = np.random.default_rng(11)
    job = _random_job(cfg, rng, 2, 12, 3)   # M = 2 < R = 4: one fold every R cycles
    trace = run_jobs(cfg, [job])
    assert trace.rows == _expected(cfg, job)
    firsts = [c for i, (c, _) in enumerate(trace.a_reads) if i % 2 == 0]
    assert np.all(np.diff(firsts) == cfg.rows)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_stalls_change_nothing(seed):
    cfg = _cfg(3, 2, 2)
    rng = np.random.default_rng(100 + seed)
    first = _random_job(cfg, rng, 4, 8, 3, bank=1)
    jobs = [first, _random_job(cfg, rng, 2, 4, 5, bank=0), first]   # a bank reused by a later job
    trace = run_jobs(cfg, jobs, seed=seed, run_prob=0.6)
    assert trace.rows == _expected_all(cfg, jobs)
    assert len(trace.released) == len(jobs)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_random_shapes_and_stalls(seed):
    rng = np.random.default_rng(1000 + seed)
    rows, cols = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    cfg = _cfg(rows, cols, int(rng.integers(0, 3)), a_buf_depth=512, w_buf_depth=512)
    jobs = []
    for bank in (0, 1):
        m, k, n = (int(v) for v in rng.integers(1, [16, 20, 12]))
        jobs.append(_random_job(cfg, rng, m, k, n, bank=bank))
    trace = run_jobs(cfg, jobs + [jobs[0]], seed=seed, run_prob=float(rng.uniform(0.3, 1.0)),
                     max_cycles=20000)
    assert trace.rows == _expected_all(cfg, jobs + [jobs[0]])
