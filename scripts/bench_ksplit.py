"""Measure what a K split costs on the RTL: cycles and beats against the unsplit ideal.

For each preset and each K (a multiple of one bank's K capacity), a random M x K x N matmul is
lowered for the preset (K split into chunks, the partial sums kept on chip) and run on its
Verilator model; the unsplit ideal (the same output blocks, each one job over the whole K:
``sim.split_cost.merge_chains``) runs on the same array with banks deep enough to hold it
(``unsplit_config``, a second build). Both are checked bit-exact against golden. Prints a
Markdown table: chunks, jobs, input beats, cycles (first command to last output beat) and
utilization (MACs / (rows * cols * cycles)) of both, and the split's extra beats and cycles.

Usage: python scripts/bench_ksplit.py [--m M] [--n N] [--factors 1.5,4] [--presets ...]
(run from the repository root; builds take about a minute each).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import golden  # noqa: E402
from golden.lowering import lower, run_jobs_reference  # noqa: E402
from hw.config import preset  # noqa: E402
from sim.layer_runner import run_jobs  # noqa: E402
from sim.split_cost import merge_chains, plan_beats, unsplit_config  # noqa: E402


def _measure(config, jobs) -> tuple[int, int]:
    """(cycles, input beats) of a job sequence on the RTL, checked bit-exact."""
    kw = dict(rounding=config.rounding, mult_bits=config.mult_bits, out_bits=config.out_bits,
              a_bits=config.a_bits, w_bits=config.w_bits, acc_bits=config.acc_bits)
    expected = run_jobs_reference(jobs, **kw)
    run = run_jobs(config, jobs, expected)
    if run.timeout or not run.finished.all() or run.mismatches.sum():
        raise SystemExit(f"{config.name}: the RTL run failed: {run.messages}")
    cycles = int(run.beat_cycles[-1][-1]) - int(run.cmd_cycle[0]) + 1
    return cycles, plan_beats(jobs, config)["inputs"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=32)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--factors", default="1.5,4", help="K in banks' K capacity [1.5,4]")
    parser.add_argument("--presets", default="int8-8x8,int8-8x8-ws")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| preset | K | chunks | jobs (ideal) | input beats (ideal) | cycles (ideal) | "
          "utilization (ideal) | extra beats | extra cycles |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.presets.split(","):
        config = preset(name)
        for factor in (float(f) for f in args.factors.split(",")):
            k = int(round(factor * config.max_job_k))
            layer = golden.make_random_layer("matmul", rng=np.random.default_rng(args.seed),
                                             m=args.m, k=k, n=args.n)
            plan = lower(layer, config)
            ideal_jobs = merge_chains(plan.jobs)
            deep = unsplit_config(config, ideal_jobs)
            cycles, beats = _measure(config, plan.jobs)
            ideal_cycles, ideal_beats = _measure(deep, ideal_jobs)
            macs = layer.macs
            util, ideal_util = (macs / (config.rows * config.cols * c)
                                for c in (cycles, ideal_cycles))
            print(f"| {name} | {k} ({factor:g} banks) | {plan.k_chunks} | {len(plan.jobs)} "
                  f"({len(ideal_jobs)}) | {beats:,} ({ideal_beats:,}) | {cycles:,} "
                  f"({ideal_cycles:,}) | {util:.3f} ({ideal_util:.3f}) | "
                  f"{beats - ideal_beats:+,} | {cycles - ideal_cycles:+,} "
                  f"({100 * (cycles - ideal_cycles) / ideal_cycles:+.2f}%) |", flush=True)


if __name__ == "__main__":
    main()
