"""WSMesh: two folds back to back through a mesh, driven with the skews of its docstring."""

from __future__ import annotations

import re

import numpy as np
import pytest
from amaranth.sim import Simulator

from hw.config import ArrayConfig
from hw.mesh_ws import WSMesh


def _cfg(rows: int, cols: int, pipe: int) -> ArrayConfig:
    return ArrayConfig(rows=rows, cols=cols, dataflow="ws", pe_pipeline=pipe)


def test_init_wrong_config():
    with pytest.raises(TypeError, match=r"^config must be an ArrayConfig, not None$"):
        WSMesh(None)


def test_col_delay():
    mesh = WSMesh(_cfg(4, 3, 2))
    assert [mesh.col_delay(j) for j in range(3)] == [7, 8, 9]
    with pytest.raises(ValueError, match=re.escape("col must be in [0, 2], not 3")):
        mesh.col_delay(3)
    mesh._MustUse__silence = True   # only the arithmetic is under test


@pytest.mark.parametrize(("rows", "cols", "pipe", "m1", "m2"), [
    (3, 2, 1, 4, 2),     # second fold shorter than R
    (2, 3, 0, 2, 3),     # M = R: tightest back-to-back schedule
    (4, 4, 2, 5, 4),
])
def test_two_folds(rows, cols, pipe, m1, m2):
    cfg = _cfg(rows, cols, pipe)
    rng = np.random.default_rng(rows * 10 + cols)
    ws = [rng.integers(-128, 128, size=(rows, cols)) for _ in range(2)]
    xs = [rng.integers(-256, 256, size=(m1, rows)), rng.integers(-256, 256, size=(m2, rows))]
    # engine_ws's schedule: preload f starts at cw[f] (row i at the top of column j on cw + i + j),
    # its stream starts at e[f] >= cw[f] + rows; the next preload starts no earlier than e[f]
    cw = [0, rows]
    e = [rows, rows + max(m1, rows)]
    horizon = e[1] + m2 + rows + cols + pipe + 4
    x_in = np.zeros((horizon, rows), np.int64)
    sw_in = np.zeros((horizon, rows), np.int64)
    w_top = np.zeros((horizon, cols), np.int64)
    wv_top = np.zeros((horizon, cols), np.int64)
    widx_top = np.zeros((horizon, cols), np.int64)
    for f in range(2):
        for i in range(rows):
            for j in range(cols):
                t = cw[f] + i + j
                w_top[t, j], wv_top[t, j], widx_top[t, j] = ws[f][i, j], 1, i
        for mm in range(len(xs[f])):
            for i in range(rows):
                x_in[e[f] + mm + i, i] = xs[f][mm, i]
                sw_in[e[f] + mm + i, i] = int(mm == 0)
    # garbage activations between and after the folds must not disturb the results
    for t in range(horizon):
        for i in range(rows):
            if not any(e[f] <= t - i < e[f] + len(xs[f]) for f in range(2)):
                x_in[t, i] = rng.integers(-256, 256)

    mesh = WSMesh(cfg)
    out = []

    async def bench(ctx):
        for t in range(horizon):
            for i in range(rows):
                ctx.set(mesh.x_in[i], int(x_in[t, i]))
                ctx.set(mesh.sw_in[i], int(sw_in[t, i]))
            for j in range(cols):
                ctx.set(mesh.w_in[j], int(w_top[t, j]))
                ctx.set(mesh.wv_in[j], int(wv_top[t, j]))
                ctx.set(mesh.widx_in[j], int(widx_top[t, j]))
            _, _, psum = await ctx.tick().sample(mesh.psum_out)
            out.append([int(psum[j]) for j in range(cols)])

    sim = Simulator(mesh)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    for f in range(2):
        ref = xs[f] @ ws[f]   # independent: plain int64 matrix product
        for mm in range(len(xs[f])):
            got = [out[e[f] + mm + mesh.col_delay(j)][j] for j in range(cols)]
            assert got == ref[mm].tolist(), (f, mm)


def test_stalls_hold_everything():
    """Random inputs, ``en`` low on random cycles with the inputs held: the enabled cycles see
    exactly the outputs of the same input sequence without stalls."""
    from amaranth.hdl import Signal

    cfg = _cfg(3, 2, 1)
    rng = np.random.default_rng(5)
    n = 80
    seq = [{"x": rng.integers(-256, 256, 3), "sw": rng.random(3) < 0.3,
            "w": rng.integers(-128, 128, 2), "wv": rng.random(2) < 0.5,
            "idx": rng.integers(0, 3, 2)} for _ in range(n)]

    def run(stalls):
        en = Signal(init=1)
        mesh = WSMesh(cfg, en=en)
        out = []

        async def bench(ctx):
            t = c = 0
            while c < n:
                stalled = bool(stalls[t])
                ctx.set(en, 0 if stalled else 1)
                s = seq[c]
                for i in range(3):
                    ctx.set(mesh.x_in[i], int(s["x"][i]))
                ctx.set(mesh.sw_in, int(sum(int(b) << i for i, b in enumerate(s["sw"]))))
                for j in range(2):
                    ctx.set(mesh.w_in[j], int(s["w"][j]))
                    ctx.set(mesh.widx_in[j], int(s["idx"][j]))
                ctx.set(mesh.wv_in, int(sum(int(b) << j for j, b in enumerate(s["wv"]))))
                _, _, psum = await ctx.tick().sample(mesh.psum_out)
                if not stalled:
                    out.append([int(psum[j]) for j in range(2)])
                    c += 1
                t += 1

        sim = Simulator(mesh)
        sim.add_clock(1e-8)
        sim.add_testbench(bench)
        sim.run()
        return out

    ref = run(np.zeros(10 * n, bool))
    assert run(rng.random(10 * n) < 0.4) == ref
    assert sum(1 for row in ref if any(row)) > n // 2  # the sums move
