"""Requant against golden.requantize: random streams, edge values, timing, narrow configs."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from amaranth.hdl import Shape, signed, unsigned
from amaranth.lib.wiring import Out
from amaranth.sim import Simulator

import golden
from hw.config import ArrayConfig
from hw.requant import Requant

# Samples per random case: N_SMALL by default, N_RANDOM under ``-m slow`` (about 15 s per 10^5
# samples in the Amaranth simulator on an idle core, several times that on a loaded machine).
N_RANDOM = 100_000
N_SMALL = 20_000


# ---- helpers ----------------------------------------------------------------------------------
def run_requant(config, acc, bias, m0, shift, y_zp, act_min, act_max, *, gaps=None):
    """Stream samples through a Requant, one per cycle, and return the outputs in order.

    Parameters
    ----------
    config : ArrayConfig
    acc, bias, m0, shift, y_zp, act_min, act_max : (N,) int64 ndarray
        One value per sample.
    gaps : (N,) bool ndarray, optional
        Insert one idle cycle (``i_valid`` low, inputs garbage) before sample i where set.

    Returns
    -------
    out : (N,) int64 ndarray
        ``o_data`` of every cycle with ``o_valid`` high.
    valid_in, valid_out : list of int
        ``i_valid`` and ``o_valid`` of every cycle (for timing checks).
    """
    dut = Requant(config)
    n = len(acc)
    columns = [acc, bias, m0, shift, y_zp, act_min, act_max]
    rows = list(zip(*[np.asarray(c).tolist() for c in columns], strict=True))
    ports = [dut.i_acc, dut.i_bias, dut.i_m0, dut.i_shift, dut.i_y_zp, dut.i_act_min, dut.i_act_max]
    gaps = np.zeros(n, bool) if gaps is None else gaps
    schedule = []
    for i in range(n):
        if gaps[i]:
            schedule.append(None)
        schedule.append(rows[i])
    schedule += [None] * (dut.latency + 1)
    out, valid_in, valid_out = [], [], []

    async def testbench(ctx):
        garbage = (-1, 1, 3, -2, 5, 7, -7)
        for item in schedule:
            values = garbage if item is None else item
            for port, value in zip(ports, values, strict=True):
                ctx.set(port, value)
            ctx.set(dut.i_valid, item is not None)
            valid_in.append(int(item is not None))
            await ctx.tick()
            valid_out.append(ctx.get(dut.o_valid))
            if valid_out[-1]:
                out.append(ctx.get(dut.o_data))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return np.array(out, dtype=np.int64), valid_in, valid_out


def expected(config, acc, bias, m0, shift, y_zp, act_min, act_max):
    """golden.requantize of acc + bias, grouped by the per-sample (y_zp, act_min, act_max)."""
    total = np.asarray(acc, np.int64) + np.asarray(bias, np.int64)
    result = np.empty(len(total), np.int64)
    keys = np.stack([y_zp, act_min, act_max], axis=1)
    groups, inverse = np.unique(keys, axis=0, return_inverse=True)
    for g, (zp, lo, hi) in enumerate(groups):
        sel = inverse.reshape(-1) == g
        result[sel] = golden.requantize(
            total[sel], m0[sel], shift[sel], y_zp=int(zp), act_min=int(lo), act_max=int(hi),
            rounding=config.rounding, mult_bits=config.mult_bits,
        )
    return result


def random_samples(config, n, rng):
    """n samples spread so that most outputs fall inside the output range (not all saturated).

    The magnitude 2^e of acc is random; the shift is chosen around out_bits - 1 - e so that
    acc * m0 / 2^31 * 2^shift is near the output range; one sample in eight gets any shift.
    Multipliers are mult_bits-wide as quantize_multiplier returns them: m0 in
    [2^(mult_bits-2), 2^(mult_bits-1)) (one in 32 is 0, the real == 0 case).
    """
    a = config.acc_bits
    ob = config.out_bits
    e = rng.integers(0, a - 1, n)
    acc = (rng.random(n) * 2.0 - 1.0) * np.exp2(e)
    acc = np.clip(np.round(acc), -(2 ** (a - 2)), 2 ** (a - 2) - 1).astype(np.int64)
    bias_e = np.maximum(e - 3, 0)
    bias = np.round((rng.random(n) * 2.0 - 1.0) * np.exp2(bias_e)).astype(np.int64)
    m0 = rng.integers(1 << (config.mult_bits - 2), 1 << (config.mult_bits - 1), n, dtype=np.int64)
    m0[rng.random(n) < 1 / 32] = 0
    shift = ob - 1 - e + rng.integers(-2, 4, n)
    wild = rng.random(n) < 1 / 8
    shift[wild] = rng.integers(-31, 31, wild.sum())
    shift = np.clip(shift, -31, 30)
    half = 1 << (ob - 1)
    y_zp = rng.integers(-half, half, n)
    act_min = np.full(n, -half, np.int64)
    act_max = np.full(n, half - 1, np.int64)
    # One sample in four gets a narrower clamp (ReLU-like bounds that bind often).
    narrow = rng.random(n) < 1 / 4
    lo = rng.integers(-half, half, n)
    hi = rng.integers(-half, half, n)
    act_min[narrow] = np.minimum(lo, hi)[narrow]
    act_max[narrow] = np.maximum(lo, hi)[narrow]
    return acc, bias, m0, shift.astype(np.int64), y_zp, act_min, act_max


def edge_samples(config):
    """Cartesian product of extreme and tie-producing values."""
    a, b, ob = config.acc_bits, config.mult_bits, config.out_bits
    lo_acc, hi_acc = -(1 << (a - 1)), (1 << (a - 1)) - 1
    accs = [0, 1, -1, 2, -2, 3, -3, 5, -5, 127, -128, 255, -255, 1 << 20, -(1 << 20),
            (1 << (a - 2)) + 1, -(1 << (a - 2)) - 1, lo_acc, hi_acc]
    accs = [v for v in accs if lo_acc <= v <= hi_acc]
    biases = [0, 1, -1, lo_acc, hi_acc]
    # m0 = 2^(b-2) makes the high multiply's product land exactly on ties for odd accumulators.
    m0s = [0, 1 << (b - 2), (1 << (b - 2)) + 1, (3 << (b - 3)), (1 << (b - 1)) - 1]
    shifts = [-31, -30, -16, -8, -2, -1, 0, 1, 2, 8, 16, 29, 30]
    half = 1 << (ob - 1)
    top, bottom = half - 1, -half
    # (y_zp, act_min, act_max); cycled through the grid rather than multiplied into it.
    clamps = [(0, bottom, top), (-1, bottom, top), (top, bottom, top), (bottom, bottom, top),
              (1, 0, top), (0, -1, min(1, top)), (top, top, top), (bottom, 0, 0)]
    grid = [(ac, bi, m, s) for ac in accs for bi in biases for m in m0s for s in shifts]
    rows = [(*g, *clamps[i % len(clamps)]) for i, g in enumerate(grid)]
    return tuple(np.array(col, np.int64) for col in zip(*rows, strict=True))


def check(config, samples, *, gaps=None):
    got, _, _ = run_requant(config, *samples, gaps=gaps)
    want = expected(config, *samples)
    assert got.shape == want.shape
    bad = np.flatnonzero(got != want)
    if bad.size:
        i = bad[0]
        fields = ("acc", "bias", "m0", "shift", "y_zp", "act_min", "act_max")
        sample = {f: int(col[i]) for f, col in zip(fields, samples, strict=True)}
        raise AssertionError(
            f"{bad.size} of {len(want)} mismatches; first at {i}: {sample} -> {got[i]}, "
            f"golden {want[i]}"
        )
    return want


# ---- construction -----------------------------------------------------------------------------
def test_init():
    cfg = ArrayConfig(acc_bits=24, mult_bits=16, out_bits=6)
    dut = Requant(cfg)
    dut._MustUse__silence = True  # only the interface is inspected
    assert dut.config is cfg
    assert dut.latency == cfg.requant_latency
    members = dut.signature.members
    expected_shapes = {
        "i_valid": unsigned(1), "i_acc": signed(24), "i_bias": signed(24), "i_m0": signed(16),
        "i_shift": signed(6), "i_y_zp": signed(6), "i_act_min": signed(6), "i_act_max": signed(6),
        "o_valid": unsigned(1), "o_data": signed(6),
    }
    assert {name: Shape.cast(m.shape) for name, m in members.items()} == expected_shapes
    assert [name for name, m in members.items() if m.flow == Out] == ["o_valid", "o_data"]


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")  # the rejected instance
def test_init_wrong_config():
    message = r"^config must be an ArrayConfig, not \{'rows': 4\}$"
    with pytest.raises(TypeError, match=message) as exc:
        Requant({"rows": 4})
    del exc  # the traceback holds the half-built instance; free it while the filter is active
    gc.collect()


# ---- numerics ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [N_SMALL, pytest.param(N_RANDOM, marks=pytest.mark.slow)])
@pytest.mark.parametrize("mult_bits", [32, 16])
@pytest.mark.parametrize("rounding", golden.ROUNDINGS)
def test_random(rounding, mult_bits, n):
    cfg = ArrayConfig(mult_bits=mult_bits, rounding=rounding)
    rng = np.random.default_rng(1000 * n + mult_bits + golden.ROUNDINGS.index(rounding))
    samples = random_samples(cfg, n, rng)
    want = check(cfg, samples)
    # The stimulus must exercise the datapath, not only the clamp.
    half = 1 << (cfg.out_bits - 1)
    inside = (want > -half) & (want < half - 1)
    assert inside.mean() > 0.3


@pytest.mark.parametrize("rounding", golden.ROUNDINGS)
@pytest.mark.parametrize(
    "fields",
    [
        dict(acc_bits=32, mult_bits=32, out_bits=8),
        dict(acc_bits=32, mult_bits=16, out_bits=8),
        dict(a_bits=4, w_bits=4, acc_bits=20, mult_bits=16, out_bits=4),
        dict(a_bits=4, w_bits=4, acc_bits=12, mult_bits=8, out_bits=2),
        dict(a_bits=16, w_bits=16, acc_bits=48, mult_bits=31, out_bits=16),
    ],
    ids=["a32m32o8", "a32m16o8", "a20m16o4", "a12m8o2", "a48m31o16"],
)
def test_edges(fields, rounding):
    cfg = ArrayConfig(rounding=rounding, **fields)
    check(cfg, edge_samples(cfg))


@pytest.mark.parametrize("rounding", golden.ROUNDINGS)
def test_narrow_random(rounding):
    cfg = ArrayConfig(a_bits=4, w_bits=4, acc_bits=20, mult_bits=16, out_bits=4, rounding=rounding)
    check(cfg, random_samples(cfg, N_SMALL, np.random.default_rng(7)))


def test_ties_are_exercised():
    """The edge grid really produces rounding ties in both roundings of "tflite" (else the edge
    test could not tell ties-up from ties-away)."""
    cfg = ArrayConfig()  # mult_bits=32: m0 is already the Q31 multiplier
    acc, bias, m0, shift = (col.astype(object) for col in edge_samples(cfg)[:4])
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    product = (acc + bias) * 2**left * m0
    high_tie = product % (1 << 31) == (1 << 30)
    assert high_tie.sum() > 100
    high = (product + (1 << 30)) // (1 << 31)
    pot_tie = (right > 0) & (high % 2**right == 2 ** np.maximum(right - 1, 0))
    assert (pot_tie & (high < 0)).sum() > 100 and (pot_tie & (high > 0)).sum() > 100


# ---- timing -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fields",
    [
        dict(a_bits=4, w_bits=4, acc_bits=12, mult_bits=8, out_bits=2),  # 1 partial product
        dict(mult_bits=16),  # 2
        dict(),  # 4
        dict(a_bits=16, w_bits=16, acc_bits=48, mult_bits=31, out_bits=16),  # 6
    ],
    ids=["pp1", "pp2", "pp4", "pp6"],
)
def test_valid_timing_with_gaps(fields):
    """o_valid is i_valid delayed by exactly ``latency`` for every multiplier tree depth."""
    cfg = ArrayConfig(**fields)
    rng = np.random.default_rng(3)
    samples = random_samples(cfg, 500, rng)
    gaps = rng.random(500) < 0.3
    got, valid_in, valid_out = run_requant(cfg, *samples, gaps=gaps)
    lat = cfg.requant_latency
    # o_valid, sampled after the clock edge of cycle t, is i_valid of cycle t - lat + 1.
    assert valid_out[lat - 1:] == valid_in[: len(valid_in) - lat + 1]
    assert not any(valid_out[: lat - 1])
    np.testing.assert_array_equal(got, expected(cfg, *samples))
