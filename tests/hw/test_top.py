# amaranth: UnusedElaboratable=no
"""QmacTop end to end in the Amaranth simulator against golden.matmul (bit-exact)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from golden import matmul, matmul_acc, quantize_multiplier
from hw.config import ArrayConfig
from hw.top import QmacTop
from tests.hw.streams import (
    os_a_words,
    param_words,
    stream_get,
    stream_put,
    unpack_lanes,
    w_words,
    ws_a_words,
)


def make_job(cfg: ArrayConfig, m: int, k: int, n: int, rng: np.random.Generator) -> dict:
    """A random job with multipliers scaled to the accumulator spread (some outputs saturate)."""
    lo_a, hi_a = -(1 << (cfg.a_bits - 1)), 1 << (cfg.a_bits - 1)
    lo_w, hi_w = -(1 << (cfg.w_bits - 1)), 1 << (cfg.w_bits - 1)
    x = rng.integers(lo_a, hi_a, size=(m, k), dtype=np.int64)
    w = rng.integers(lo_w, hi_w, size=(k, n), dtype=np.int64)
    x_zp = int(rng.integers(lo_a, hi_a))
    bias = rng.integers(-5000, 5000, size=n, dtype=np.int64)
    spread = (
        np.abs(
            matmul_acc(
                x, w, bias, x_zp=x_zp, a_bits=cfg.a_bits, w_bits=cfg.w_bits, acc_bits=cfg.acc_bits
            )
        ).max(axis=0)
        + 1
    )
    real = rng.uniform(0.4, 1.5, size=n) * (1 << (cfg.out_bits - 1)) / spread
    m0, shift = quantize_multiplier(real, cfg.mult_bits)
    out_lo, out_hi = -(1 << (cfg.out_bits - 1)), (1 << (cfg.out_bits - 1)) - 1
    y_zp = int(rng.integers(out_lo // 2, out_hi // 2))
    act_min, act_max = sorted(int(v) for v in rng.integers(out_lo, out_hi + 1, size=2))
    act_min, act_max = min(act_min, out_lo + 10), max(act_max, out_hi - 10)
    job = dict(
        x=x,
        w=w,
        bias=bias,
        x_zp=x_zp,
        y_zp=y_zp,
        m0=m0,
        shift=shift,
        act_min=act_min,
        act_max=act_max,
    )
    job["whole"] = job
    return job


def expected_beats(cfg: ArrayConfig, job: dict) -> list[int]:
    """Output stream from golden.matmul: beat nb*M + m, lane j = out[m, nb*C + j], 0 beyond N."""
    out = matmul(
        job["x"],
        job["w"],
        job["bias"],
        x_zp=job["x_zp"],
        y_zp=job["y_zp"],
        m0=job["m0"],
        shift=job["shift"],
        act_min=job["act_min"],
        act_max=job["act_max"],
        rounding=cfg.rounding,
        mult_bits=cfg.mult_bits,
        out_bits=cfg.out_bits,
        a_bits=cfg.a_bits,
        w_bits=cfg.w_bits,
        acc_bits=cfg.acc_bits,
    )
    m, n = out.shape
    nblk = -(-n // cfg.cols)
    padded = np.zeros((m, nblk * cfg.cols), dtype=np.int64)
    padded[:, :n] = out
    mask = (1 << cfg.out_bits) - 1
    beats = []
    for nb in range(nblk):
        for mm in range(m):
            word = 0
            for j in range(cfg.cols):
                word |= (int(padded[mm, nb * cfg.cols + j]) & mask) << (j * cfg.out_bits)
            beats.append(word)
    return beats


def run_top(
    cfg, jobs, *, seed=0, in_gap=0.0, out_gap=0.0, hold=None, bad_w_last=False, a_after_done=False
):
    """Drive ``jobs`` through QmacTop; returns (beats [(tdata, tlast)], done cycles, error, dut)."""
    dut = QmacTop(cfg)
    rng = np.random.default_rng(seed)
    prng = random.Random(seed)
    streams = {"a": [], "w": [], "param": []}
    for job in jobs:
        a_words = os_a_words if cfg.dataflow == "os" else ws_a_words
        streams["a"].append(a_words(job["x"], cfg.rows, cfg.a_bits, rng))
        streams["w"].append(w_words(job["w"], cfg.cols, cfg.w_bits, rng))
        streams["param"].append(
            param_words(
                job["bias"], job["m0"], job["shift"], acc_bits=cfg.acc_bits, mult_bits=cfg.mult_bits
            )
        )
    total = sum(len(expected_beats(cfg, j["whole"])) for j in jobs if not j.get("acc_hold"))
    result = {"beats": [], "done": [], "error": 0, "busy_at_end": None}

    async def commands(ctx):
        for job in jobs:
            m, k = job["x"].shape
            ctx.set(dut.cmd_m, m)
            ctx.set(dut.cmd_k, k)
            ctx.set(dut.cmd_n, job["w"].shape[1])
            for f in ("x_zp", "y_zp", "act_min", "act_max"):
                ctx.set(getattr(dut, f"cmd_{f}"), job[f])
            ctx.set(dut.cmd_acc_cont, job.get("acc_cont", 0))
            ctx.set(dut.cmd_acc_hold, job.get("acc_hold", 0))
            ctx.set(dut.cmd_valid, 1)
            await ctx.tick().until(dut.cmd_ready)
            ctx.set(dut.cmd_valid, 0)

    def feeder(name):
        async def feed(ctx):
            r = random.Random(f"{seed}-{name}")
            for i, words in enumerate(streams[name]):
                if a_after_done and name == "a" and i > 0:
                    # A layer-by-layer host: job i's activations are the outputs of the jobs
                    # before it (jobs that hold their sums for a K split send none).
                    while len(result["done"]) < sum(not j.get("acc_hold") for j in jobs[:i]):
                        await ctx.tick()
                lasts = None
                if bad_w_last and name == "w" and i == 0:
                    lasts = [int(j == len(words) - 2) for j in range(len(words))]
                await stream_put(
                    ctx,
                    getattr(dut, f"s_axis_{name}_tdata"),
                    getattr(dut, f"s_axis_{name}_tvalid"),
                    getattr(dut, f"s_axis_{name}_tready"),
                    words,
                    tlast=getattr(dut, f"s_axis_{name}_tlast"),
                    lasts=lasts,
                    rng=r,
                    gap=in_gap,
                )

        return feed

    async def sink(ctx):
        if hold is not None:
            ctx.set(dut.m_axis_out_tready, 0)
            await ctx.tick().repeat(hold)
        result["beats"] = await stream_get(
            ctx,
            dut.m_axis_out_tdata,
            dut.m_axis_out_tvalid,
            dut.m_axis_out_tready,
            total,
            tlast=dut.m_axis_out_tlast,
            rng=prng,
            gap=out_gap,
        )
        await ctx.tick().repeat(3)
        result["error"] = ctx.get(dut.error)
        result["busy_at_end"] = ctx.get(dut.busy)

    inputs = [getattr(dut, f"s_axis_{s}_{f}") for s in streams for f in ("tvalid", "tready")]

    async def watch(ctx):
        async for _, _, done, cycles, *hs in ctx.tick().sample(dut.done, dut.cycle_count, *inputs):
            if done:
                result["done"].append(int(cycles))
            for i, name in enumerate(streams):
                if hs[2 * i] and hs[2 * i + 1]:
                    result[f"last_{name}"] = int(cycles)

    result["stall_mismatch"] = []

    result["take_without_run"] = []

    async def stall_check(ctx):
        # eng_run may be a register computed a cycle ahead: it must equal run & ~hold every cycle.
        # Rows are taken on res_en cycles (eng_run, back_lag cycles late): the output path must
        # run on each of them.
        eng_run, run, hold = dut.stall_terms  # set on elaboration
        res_en, out_run = dut.take_terms
        terms = (eng_run, run, hold, res_en, out_run, dut.cycle_count)
        async for _, _, er, r, h, take, o_run, cycles in ctx.tick().sample(*terms):
            if er != (r & ~h & 1):
                result["stall_mismatch"].append(int(cycles))
            if take and not o_run:
                result["take_without_run"].append(int(cycles))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_process(stall_check)
    sim.add_testbench(commands)
    for name in streams:
        sim.add_testbench(feeder(name))
    sim.add_testbench(sink)
    sim.add_process(watch)

    async def watchdog(ctx):
        for _ in range(20000):
            await ctx.tick()
        raise AssertionError(f"timeout: {len(result['beats'])} of {total} beats")

    sim.add_process(watchdog)
    sim.run()
    return result


def split_k(job: dict, sizes: list[int]) -> list[dict]:
    """The jobs of a K split of ``job`` (chunks of ``sizes``): ``acc_hold`` on all but the last,
    ``acc_cont`` on all but the first; the last one's output is that of the whole job."""
    assert sum(sizes) == job["x"].shape[1]
    chunks, k0 = [], 0
    for c, size in enumerate(sizes):
        part = dict(job, x=job["x"][:, k0:k0 + size], w=job["w"][k0:k0 + size],
                    acc_cont=int(c > 0), acc_hold=int(c < len(sizes) - 1), whole=job)
        if part["acc_hold"]:  # the parameters and output fields of a holding job are unused
            part.update(bias=job["bias"] * 0 + 7, y_zp=0, act_min=-1, act_max=1)
        chunks.append(part)
        k0 += size
    return chunks


