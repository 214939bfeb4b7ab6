"""Benchmark the simulated array: cycles, utilization and simulation speed -> JSON.

Runs, on the ``int8-16x16`` preset (16x16 output-stationary, 4096-word buffers):

- a 256 x 256 x 256 matmul and a ResNet-like 3x3 conv (28x28x64 -> 64, SAME, batch 1) through the
  full testbench: measured cycles (first command to last output beat, from ``cycle_count``),
  utilization = MACs / (256 * cycles), the ideal SCALE-Sim-style cycles (golden.cycles), array
  cycles per wall second of the simulation;
- the raw free-running speed of the same Verilator model (clock only, same number of cycles).

Usage::

    python scripts/bench_sim.py [--preset int8-16x16] [-o build/bench_sim.json] [--quick]

``--quick`` uses a 64^3 matmul and a 14x14x16 conv (smoke run). Aims: utilization >= 0.90 on the
matmul, measured cycles <= ideal, testbench speed >= 25 % of the raw speed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import golden
from hw.config import preset
from sim import run_layer
from sim.runner import build, free_run_speed


def _workloads(quick: bool) -> dict:
    rng = np.random.default_rng(0)
    if quick:
        return {
            "matmul_64": golden.make_random_layer("matmul", rng=rng, m=64, k=64, n=64),
            "conv3x3_14x14x16": golden.make_random_layer(
                "conv2d", rng=rng, h=14, w=14, cin=16, cout=16, kernel=3, padding="SAME"
            ),
        }
    return {
        "matmul_256": golden.make_random_layer("matmul", rng=rng, m=256, k=256, n=256),
        "conv3x3_28x28x64": golden.make_random_layer(
            "conv2d", rng=rng, h=28, w=28, cin=64, cout=64, kernel=3, padding="SAME"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="int8-16x16")
    parser.add_argument("-o", "--output", type=Path, default=Path("build/bench_sim.json"))
    parser.add_argument("--quick", action="store_true", help="small workloads")
    args = parser.parse_args(argv)
    config = preset(args.preset)
    t0 = time.perf_counter()
    info = build(config)
    report = {
        "config": config.to_dict(),
        "name": config.name,
        "build_seconds": info.build_seconds,
        "build_cached": info.cached,
        "workloads": {},
    }
    print(
        f"bench_sim: {config.name}, build "
        f"{'cached' if info.cached else f'{info.build_seconds:.0f} s'}"
    )
    ok = True
    for name, layer in _workloads(args.quick).items():
        _, st = run_layer(config, layer, build_info=info)  # one model for the whole run
        raw = free_run_speed(info, st["cycles"])
        entry = {
            "op": layer.op,
            "x_shape": list(layer.x.shape),
            "w_shape": list(layer.w.shape),
            "macs": st["macs"],
            "jobs": st["jobs"],
            "cycles": st["cycles"],
            "ideal_cycles": st["ideal_cycles"],
            "utilization": st["utilization"],
            "ideal_utilization": st["ideal_utilization"],
            "mismatches": st["mismatches"],
            "tb_cycles_per_second": st["cycles_per_second"],
            "tb_sim_seconds": st["sim_seconds"],
            "raw_cycles_per_second": raw["cycles_per_second"],
            "tb_fraction_of_raw": st["cycles_per_second"] / raw["cycles_per_second"],
        }
        ok &= st["mismatches"] == 0
        report["workloads"][name] = entry
        print(
            f"  {name}: cycles {entry['cycles']:,} (ideal {entry['ideal_cycles']:,}), utilization "
            f"{entry['utilization']:.3f}, jobs {entry['jobs']}, mismatches {entry['mismatches']}, "
            f"testbench {entry['tb_cycles_per_second']:,.0f} cycles/s = "
            f"{100 * entry['tb_fraction_of_raw']:.0f} % of raw "
            f"{entry['raw_cycles_per_second']:,.0f}"
        )
    report["wall_seconds"] = time.perf_counter() - t0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"bench_sim: wrote {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
