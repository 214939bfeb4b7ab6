"""OutPath: parameter lookup, requantization, output FIFO and registered output stage."""

from __future__ import annotations

import random

import numpy as np
import pytest
from amaranth.hdl import Elaboratable, Module
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator

import golden
from hw.config import ArrayConfig
from hw.out_fifo import OUT_FIFO_LATENCY
from hw.outpath import PARAM_LOOKUP, OutPath, outpath_latency

CFG = ArrayConfig(rows=2, cols=3, a_buf_depth=16, w_buf_depth=16, param_depth=8, out_fifo_depth=4)
PARAM_WORDS = 4  # ceil(8 / 3) = 3 words, rounded up to a power of two


def test_bad_arguments():
    with pytest.raises(TypeError, match=r"^config must be an ArrayConfig, not 3$"):
        OutPath(3, PARAM_WORDS, 4)
    with pytest.raises(ValueError, match=r"^param_words must be a power of two >= 2, not 3$"):
        OutPath(CFG, 3, 4)
    with pytest.raises(ValueError, match=r"^fifo_depth must be a power of two >= 4, not 2$"):
        OutPath(CFG, PARAM_WORDS, 2)


class _Harness(Elaboratable):
    """OutPath with a parameter memory holding ``words`` (the top's memory, read the same way)."""

    def __init__(self, dut: OutPath, words: list[int]) -> None:
        self.dut, self.words = dut, words

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        mem = Memory(shape=len(dut.p_data), depth=len(self.words), init=self.words)
        m.submodules.mem = mem
        rd = mem.read_port()
        m.d.comb += [rd.addr.eq(dut.p_addr), rd.en.eq(dut.p_en), dut.p_data.eq(rd.data)]
        return m


def _run(seed: int, n_rows: int, stall_in: float, stall_out: float, fifo_depth: int = 4):
    cfg, cols, rng = CFG, CFG.cols, random.Random(seed)
    pb = cfg.acc_bits + cfg.mult_bits + cfg.shift_bits
    channels = 2 * PARAM_WORDS * cols
    real = np.array([rng.uniform(1e-4, 0.5) for _ in range(channels)])
    m0, shift = golden.quantize_multiplier(real, cfg.mult_bits)
    bias = np.array([rng.randrange(-5000, 5000) for _ in range(channels)], np.int64)
    words = []
    for w in range(2 * PARAM_WORDS):
        word = 0
        for j in range(cols):
            c = w * cols + j
            lane = (int(bias[c]) % (1 << cfg.acc_bits)) | (
                (int(m0[c]) % (1 << cfg.mult_bits)) << cfg.acc_bits) | (
                (int(shift[c]) % (1 << cfg.shift_bits)) << (cfg.acc_bits + cfg.mult_bits))
            word |= lane << (j * pb)
        words.append(word)
    fields = {b: (rng.randrange(-10, 10), rng.randrange(-128, -50), rng.randrange(50, 128))
              for b in range(2)}
    rows = []
    for i in range(n_rows):
        bank, nb = rng.randrange(2), rng.randrange(PARAM_WORDS)
        rows.append({"acc": [rng.randrange(-(1 << 20), 1 << 20) for _ in range(cols)],
                     "nb": nb, "bank": bank, "last": int(i % 5 == 4 or i == n_rows - 1),
                     "lanes": rng.randrange(1 << cols)})
    expect = []
    for r in rows:
        y_zp, lo, hi = fields[r["bank"]]
        c = np.array([(r["bank"] * PARAM_WORDS + r["nb"]) * cols + j for j in range(cols)])
        out = golden.requantize(np.array(r["acc"]) + bias[c], m0[c], shift[c], y_zp=y_zp,
                                act_min=lo, act_max=hi, rounding=cfg.rounding,
                                mult_bits=cfg.mult_bits)
        lanes = [int(v) if r["lanes"] >> j & 1 else 0 for j, v in enumerate(out)]
        expect.append((lanes, r["last"]))

    dut = OutPath(cfg, PARAM_WORDS, fifo_depth)
    got, taken_at, beat_at, counts = [], [], [], {"done": 0, "release": 0}
    ob = cfg.out_bits

    async def testbench(ctx):
        i, cycle = 0, 0
        while len(got) < n_rows:
            assert cycle < 50 * n_rows + 100, "output stalled"
            bank = ctx.get(dut.job_bank)
            y_zp, lo, hi = fields[bank]
            ctx.set(dut.job_y_zp, y_zp)
            ctx.set(dut.job_act_min, lo)
            ctx.set(dut.job_act_max, hi)
            offer = i < n_rows and rng.random() >= stall_in
            if offer:
                r = rows[i]
                ctx.set(dut.res_acc, r["acc"])
                ctx.set(dut.res_nb, r["nb"])
                ctx.set(dut.res_bank, r["bank"])
                ctx.set(dut.res_last, r["last"])
                ctx.set(dut.res_lanes, r["lanes"])
            ctx.set(dut.res_valid, offer)
            ready = rng.random() >= stall_out
            ctx.set(dut.out_tready, ready)
            if offer and ctx.get(dut.run):
                taken_at.append(cycle)
                i += 1
            if ctx.get(dut.out_tvalid) and ready:
                data = ctx.get(dut.out_tdata)
                lanes = [((data >> (j * ob)) & ((1 << ob) - 1)) for j in range(cfg.cols)]
                lanes = [v - (1 << ob) if v >> (ob - 1) else v for v in lanes]
                got.append((lanes, ctx.get(dut.out_tlast)))
                beat_at.append(cycle)
                assert ctx.get(dut.done) == ctx.get(dut.out_tlast)
            else:
                assert not ctx.get(dut.done)
            counts["release"] += ctx.get(dut.release)
            await ctx.tick()
            cycle += 1

    sim = Simulator(_Harness(dut, words))
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return dut, got, expect, taken_at, beat_at, counts


def test_latency_without_stalls():
    dut, got, expect, taken_at, beat_at, _ = _run(1, 12, 0.0, 0.0, fifo_depth=8)
    assert got == expect
    stages = PARAM_LOOKUP + CFG.requant_latency + OUT_FIFO_LATENCY + 1
    assert dut.latency == outpath_latency(CFG) == stages
    assert [b - t for t, b in zip(taken_at, beat_at, strict=True)] == [dut.latency] * 12
    assert beat_at == list(range(beat_at[0], beat_at[0] + 12))  # full rate, no bubbles


@pytest.mark.parametrize("seed", [2, 3])
@pytest.mark.parametrize(("stall_in", "stall_out"), [(0.0, 0.5), (0.3, 0.3), (0.0, 0.9)])
def test_nothing_lost_or_duplicated_under_backpressure(seed, stall_in, stall_out):
    _, got, expect, _, _, counts = _run(seed, 40, stall_in, stall_out)
    assert got == expect
    assert counts["release"] == sum(last for _, last in expect)
