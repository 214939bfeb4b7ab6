# amaranth: UnusedElaboratable=no
"""OSMesh: skewed folds in, column drain timing and values out (against a NumPy matrix product)."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Signal
from amaranth.sim import Simulator

from hw.config import ArrayConfig
from hw.mesh_os import (
    OSMesh,
    chain_drain_latency,
    min_drain_latency,
    tree_levels,
)


def test_init_wrong_config():
    with pytest.raises(TypeError, match=r"^config must be an ArrayConfig, not 4$"):
        OSMesh(4)


def test_drain_latency_figures():
    assert [tree_levels(r) for r in (1, 2, 3, 8, 9, 32, 33, 128)] == [1, 1, 2, 2, 3, 3, 4, 4]
    cfg = ArrayConfig(rows=8, cols=8, pe_pipeline=1)
    assert min_drain_latency(cfg) == 3 + 2 and chain_drain_latency(cfg) == 8 + 1 + 2
    assert OSMesh(cfg).drain_latency == chain_drain_latency(cfg)
    assert OSMesh(cfg, drain_latency=6).drain_latency == 6
    with pytest.raises(ValueError, match=r"^drain_latency must be at least 5, not 4$"):
        OSMesh(cfg, drain_latency=4)
    with pytest.raises(TypeError, match=r"^drain_latency must be an integer, not 4.0$"):
        OSMesh(cfg, drain_latency=4.0)
    with pytest.raises(ValueError, match=r"^rows must be a positive integer, not 0$"):
        tree_levels(0)


def _schedule(dut, cfg, folds, stalls=None):
    """Drive ``folds`` through ``dut``; with ``stalls`` (a bool per cycle) hold everything on the
    stalled cycles. Returns col_out of the enabled cycles, in order."""
    rows, cols = cfg.rows, cfg.cols
    starts, t = [], 2
    for a, _ in folds:
        starts.append(t)
        t += max(a.shape[1], dut.fold_spacing)
    horizon = t + dut.drain_latency + rows + cols + 2
    a_sched = np.zeros((horizon, rows), dtype=np.int64)
    w_sched = np.zeros((horizon, cols), dtype=np.int64)
    f_sched = np.zeros((horizon, rows), dtype=np.int64)
    l_sched = np.zeros((horizon, rows), dtype=np.int64)
    for (a, w), t0 in zip(folds, starts, strict=True):
        k = a.shape[1]
        for kk in range(k):
            for i in range(rows):
                a_sched[t0 + kk + i, i] = a[i, kk]
                f_sched[t0 + kk + i, i] = kk == 0
                l_sched[t0 + kk + i, i] = kk == k - 1
            for j in range(cols):
                w_sched[t0 + kk + j, j] = w[kk, j]
    outs = []

    async def bench(ctx):
        c = 0
        for cycle in range(10 * horizon):
            if c == horizon:
                break
            stalled = stalls is not None and stalls[cycle]
            if stalls is not None:
                ctx.set(dut_en, 0 if stalled else 1)
            ctx.set(dut.a_in, [int(v) for v in a_sched[c]])
            ctx.set(dut.w_in, [int(v) for v in w_sched[c]])
            ctx.set(dut.first_in, int(sum(int(b) << i for i, b in enumerate(f_sched[c]))))
            ctx.set(dut.last_in, int(sum(int(b) << i for i, b in enumerate(l_sched[c]))))
            _, _, col = await ctx.tick().sample(dut.col_out)
            if not stalled:
                outs.append([int(v) for v in col])
                c += 1

    dut_en = getattr(dut, "_test_en", None)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return starts, outs


@pytest.mark.parametrize(
    "rows,cols,ks,pipe,drain",
    [
        (3, 2, [4, 3, 5], 1, None),  # K >= R: folds back to back
        (3, 3, [1, 2], 0, None),  # K < R: folds spaced by rows cycles
        (4, 2, [4, 6, 4], 2, "min"),  # the smallest drain latency
        (5, 3, [2, 5, 7], 1, "min"),  # a row count that does not fill the tree
        (1, 2, [3, 1, 2], 1, "min"),  # a single row
    ],
)
def test_folds(rows, cols, ks, pipe, drain):
    cfg = ArrayConfig(rows=rows, cols=cols, pe_pipeline=pipe)
    rng = np.random.default_rng(rows + sum(ks))
    dut = OSMesh(cfg, drain_latency=min_drain_latency(cfg) if drain == "min" else None)
    folds = [
        (rng.integers(-255, 256, size=(rows, k)), rng.integers(-128, 128, size=(k, cols)))
        for k in ks
    ]
    # Unskewed schedule: fold f starts at t0, its step kk at t0 + kk; folds at least `rows` apart.
    starts, t = [], 2
    for k in ks:
        starts.append(t)
        t += max(k, dut.fold_spacing)
    horizon = t + dut.drain_latency + rows + cols + 2
    a_sched = np.zeros((horizon, rows), dtype=np.int64)
    w_sched = np.zeros((horizon, cols), dtype=np.int64)
    f_sched = np.zeros((horizon, rows), dtype=np.int64)
    l_sched = np.zeros((horizon, rows), dtype=np.int64)
    for (a, w), t0 in zip(folds, starts, strict=True):
        k = a.shape[1]
        for kk in range(k):
            for i in range(rows):
                a_sched[t0 + kk + i, i] = a[i, kk]
                f_sched[t0 + kk + i, i] = kk == 0
                l_sched[t0 + kk + i, i] = kk == k - 1
            for j in range(cols):
                w_sched[t0 + kk + j, j] = w[kk, j]
    outs = []

    async def bench(ctx):
        for c in range(horizon):
            ctx.set(dut.a_in, [int(v) for v in a_sched[c]])
            ctx.set(dut.w_in, [int(v) for v in w_sched[c]])
            ctx.set(dut.first_in, int(sum(int(b) << i for i, b in enumerate(f_sched[c]))))
            ctx.set(dut.last_in, int(sum(int(b) << i for i, b in enumerate(l_sched[c]))))
            _, _, col = await ctx.tick().sample(dut.col_out)
            outs.append([int(v) for v in col])

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    for (a, w), t0 in zip(folds, starts, strict=True):
        ref = a @ w
        t_last = t0 + a.shape[1] - 1
        for j in range(cols):
            for r in range(rows):
                got = outs[t_last + dut.drain_latency + j + r][j]
                assert got == ref[r, j], f"fold at {t0}: row {r} col {j}"


@pytest.mark.parametrize("pipe", [0, 1])
def test_stalls_hold_everything(pipe):
    """With ``en`` low on random cycles (inputs held), the enabled cycles see exactly the
    unstalled mesh's outputs."""
    cfg = ArrayConfig(rows=3, cols=3, pe_pipeline=pipe)
    rng = np.random.default_rng(11 + pipe)
    folds = [(rng.integers(-255, 256, size=(3, k)), rng.integers(-128, 128, size=(k, 3)))
             for k in (4, 3, 6)]
    _, ref = _schedule(OSMesh(cfg), cfg, folds)
    en = Signal(init=1)
    dut = OSMesh(cfg, en=en)
    dut._test_en = en
    _, got = _schedule(dut, cfg, folds, stalls=rng.random(10_000) < 0.35)
    assert got == ref
    # ... and those are the fold results (each of the 27 appears once on its column).
    results = sorted(int(v) for a, w in folds for v in (a @ w).ravel())
    assert sorted(v for row in ref for v in row if v) == [v for v in results if v]
