"""``qmac sweep``: resources, Fmax, cycles and quantization error over a product of axes.

Exit code: the number of failed points (capped at 125); 0 when every point succeeded; 2 for bad
input, checked before anything runs or is written: the axes and options, every point's config
(an invalid one names its axis values), the workload on each config, ``--workdir``, ``-o``,
``--file`` and the ``--dask`` scheduler.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from qmac.cli import argtypes, paths
from qmac.cli.argtypes import positive_float, positive_int
from qmac.sweep.run import run_sweep
from qmac.sweep.spec import (
    CONFIG_AXES,
    SWEEP_BUF_DEPTH,
    SweepSpec,
    parse_axis,
    parse_sizes,
    spec_from_toml,
)
from qmac.sweep.workloads import WORKLOADS
from qmac.synth import DEVICES, TARGETS

__all__ = ["add_arguments", "run"]

_MAX_EXIT = 125


def add_arguments(parser: argparse.ArgumentParser) -> None:
    axes = parser.add_argument_group(
        "axes (comma lists; the sweep is their cartesian product)",
        f"acc_bits not given: max(32, a_bits + w_bits + 16) per point; a/w_buf_depth not given: "
        f"{SWEEP_BUF_DEPTH}.",
    )
    axes.add_argument(
        "--size", metavar="RxC,...", help="paired sizes, e.g. 4x4,8x8 (instead of --rows/--cols)"
    )
    axes.add_argument(
        "--bits",
        metavar="B,...",
        help="paired widths a_bits = w_bits (instead of --a-bits/--w-bits)",
    )
    for name in CONFIG_AXES:
        axes.add_argument(f"--{name.replace('_', '-')}", dest=f"axis_{name}", metavar="V,...")
    axes.add_argument(
        "--target",
        default=None,
        metavar="T,...",
        help=f"synthesis targets among {', '.join(TARGETS)}, or 'none' (default ecp5)",
    )
    parser.add_argument(
        "--file", type=argtypes.path,
        help="sweep.toml with [sweep] axes and [options] (instead of axes)",
    )
    parser.add_argument("--pnr", action="store_true", help="place and route (ecp5, ice40) for Fmax")
    parser.add_argument(
        "--freq", type=positive_float, default=None, metavar="MHZ",
        help="nextpnr target clock (100)"
    )
    parser.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="NAME",
        help=f"PnR device, repeatable: {', '.join(DEVICES)} (default ecp5-85k, ice40-up5k)",
    )
    parser.add_argument(
        "--workload",
        choices=sorted(WORKLOADS),
        metavar="NAME",
        help=f"simulate this layer per config for cycles: {', '.join(WORKLOADS)}",
    )
    parser.add_argument(
        "--quant-error",
        choices=("auto", "on", "off"),
        default=None,
        help="digits CNN error per bit width (auto: when a/w bits are axes)",
    )
    parser.add_argument(
        "--n-test", type=positive_int, default=None,
        help="digits test images for the error (all)",
    )
    parser.add_argument(
        "--timeout", type=positive_float, default=None, metavar="S", help="per tool run, seconds"
    )
    parser.add_argument(
        "--design", default=None, help="module:function config -> Verilog (QmacTop)"
    )
    parser.add_argument(
        "--jobs", "-j", type=positive_int, default=None,
        help="local worker processes (all cores)"
    )
    parser.add_argument("--dask", metavar="ADDRESS", help="run the tasks on this Dask scheduler")
    parser.add_argument(
        "--workdir",
        type=argtypes.path,
        default=Path("build/sweep"),
        help="cache and per-point logs (build/sweep)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=argtypes.path,
        default=None,
        help="results JSON (default WORKDIR/results.json)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--cache-only",
        action="store_true",
        help="run nothing: results from the cache, missing points failed (partial reports)",
    )


def _spec(args: argparse.Namespace) -> SweepSpec:
    axes = {
        name: getattr(args, f"axis_{name}")
        for name in CONFIG_AXES
        if getattr(args, f"axis_{name}") is not None
    }
    if args.file is not None:
        if axes or args.size or args.bits or args.target:
            raise ValueError("--file cannot be combined with axis options")
        spec = spec_from_toml(paths.input_file("--file", args.file))
    else:
        targets = (
            ["ecp5"]
            if args.target is None
            else ([] if args.target.strip() == "none" else parse_axis("target", args.target))
        )
        spec = SweepSpec(
            axes=axes,
            sizes=parse_sizes(args.size) if args.size else None,
            bits=args.bits,
            targets=targets,
        )
    overrides = {
        "pnr": args.pnr or None,
        "freq_mhz": args.freq,
        "workload": args.workload,
        "quant_error": args.quant_error,
        "n_test": args.n_test,
        "timeout_s": args.timeout,
        "design": args.design,
    }
    for name, value in overrides.items():
        if value is not None:
            setattr(spec, name, value)
    for dev in args.device:
        if dev not in DEVICES:
            raise ValueError(f"--device must be one of {', '.join(DEVICES)}, not {dev!r}")
        spec.device[DEVICES[dev].family] = dev
    spec.__post_init__()  # re-validate after overrides
    return spec


def run(args: argparse.Namespace) -> int:
    if args.design and "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # --design modules resolve from here, as with python -m
    spec = _spec(args)
    paths.output_dir("--workdir", args.workdir, create=True)  # the cache lives there
    output = args.output or args.workdir / "results.json"
    paths.output_file(
        "-o/--output" if args.output else "--workdir", output, example="results.json", parents=True
    )
    argv = sys.argv[1:]
    command = "qmac " + shlex.join(argv[argv.index("sweep") :]) if "sweep" in argv else "qmac sweep"
    doc = run_sweep(
        spec,
        workdir=args.workdir,
        jobs=args.jobs,
        dask=args.dask,
        progress=not args.no_progress,
        command=command,
        output=output,
        cache_only=args.cache_only,
    )
    meta = doc["meta"]
    failed = meta["failed_points"]
    print(
        f"qmac sweep: {len(doc['rows'])} points, {meta['tasks']} tasks "
        f"({meta['tasks_cached']} cached), {failed} failed, {meta['wall_s']:.1f} s -> {output}"
    )
    for row in doc["rows"]:
        if row["status"] != "ok":
            print(f"  failed: {row['name']} {row['target']}: {row['reason']}", file=sys.stderr)
    return min(failed, _MAX_EXIT)
