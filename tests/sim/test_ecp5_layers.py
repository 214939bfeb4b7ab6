"""The whole ECP5-target ``qmac_top`` (MULT18X18D blocks with their own registers, CCU2C chains, the
stall enables wired to every block) through the normal layer runner: bit-exact against golden,
and cycle for cycle the generic build, under random input gaps and output back-pressure.

The blocks run on the behavioural model ``sim/models/MULT18X18D.v`` (``sim.cell_models``); a
model whose input registers ignore their clock enable must fail here, so the stalls really reach
the blocks in these runs. Builds: about half a minute per 2x2 array, longer for 4x4
(``sim.runner`` caches them); the bigger arrays are ``slow``.
"""

from __future__ import annotations

import numpy as np
import pytest

import golden
from hw.config import ArrayConfig, preset
from sim import SimError, layer_runner, run_layers, runner
from tests.sim.test_layers import extreme_layers

SMALL = dict(a_buf_depth=16, w_buf_depth=16, param_depth=4)
CONFIGS = {
    "os2x2": ArrayConfig(rows=2, cols=2, acc_depth=4, out_fifo_depth=4, **SMALL),
    "ws2x2_p2": ArrayConfig(rows=2, cols=2, dataflow="ws", pe_pipeline=2, acc_depth=16,
                          out_fifo_depth=4, **SMALL),
    "int8-4x4": preset("int8-4x4"),
}
SLOW_CONFIGS = {
    "os3x2_p0": ArrayConfig(rows=3, cols=2, pe_pipeline=0, acc_depth=4, out_fifo_depth=8,
                            **SMALL),
    "os3x5_p2_halfup": ArrayConfig(rows=3, cols=5, pe_pipeline=2, rounding="halfup"),
    "int8-8x8-ws": preset("int8-8x8-ws"),
}
STALLS = dict(gaps=True, backpressure=True)


def ecp5_layers(cfg: ArrayConfig, seed: int) -> list:
    """A 3x3 convolution, a fully connected layer whose K spans 2.5 banks (split into 3 jobs per
    output block), a depthwise convolution and operands at the ends of their ranges."""
    rng = np.random.default_rng(seed)
    bits = dict(a_bits=cfg.a_bits, w_bits=cfg.w_bits, out_bits=cfg.out_bits, acc_bits=cfg.acc_bits)
    k = 5 * cfg.max_job_k // 2
    assert k <= cfg.max_k
    specs = [
        ("conv2d", dict(h=5, w=5, cin=3, cout=cfg.cols + 1, kernel=3, padding="SAME")),
        ("fully_connected", dict(batch=3, in_features=k, out_features=cfg.cols + 1)),
        ("depthwise_conv2d", dict(h=5, w=6, cin=3, multiplier=2, kernel=3, padding="SAME")),
    ]
    layers = [golden.make_random_layer(op, rng=rng, **bits, **dims) for op, dims in specs]
    return layers + extreme_layers(cfg, seed + 1)


def _check(cfg, layers, results) -> None:
    for i, (layer, (got, stats)) in enumerate(zip(layers, results, strict=True)):
        want = layer.output(rounding=cfg.rounding, mult_bits=cfg.mult_bits)
        assert stats["mismatch"] is None, f"layer {i} ({layer.op}): {stats['mismatch']}"
        np.testing.assert_array_equal(got, want, err_msg=f"layer {i} ({layer.op})")
        assert stats["job_mismatches"] == stats["bad_padding"] == stats["error_port"] == 0
        assert stats["macs"] == layer.macs


def _ecp5_equals_generic(cfg, seed: int) -> None:
    layers = ecp5_layers(cfg, seed)
    ecp5 = run_layers(cfg, layers, target="ecp5", seed=seed, **STALLS)
    _check(cfg, layers, ecp5)
    assert ecp5[1][1]["k_chunks"] == 3
    generic = run_layers(cfg, layers, seed=seed, **STALLS)
    _check(cfg, layers, generic)
    # The same gap and back-pressure patterns: the same cycle counts, layer by layer.
    assert [s["cycles"] for _, s in ecp5] == [s["cycles"] for _, s in generic]


@pytest.mark.parametrize("cfg_name", list(CONFIGS))
def test_ecp5_top_bit_exact_under_stalls(cfg_name):
    _ecp5_equals_generic(CONFIGS[cfg_name], seed=41)


@pytest.mark.slow
@pytest.mark.parametrize("cfg_name", list(SLOW_CONFIGS))
def test_ecp5_top_bit_exact_more_configs(cfg_name):
    _ecp5_equals_generic(SLOW_CONFIGS[cfg_name], seed=43)


def test_a_block_that_ignores_its_clock_enable_is_caught(monkeypatch):
    """The ECP5 top on a MULT18X18D model whose input registers load on every cycle: the runs
    above would see wrong values, so their stall enables do reach the blocks."""
    models = runner.target_models("ecp5")
    name, text = models[0]
    broken = text.replace("end else if (ce[index(REG_INPUTA_CE)]) begin", "end else begin")
    broken = broken.replace("end else if (ce[index(REG_INPUTB_CE)]) begin", "end else begin")
    assert name == "MULT18X18D.v" and broken.count("end else begin") == 2
    monkeypatch.setattr(runner, "target_models", lambda target: [(name, broken), *models[1:]])
    cfg = CONFIGS["os2x2"]
    layers = ecp5_layers(cfg, 41)[:1]
    try:
        (_, stats), = run_layers(cfg, layers, target="ecp5", seed=41, **STALLS)
    except SimError:  # wrong values may also break the output protocol: caught as well
        return
    assert stats["mismatch"] is not None and stats["mismatches"] > 0


def test_bad_target_is_rejected_before_a_build(monkeypatch):
    monkeypatch.setattr(layer_runner, "build", lambda *a, **k: pytest.fail("built"))
    layer = ecp5_layers(CONFIGS["os2x2"], 1)[0]
    with pytest.raises(ValueError, match=r"^target must be one of generic, ecp5, not 'ECP5'$"):
        run_layers(CONFIGS["os2x2"], [layer], target="ECP5")
    generic_info = runner.BuildInfo(*[None] * 8)
    with pytest.raises(ValueError, match=r"^build_info is a 'generic' build, not one of target "
                                         r"'ecp5'$"):
        run_layers(CONFIGS["os2x2"], [layer], target="ecp5", build_info=generic_info)