def check(cfg, jobs, result):
    expect = []
    for job in jobs:
        if job.get("acc_hold"):
            continue
        beats = expected_beats(cfg, job["whole"])
        expect += [(b, int(i == len(beats) - 1)) for i, b in enumerate(beats)]
    got = result["beats"]
    assert len(got) == len(expect), f"got {len(got)} beats, expected {len(expect)}"
    for i, (g, e) in enumerate(zip(got, expect, strict=True)):
        assert g == e, (
            f"beat {i}: got {unpack_lanes(g[0], cfg.out_bits, cfg.cols)} last {g[1]}, "
            f"expected {unpack_lanes(e[0], cfg.out_bits, cfg.cols)} last {e[1]}"
        )
    assert len(result["done"]) == sum(1 for j in jobs if not j.get("acc_hold"))
    assert result["error"] == 0
    assert result["busy_at_end"] == 0
    assert result["stall_mismatch"] == [], "eng_run != run & ~hold on these cycles"
    assert result["take_without_run"] == [], "rows taken while the output path stalls"


CFG = ArrayConfig(rows=2, cols=3, a_buf_depth=32, w_buf_depth=32, param_depth=16, out_fifo_depth=4)


def test_init_wrong_config():
    with pytest.raises(TypeError, match=r"^config must be an ArrayConfig, not 'os'$"):
        QmacTop("os")


