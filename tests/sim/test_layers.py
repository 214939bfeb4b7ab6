"""Layers through the generated Verilog on Verilator, bit-exact against the golden layer.

One Verilator build per config (cached across runs, see sim.runner); all layers of a config run in
one simulation per stream mode to keep simulator start-up out of the budget.
"""

import numpy as np
import pytest

import golden
from golden.lowering import lower, run_job_reference
from hw.config import ArrayConfig
from sim.layer_runner import find_mismatch, run_jobs, run_layers

CONFIGS = {
    "os4x4": ArrayConfig(rows=4, cols=4),
    "ws8x8": ArrayConfig(rows=8, cols=8, dataflow="ws"),
    # 4x8 OS also carries rounding "single" (saves a build; the other configs use "tflite")
    "os4x8_single": ArrayConfig(rows=4, cols=8, rounding="single"),
    "narrow4": ArrayConfig(
        rows=4, cols=4, a_bits=4, w_bits=4, acc_bits=20, mult_bits=16, out_bits=4
    ),
}
#: K split: banks of 64 words hold K = 64 for one 4 x 4 block; acc_bits = 24 sums K up to
#: max_k = 257 (so max_k itself, 5 chunks, runs in simulation time). The OS one carries rounding
#: "halfup" through every layer kind.
SPLIT = dict(rows=4, cols=4, acc_bits=24, a_buf_depth=64, w_buf_depth=64, psum_depth=32)
SPLIT_CONFIGS = {
    "os4x4_split_halfup": ArrayConfig(rounding="halfup", **SPLIT),
    "ws4x4_split": ArrayConfig(dataflow="ws", **SPLIT),
}
SLOW_CONFIGS = {
    "os8x8": ArrayConfig(rows=8, cols=8),
    "ws4x4_single_m24": ArrayConfig(rows=4, cols=4, dataflow="ws", rounding="single", mult_bits=24),
    "os3x5": ArrayConfig(rows=3, cols=5, pe_pipeline=0, out_fifo_depth=8),
}


def random_layers(cfg: ArrayConfig, seed: int) -> list:
    """The layer set of the suite, sized to exceed the array in every GEMM dimension."""
    rng = np.random.default_rng(seed)
    bits = dict(a_bits=cfg.a_bits, w_bits=cfg.w_bits, out_bits=cfg.out_bits, acc_bits=cfg.acc_bits)
    r, c = cfg.rows, cfg.cols
    specs = [
        ("matmul", dict(m=2 * r + 3, k=2 * max(r, c) + 5, n=2 * c + 1)),
        ("fully_connected", dict(batch=3, in_features=37, out_features=c + 3)),
        ("conv2d", dict(h=9, w=7, cin=3, cout=c + 2, kernel=3, stride=2, padding="SAME")),
        ("conv2d", dict(h=8, w=8, cin=2, cout=3, kernel=3, dilation=2, padding="VALID")),
        (
            "depthwise_conv2d",
            dict(h=6, w=7, cin=5, multiplier=2, kernel=3, stride=1, padding="SAME", dilation=1),
        ),
        ("conv2d", dict(batch=2, h=3, w=4, cin=6, cout=c + 1, kernel=1)),
    ]
    return [golden.make_random_layer(op, rng=rng, **bits, **dims) for op, dims in specs]


