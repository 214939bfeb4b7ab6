"""Benchmark golden's calibration methods (``choose_qparams``) per method and width.

Two tensors: a per-channel weight tensor of 64 output channels (64 x 3 x 3 x 64, OHWI,
symmetric along axis 0) and a per-tensor activation of 10^6 values (asymmetric), either two-sided
(normal) or after ReLU (half exact zeros). Reports the median wall time and the CPU time of the
process per call (CPU time is the meaningful number on a shared machine), and the load average.

Usage: ``python scripts/bench_calibration.py [--bits 2,4,8,16] [--repeats 3]
[-o bench_calibration.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import golden  # noqa: E402


def _time(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall) * 1e3, statistics.median(cpu) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bits", default="2,4,8,16")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("-o", "--output", default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    tensors = {
        "weights 64x3x3x64 per channel": (rng.standard_normal((64, 3, 3, 64)), True, 0),
        "activation 1e6 two-sided": (rng.standard_normal(1_000_000), False, None),
        "activation 1e6 after ReLU": (np.maximum(rng.standard_normal(1_000_000), 0), False, None),
    }
    rows = []
    for bits in (int(b) for b in args.bits.split(",")):
        for name, (r, symmetric, axis) in tensors.items():
            for method in golden.CALIBRATION_METHODS:

                def call(r=r, symmetric=symmetric, axis=axis, method=method, bits=bits):
                    golden.choose_qparams(r, bits, symmetric=symmetric, axis=axis, method=method)

                wall, cpu = _time(call, args.repeats)
                rows.append(dict(tensor=name, bits=bits, method=method, wall_ms=wall, cpu_ms=cpu))
                print(f"{name:32s} {bits:2d} bits {method:10s} {wall:8.1f} ms  cpu {cpu:8.1f} ms")
    meta = dict(
        machine=platform.machine(),
        python=platform.python_version(),
        numpy=np.__version__,
        cpus=os.cpu_count(),
        loadavg=os.getloadavg(),
    )
    print("load average", meta["loadavg"])
    if args.output:
        Path(args.output).write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))


if __name__ == "__main__":
    main()