def test_ports_are_protocol_names():
    top = QmacTop(CFG)
    names = set(top.signature.members)
    for port in (
        "cmd_valid",
        "cmd_ready",
        "cmd_m",
        "cmd_k",
        "cmd_n",
        "cmd_x_zp",
        "cmd_y_zp",
        "cmd_act_min",
        "cmd_act_max",
        "m_axis_out_tdata",
        "m_axis_out_tvalid",
        "m_axis_out_tready",
        "m_axis_out_tlast",
        "busy",
        "done",
        "error",
        "cycle_count",
    ):
        assert port in names
    for s in ("a", "w", "param"):
        for f in ("tdata", "tvalid", "tready", "tlast"):
            assert f"s_axis_{s}_{f}" in names
    text = verilog.convert(top, name="qmac_top")
    assert "module qmac_top(" in text
    assert f"output [{CFG.out_tdata_bits - 1}:0] m_axis_out_tdata;" in text


@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_jobs_random_gaps_and_backpressure(dataflow):
    cfg = CFG.replace(dataflow=dataflow)
    rng = np.random.default_rng(1)
    shapes = [(5, 7, 6), (3, 2, 4), (1, 1, 1), (4, 3, 2)]  # slots are reused by jobs 3 and 4
    jobs = [make_job(cfg, m, k, n, rng) for m, k, n in shapes]
    result = run_top(cfg, jobs, seed=2, in_gap=0.3, out_gap=0.4)
    check(cfg, jobs, result)