def extreme_layers(cfg: ArrayConfig, seed: int) -> list:
    """Operands at the ends of their ranges, x_zp at both ends, and clamps that bind."""
    rng = np.random.default_rng(seed)
    alo, ahi = -(1 << (cfg.a_bits - 1)), (1 << (cfg.a_bits - 1)) - 1
    wlo, whi = -(1 << (cfg.w_bits - 1)), (1 << (cfg.w_bits - 1)) - 1
    olo, ohi = -(1 << (cfg.out_bits - 1)), (1 << (cfg.out_bits - 1)) - 1
    m, k, n = cfg.rows + 1, 2 * cfg.rows + 1, cfg.cols + 1
    layers = []
    for x_val, w_val, x_zp in ((alo, wlo, ahi), (ahi, wlo, alo)):  # largest |products|, both signs
        layers.append(
            golden.Layer(
                "matmul",
                np.full((m, k), x_val),
                np.full((k, n), w_val),
                np.zeros(n, np.int64),
                np.full(n, (1 << 31) - 1),
                np.full(n, -8),
                x_zp=x_zp,
                y_zp=0,
                a_bits=cfg.a_bits,
                w_bits=cfg.w_bits,
                out_bits=cfg.out_bits,
            )
        )
    # random extremes with a narrow clamp that binds on both sides, y_zp at an end
    x = rng.choice([alo, ahi, 0], size=(m, k))
    w = rng.choice([wlo, whi, 0], size=(k, n))
    span = k * (ahi - alo) * (1 << (cfg.w_bits - 1))
    m0, shift = golden.quantize_multiplier(np.full(n, 4.0 * (ohi + 1) / span))
    layers.append(
        golden.Layer(
            "matmul",
            x,
            w,
            rng.integers(-span // 4, span // 4, size=n),
            m0,
            shift,
            x_zp=alo,
            y_zp=olo,
            act_min=olo + 1,
            act_max=olo + (ohi - olo) // 2,
            a_bits=cfg.a_bits,
            w_bits=cfg.w_bits,
            out_bits=cfg.out_bits,
        )
    )
    return layers


def split_layers(cfg: ArrayConfig, seed: int) -> list:
    """K at 1, 1.5 and 4 times a bank's capacity and at max_k (random and extreme operands)."""
    assert cfg.max_job_k == 64 and cfg.max_k == 257
    rng = np.random.default_rng(seed)
    bits = dict(a_bits=cfg.a_bits, w_bits=cfg.w_bits, out_bits=cfg.out_bits, acc_bits=cfg.acc_bits)
    specs = [
        ("matmul", dict(m=6, k=64, n=7)),  # one bank
        ("matmul", dict(m=9, k=96, n=5)),  # 1.5 banks
        ("fully_connected", dict(batch=3, in_features=256, out_features=6)),  # 4 banks
        ("conv2d", dict(h=4, w=4, cin=28, cout=5, kernel=3, padding="SAME")),  # K = 252
        ("matmul", dict(m=5, k=257, n=6)),  # max_k
    ]
    layers = [golden.make_random_layer(op, rng=rng, **bits, **dims) for op, dims in specs]
    k, n = cfg.max_k, 5
    for x_val, w_val, x_zp in ((-128, -128, 127), (127, -128, -128)):  # the largest sums
        layers.append(
            golden.Layer(
                "matmul", np.full((3, k), x_val), np.full((k, n), w_val), np.zeros(n, np.int64),
                np.full(n, (1 << 31) - 1), np.full(n, -17), x_zp=x_zp, y_zp=0,
            )
        )
    return layers


#: K chunks per output block of each layer of :func:`split_layers`.
SPLIT_CHUNKS = [1, 2, 4, 4, 5, 5, 5]


def _check(cfg, layers, **switches):
    results = run_layers(cfg, layers, **switches)
    for i, (layer, (got, stats)) in enumerate(zip(layers, results, strict=False)):
        want = layer.output(rounding=cfg.rounding, mult_bits=cfg.mult_bits)
        assert stats["mismatch"] is None, f"layer {i} ({layer.op}): {stats['mismatch']}"
        np.testing.assert_array_equal(got, want, err_msg=f"layer {i} ({layer.op})")
        assert (
            stats["job_mismatches"] == 0 and stats["bad_padding"] == 0 and stats["error_port"] == 0
        )
        assert stats["cycles"] > 0 and stats["macs"] == layer.macs
    return results


@pytest.mark.parametrize(
    "switches",
    [{}, {"gaps": True, "backpressure": True, "seed": 5}],
    ids=["streaming", "gaps_backpressure"],
)
@pytest.mark.parametrize("cfg_name", list(CONFIGS))
def test_layers_bit_exact(cfg_name, switches):
    cfg = CONFIGS[cfg_name]
    _check(cfg, random_layers(cfg, 11) + extreme_layers(cfg, 12), **switches)


@pytest.mark.parametrize(
    "switches",
    [{}, {"gaps": True, "backpressure": True, "seed": 7}],
    ids=["streaming", "gaps_backpressure"],
)
@pytest.mark.parametrize("cfg_name", list(SPLIT_CONFIGS))
def test_k_split_bit_exact(cfg_name, switches):
    """K split across jobs, partial sums on chip: bit-exact up to max_k, never wrapping."""
    cfg = SPLIT_CONFIGS[cfg_name]
    layers = split_layers(cfg, 31)
    if cfg.rounding == "halfup":
        layers += random_layers(cfg, 32) + extreme_layers(cfg, 33)
    results = _check(cfg, layers, **switches)
    chunks = [stats["k_chunks"] for _, stats in results[: len(SPLIT_CHUNKS)]]
    assert chunks == SPLIT_CHUNKS
    for _, stats in results[: len(SPLIT_CHUNKS)]:
        if stats["k_chunks"] > 1:  # every chunk sends its parameters again
            assert stats["split_extra_beats"] >= 0
            assert stats["beats"]["param"] > stats["unsplit_beats"]["param"]


@pytest.mark.slow
@pytest.mark.parametrize("cfg_name", list(SLOW_CONFIGS))
def test_layers_bit_exact_more_configs(cfg_name):
    cfg = SLOW_CONFIGS[cfg_name]
    layers = random_layers(cfg, 21) + extreme_layers(cfg, 22)
    _check(cfg, layers)
    _check(cfg, layers, gaps=True, backpressure=True, seed=3)


def test_corrupted_expectation_is_reported():
    cfg = CONFIGS["os4x4"]
    layer = golden.make_random_layer(
        "conv2d", rng=np.random.default_rng(3), h=5, w=5, cin=3, cout=6, kernel=3, padding="SAME"
    )
    plan = lower(layer, cfg)
    expected = [
        run_job_reference(j, rounding=cfg.rounding, mult_bits=cfg.mult_bits) for j in plan.jobs
    ]
    bad_job = len(plan.jobs) - 1
    expected[bad_job] = expected[bad_job].copy()
    expected[bad_job][2, 1] += 1  # the testbench's scoreboard must catch this
    run = run_jobs(cfg, plan.jobs, expected)
    assert run.mismatches.tolist() == [0] * bad_job + [1]
    assert any("1 output values differ" in msg for msg in run.messages), run.messages
    # the layer-level checker names the element, its tile and the cycle it left the array
    got = plan.assemble(run.outputs)
    want = layer.output().copy()
    np.testing.assert_array_equal(got, want)
    flat = want.reshape(-1)
    target = 17
    flat[target] += 1
    mm = find_mismatch(plan, got, want, run.beat_cycles, cfg.cols)
    j, m, n = plan.locate(target)
    assert (mm.count, mm.job, mm.m, mm.n, mm.expected, mm.actual) == (
        1,
        j,
        m,
        n,
        flat[target],
        flat[target] - 1,
    )
    assert mm.index == tuple(np.unravel_index(target, want.shape))
    assert mm.cycle == run.beat_cycles[j][(n // cfg.cols) * plan.jobs[j].m + m] > run.cmd_cycle[j]
    assert f"first at output index {mm.index}" in str(mm)
