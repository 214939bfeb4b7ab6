"""``qmac generate``: write the Verilog, JSON manifest and C header of one array.

Examples::

    qmac generate --rows 8 --cols 8 -o build/os8x8
    qmac generate --preset int4-4x4 --dataflow ws -o build/int4ws   # preset, one field changed
    qmac generate --list-presets

The array is ``ArrayConfig`` (hw/config.py) built from a preset (``--preset``) or from the
defaults, with every option given on the command line replacing the corresponding field. Without
``--preset``, ``--rows`` and ``--cols`` are required.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qmac.cli.config_options import add_config_arguments
from qmac.cli.config_options import config_from_args as shared_config_from_args

__all__ = ["add_arguments", "run", "config_from_args"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``qmac generate`` (see the module docstring)."""
    parser.epilog = (
        "Writes DIR/qmac_top.v, DIR/qmac_top.json (manifest: config, ports, latencies, limits) and "
        "DIR/qmac_top.h. With --preset, any option given explicitly overrides the preset's value."
    )
    parser.add_argument("-o", "--outdir", metavar="DIR", type=Path,
                        help="output directory (created if missing)")
    parser.add_argument("--list-presets", action="store_true",
                        help="print the presets and exit")
    add_config_arguments(parser)


def config_from_args(args: argparse.Namespace):
    """ArrayConfig of ``--preset`` and the field options; rows and cols needed without a preset."""
    return shared_config_from_args(args, require_size=True)


def _list_presets() -> int:
    from hw.config import PRESETS

    width = max(len(name) for name in PRESETS)
    config_width = max(len(cfg.name) for cfg in PRESETS.values())
    for name, cfg in PRESETS.items():
        print(f"{name:<{width}}  {cfg.name:<{config_width}}  max_k={cfg.max_k}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list_presets:
        return _list_presets()
    config = config_from_args(args)
    if args.outdir is None:
        raise ValueError("-o/--outdir is required")
    from hw.emit import write_outputs

    paths = write_outputs(config, args.outdir)
    import json

    info = json.loads(paths["manifest"].read_text())
    print(f"qmac generate: {config.name} (config {config.digest})")
    for kind, path in paths.items():
        print(f"  {kind:<8} {path}  ({path.stat().st_size:,} bytes)")
    lat = ", ".join(f"{k}={v}" for k, v in info["latencies"].items())
    print(f"  max_k={config.max_k} (K per job {config.max_job_k}, longer K split across jobs)  "
          f"peak_macs_per_cycle={config.peak_macs_per_cycle}  latencies: {lat}")
    return 0
