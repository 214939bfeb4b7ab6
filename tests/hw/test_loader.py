# amaranth: UnusedElaboratable=no
"""StreamLoader: beat counts, addresses, banks and tlast checks of jobs of any geometry.

The geometry switches after a job's last beat with ``go`` low for a cycle, as the top's registered
geometry and ``go`` do (the loader registers its end flags from the geometry)."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.loader import StreamLoader


def run(jobs: list[tuple[int, int]], *, step: int, lanes: int = 1, gap: float = 0.0,
        bad_last: set[int] = frozenset(), seed: int = 0) -> list[dict]:
    """Send the jobs' beats (after each job's last beat, one cycle with ``go`` low and the next
    job's geometry, as in the top); return one record per accepted beat."""
    dut = StreamLoader(tdata_bits=8, payload_bits=8, addr_bits=6, step=step, lanes=lanes)
    rng = np.random.default_rng(seed)
    beats = []
    for j, (inner, outer) in enumerate(jobs):
        n = -(-outer // step) * inner
        beats += [(j, b, b == n - 1) for b in range(n)]
    seen: list[dict] = []

    async def bench(ctx):
        ctx.set(dut.go, 0)
        i, job = 0, None
        while i < len(beats):
            j, b, is_last = beats[i]
            inner, outer = jobs[j]
            ctx.set(dut.inner_last, inner - 1)
            ctx.set(dut.outer_last, outer - step)
            if j != job:  # the new geometry a cycle before go
                ctx.set(dut.go, 0)
                ctx.set(dut.tvalid, 0)
                await ctx.tick()
                ctx.set(dut.go, 1)
                job = j
            if rng.random() < gap:
                ctx.set(dut.tvalid, 0)
                await ctx.tick()
                continue
            tlast = is_last != (i in bad_last)
            ctx.set(dut.tvalid, 1)
            ctx.set(dut.tdata, i & 0xFF)
            ctx.set(dut.tlast, tlast)
            await ctx.delay(1e-9)
            word = ctx.get(dut.w_addr) % (1 << dut.w_addr.shape().width - 1)
            assert ctx.get(dut.word_m1) == word - 1
            seen.append(dict(job=j, beat=b, addr=ctx.get(dut.w_addr), lanes=ctx.get(dut.w_lanes),
                             loaded=ctx.get(dut.loaded), error=ctx.get(dut.error),
                             bank=ctx.get(dut.bank), expect_last=is_last))
            await ctx.tick()
            i += 1
        ctx.set(dut.tvalid, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return seen


@pytest.mark.parametrize("gap", [0.0, 0.4])
@pytest.mark.parametrize("step", [1, 3])
def test_jobs_of_any_geometry_back_to_back(step, gap):
    rng = np.random.default_rng(step)
    jobs = [(1, 1), (1, step), (3, 1), (2, step + 1)]
    jobs += [(int(rng.integers(1, 6)), int(rng.integers(1, 9))) for _ in range(10)]
    seen = run(jobs, step=step, gap=gap, seed=step)
    for s in seen:
        assert s["loaded"] == s["expect_last"], s
        assert s["error"] == 0, s
        assert s["bank"] == s["job"] % 2, s
        assert s["addr"] == (s["job"] % 2) * 64 + s["beat"], s


def test_lanes_fill_words():
    seen = run([(2, 3), (1, 1), (5, 1)], step=1, lanes=3)
    for s in seen:
        assert s["lanes"] == 1 << (s["beat"] % 3)
        assert s["addr"] % 64 == s["beat"] // 3


def test_tlast_disagreeing_with_the_job_is_an_error():
    jobs = [(2, 1), (1, 1), (3, 1)]  # 2 beats, 1 beat, 3 beats
    seen = run(jobs, step=1, bad_last={0, 1, 2, 4})
    assert [s["error"] for s in seen] == [1, 1, 1, 0, 1, 0]
    assert [s["loaded"] for s in seen] == [0, 1, 1, 0, 0, 1]  # the count decides, not tlast
