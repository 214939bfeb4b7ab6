"""The ``"sim"`` sweep task: one config: simulate a named workload layer on Verilator for cycles
and utilization, checking the outputs bit-exactly against the golden layer."""

from __future__ import annotations

import time

import numpy as np

from hw.config import ArrayConfig
from qmac.sweep.workloads import workload_layer
from sim import run_layer

__all__ = ["run"]


def run(p: dict) -> dict:
    """Simulate the workload layer on the config's RTL; its outputs must equal golden's."""
    config = ArrayConfig.from_dict(p["config"])
    name = p["workload"]
    layer = workload_layer(name, config, p["seed"])
    t0 = time.perf_counter()
    outputs, stats = run_layer(config, layer)
    seconds = time.perf_counter() - t0
    expected = layer.output(rounding=config.rounding, mult_bits=config.mult_bits)
    outputs = np.asarray(outputs)
    if outputs.shape != expected.shape:
        raise AssertionError(f"workload {name}: output shape {outputs.shape} != {expected.shape}")
    mismatches = int(np.count_nonzero(outputs != expected))
    if mismatches:
        raise AssertionError(
            f"workload {name}: {mismatches} of {expected.size} outputs differ from golden"
        )
    return {
        "workload": name,
        "macs": int(layer.macs),
        "cycles": int(stats["cycles"]),
        "ideal_cycles": int(stats["ideal_cycles"])
        if stats.get("ideal_cycles") is not None
        else None,
        "utilization": float(stats["utilization"]),
        "sim_s": round(seconds, 2),
    }
