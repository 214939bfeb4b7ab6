"""``qmac generate``: write the Verilog, JSON manifest and C header of one array.

Examples::

    qmac generate --rows 8 --cols 8 -o build/os8x8
    qmac generate --preset int4-4x4 --dataflow ws -o build/int4ws   # preset, one field changed
    qmac generate --preset int8-8x8 --name conv_array -o build/conv  # conv_array.v/.json/.h
    qmac generate --preset int8-8x8 --target ecp5 -o build/ecp5      # MULT18X18D instances
    qmac generate --list-presets

The array is ``ArrayConfig`` (hw/config.py) built from a preset (``--preset``) or from the
defaults, with every option given on the command line replacing the corresponding field. Without
``--preset``, ``--rows`` and ``--cols`` are required. It prints the files written and the limits
of one job command (the largest M, K and N, each with the limit that binds it) and of the
accumulator (the longest K it sums without overflow).

``--target ecp5`` writes Verilog that instantiates the Lattice ECP5 cells (MULT18X18D with its own
registers, CCU2C carry chains) instead of inferring them; the manifest and the header describe the
interface, which is the same for every target, and are unchanged by it. The Verilog's first line
names the target.
"""

from __future__ import annotations

import argparse

from qmac.cli import argtypes, paths
from qmac.cli.config_options import add_config_arguments, add_target_argument
from qmac.cli.config_options import config_from_args as shared_config_from_args

__all__ = ["add_arguments", "run", "config_from_args", "describe_limits"]

#: Default module name (``hw.emit.MODULE_NAME``), repeated so that ``--help`` imports no Amaranth.
MODULE_NAME = "qmac_top"

TARGET_HELP = (
    "implementation target of the Verilog: generic (portable, multipliers and adders inferred) "
    "or ecp5 (instantiates Lattice MULT18X18D and CCU2C cells: synthesize it with yosys "
    "synth_ecp5, or simulate it with the vendor's cell library; qmac sim --target ecp5 has "
    "models). The manifest and header are the same for every target [generic]"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``qmac generate`` (see the module docstring)."""
    parser.usage = (
        "qmac generate (--preset NAME | --rows N --cols N) [config options] [--target T] "
        "[--name NAME] -o DIR\n"
        "       qmac generate --list-presets"
    )
    parser.epilog = (
        "Writes DIR/NAME.v, DIR/NAME.json (manifest: config, ports, latencies, limits) and "
        "DIR/NAME.h. With --preset, any option given explicitly overrides the preset's value."
    )
    parser.add_argument("-o", "--outdir", metavar="DIR", type=argtypes.path,
                        help="output directory, created if missing (required)")
    parser.add_argument(
        "--name", default=MODULE_NAME, metavar="NAME",
        help="Verilog module name; prefixes every submodule, the file names and the header's "
        f"macros, so that two arrays can live in one design [{MODULE_NAME}]",
    )
    add_target_argument(parser, TARGET_HELP)
    parser.add_argument("--list-presets", action="store_true",
                        help="print the presets and exit")
    add_config_arguments(parser, require_size=True)


def config_from_args(args: argparse.Namespace):
    """ArrayConfig of ``--preset`` and the field options; rows and cols needed without a preset."""
    return shared_config_from_args(args, require_size=True)


def describe_limits(config) -> list[str]:
    """Lines stating the job and accumulator limits of ``config``, each with its cause."""
    limits = config.job_limits()
    jobs = ", ".join(
        f"{dim.upper()} <= {lim.value} ({', '.join(lim.causes)})" for dim, lim in limits.items()
    )
    return [
        f"one job: {jobs}",
        f"a layer: K <= {config.max_k} (acc_bits={config.acc_bits} sums that many "
        f"a{config.a_bits}w{config.w_bits} products without overflow); a K longer than one job's "
        "is split across jobs",
    ]


def _list_presets() -> int:
    from hw.config import PRESETS

    width = max(len(name) for name in PRESETS)
    config_width = max(len(cfg.name) for cfg in PRESETS.values())
    for name, cfg in PRESETS.items():
        k = cfg.job_limits()["k"]
        print(f"{name:<{width}}  {cfg.name:<{config_width}}  job_max_k={k.value} "
              f"({', '.join(k.causes)})  acc_max_k={cfg.max_k}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list_presets:
        return _list_presets()
    config = config_from_args(args)
    if args.outdir is None:
        raise ValueError("-o/--outdir is required")
    from hw.emit import check_module_name, write_outputs

    try:
        check_module_name(args.name)
    except ValueError as exc:
        raise ValueError(f"--name: {exc}") from None
    paths.output_dir("-o/--outdir", args.outdir)
    written = write_outputs(config, args.outdir, name=args.name, target=args.target)
    import json

    info = json.loads(written["manifest"].read_text())
    target = "" if args.target == "generic" else f", target {args.target}"
    print(f"qmac generate: {config.name} (config {config.digest}), module {args.name}{target}")
    for kind, path in written.items():
        print(f"  {kind:<8} {path}  ({path.stat().st_size:,} bytes)")
    for line in describe_limits(config):
        print(f"  {line}")
    lat = ", ".join(f"{k}={v}" for k, v in info["latencies"].items())
    print(f"  peak_macs_per_cycle={config.peak_macs_per_cycle}  latencies: {lat}")
    return 0