@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_engine_catches_up_with_slow_streams(dataflow):
    """Streams idle most cycles: the engine reaches the word being loaded again and again and
    must wait for each one (a "word loaded" check one word too optimistic reads a stale word)."""
    cfg = ArrayConfig(rows=2, cols=2, a_buf_depth=32, w_buf_depth=32, param_depth=8,
                      acc_depth=16, dataflow=dataflow)
    rng = np.random.default_rng(9)
    jobs = [make_job(cfg, m, k, n, rng) for m, k, n in [(3, 7, 3), (2, 5, 4), (4, 1, 2)]]
    check(cfg, jobs, run_top(cfg, jobs, seed=9, in_gap=0.8))


@pytest.mark.parametrize("dataflow", ["os", "ws"])
@pytest.mark.parametrize("gaps", [False, True], ids=["streaming", "gaps_backpressure"])
def test_k_split_chains(dataflow, gaps):
    """K-split chains between whole jobs, their partial sums kept on chip, output once."""
    cfg = CFG.replace(dataflow=dataflow, out_fifo_depth=8)
    rng = np.random.default_rng(21)
    jobs = [make_job(cfg, 3, 4, 5, rng)]
    jobs += split_k(make_job(cfg, 5, 10, 6, rng), [4, 3, 3])
    jobs += split_k(make_job(cfg, 1, 2, 1, rng), [1, 1])  # one-row chunks back to back
    jobs += [make_job(cfg, 2, 3, 2, rng)]
    jobs += split_k(make_job(cfg, 2, 9, 4, rng), [5, 4])
    kw = dict(seed=3, in_gap=0.3, out_gap=0.5) if gaps else {}
    check(cfg, jobs, run_top(cfg, jobs, **kw))


@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_k_split_one_by_one_array(dataflow):
    """A 1x1 array: rows of consecutive chunks one cycle apart (the partial sums' forwarding)."""
    cfg = ArrayConfig(rows=1, cols=1, a_buf_depth=16, w_buf_depth=16, param_depth=4,
                      acc_depth=4, psum_depth=4, out_fifo_depth=4, dataflow=dataflow)
    rng = np.random.default_rng(22)
    jobs = []
    for m, k, n in [(1, 3, 1), (2, 4, 1), (1, 2, 2)]:
        jobs += split_k(make_job(cfg, m, k, n, rng), [1] * k)
    check(cfg, jobs, run_top(cfg, jobs, seed=4))


def test_output_held_low_loses_nothing():
    cfg = CFG.replace(rows=2, cols=2)
    rng = np.random.default_rng(5)
    jobs = [make_job(cfg, 12, 3, 3, rng)]
    result = run_top(cfg, jobs, seed=4, hold=300)
    check(cfg, jobs, result)


def test_bad_tlast_sets_error():
    rng = np.random.default_rng(9)
    jobs = [make_job(CFG, 2, 2, 3, rng)]
    result = run_top(CFG, jobs, bad_w_last=True)
    assert len(result["beats"]) == len(expected_beats(CFG, jobs[0]))
    assert result["error"] == 1


def test_jobs_overlap_without_bubble():
    """Job 2 loads while job 1 computes and starts on job 1's last fold cycle."""
    from hw.engine_os import OSEngine

    cfg = CFG.replace(cols=2, out_fifo_depth=16)
    rng = np.random.default_rng(3)
    jobs = [make_job(cfg, 4, 3, 8, rng), make_job(cfg, 2, 2, 2, rng)]
    result = run_top(cfg, jobs, seed=1)
    check(cfg, jobs, result)
    eng = OSEngine(cfg)
    folds1 = 2 * 4
    gap = result["done"][1] - result["done"][0]
    assert gap == folds1 * eng.fold_period(4, 3) + eng.job_cycles(2, 2, 2) - eng.job_cycles(4, 3, 8)


def test_param_depth_equal_to_cols():
    cfg = ArrayConfig(
        rows=2, cols=4, a_buf_depth=16, w_buf_depth=16, param_depth=4, out_fifo_depth=8
    )
    rng = np.random.default_rng(4)
    jobs = [make_job(cfg, 3, 2, 4, rng), make_job(cfg, 2, 3, 3, rng)]
    check(cfg, jobs, run_top(cfg, jobs, seed=5, in_gap=0.2, out_gap=0.2))


