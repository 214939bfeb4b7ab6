# amaranth: UnusedElaboratable=no
"""OSMesh: skewed folds in, column drain timing and values out (against a NumPy matrix product)."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.config import ArrayConfig
from hw.mesh_os import OSMesh


def test_init_wrong_config():
    with pytest.raises(TypeError, match=r"^config must be an ArrayConfig, not 4$"):
        OSMesh(4)


@pytest.mark.parametrize(
    "rows,cols,ks,pipe",
    [
        (3, 2, [4, 3, 5], 1),  # K >= R: folds back to back
        (3, 3, [1, 2], 0),  # K < R: folds spaced by rows cycles
    ],
)
def test_folds(rows, cols, ks, pipe):
    cfg = ArrayConfig(rows=rows, cols=cols, pe_pipeline=pipe)
    rng = np.random.default_rng(rows + sum(ks))
    dut = OSMesh(cfg)
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