@pytest.mark.parametrize("m,k,n", [(5, 7, 6), (2, 1, 1)])
def test_latency_of_a_lone_job(m, k, n):
    """A job starts once its parameters are in and computes while its a/w words stream in.

    Here the a/w streams arrive without gaps and never fall behind the engine, so the last output
    beat follows the last parameter beat by start + engine + output latency exactly (plus the
    documented one-cycle penalty of starting while a/w words are still arriving).
    """
    from hw.engine_os import OSEngine

    cfg = CFG.replace(out_fifo_depth=16)
    jobs = [make_job(cfg, m, k, n, np.random.default_rng(m))]
    result = run_top(cfg, jobs)
    check(cfg, jobs, result)
    top = QmacTop(cfg)
    expect = top.start_latency + OSEngine(cfg).job_cycles(m, k, n) - 1 + top.output_latency
    streaming = max(result["last_a"], result["last_w"]) > result["last_param"]
    assert result["done"][0] - result["last_param"] == expect + top.stream_start_penalty * streaming
    if -(-m // cfg.rows) * k > n:  # more a beats than parameter beats
        assert result["last_a"] > result["last_param"]  # the loads overlapped the computation


@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_next_activations_sent_after_previous_outputs(dataflow):
    """No deadlock when a host sends job j+1's activations only after job j's outputs arrived."""
    cfg = CFG.replace(dataflow=dataflow)
    rng = np.random.default_rng(8)
    jobs = [make_job(cfg, m, k, n, rng) for m, k, n in [(4, 3, 5), (3, 4, 2), (2, 2, 3)]]
    check(cfg, jobs, run_top(cfg, jobs, seed=6, in_gap=0.2, a_after_done=True))


@pytest.mark.parametrize(
    "changes",
    [
        dict(a_bits=4, w_bits=4, acc_bits=20, mult_bits=16, out_bits=4, pe_pipeline=0),
        dict(rounding="single", mult_bits=24, pe_pipeline=2, rows=3, out_fifo_depth=8),
    ],
)
def test_other_widths_and_rounding(changes):
    cfg = CFG.replace(cols=2, **changes)
    rng = np.random.default_rng(12)
    jobs = [make_job(cfg, 4, 5, 3, rng), make_job(cfg, 3, 2, 2, rng)]
    check(cfg, jobs, run_top(cfg, jobs, seed=7, in_gap=0.2, out_gap=0.3))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_random_configs_and_jobs(dataflow, seed):
    """Random small arrays, widths, job sequences, gaps, back-pressure and host orderings."""
    r = random.Random(seed)
    cfg = ArrayConfig(
        rows=r.randint(1, 3),
        cols=r.randint(1, 3),
        pe_pipeline=r.randint(0, 2),
        a_buf_depth=32,
        w_buf_depth=32,
        param_depth=8,
        acc_depth=16,
        out_fifo_depth=r.choice([8, 16]),
        dataflow=dataflow,
        rounding=r.choice(["tflite", "single", "halfup"]),
        psum_depth=r.choice([4, 16]),
    )
    rng = np.random.default_rng(seed)
    shapes, count = [], r.randint(1, 4)
    while len(shapes) < count:
        m, k, n = r.randint(1, 7), r.randint(1, 7), r.randint(1, 8)
        try:
            cfg.check_job(m, k, n)
        except ValueError:
            continue
        shapes.append((m, k, n))
    jobs = []
    for m, k, n in shapes:
        job = make_job(cfg, m, k, n, rng)
        cuts = sorted(r.sample(range(1, k), r.randint(0, min(3, k - 1)))) if k > 1 else []
        if cuts and r.random() < 0.5 and -(-n // cfg.cols) * m <= cfg.psum_depth:
            sizes = [b - a for a, b in zip([0, *cuts], [*cuts, k], strict=True)]
            jobs += split_k(job, sizes)
        else:
            jobs.append(job)
    kw = dict(
        seed=seed,
        in_gap=r.choice([0, 0.3, 0.7]),
        out_gap=r.choice([0, 0.3, 0.8]),
        a_after_done=r.random() < 0.3,
    )
    check(cfg, jobs, run_top(cfg, jobs, **kw))
