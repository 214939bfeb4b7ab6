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
import dataclasses
from pathlib import Path

__all__ = ["add_arguments", "run", "config_from_args", "CONFIG_OPTIONS"]

#: ArrayConfig field -> help text; each becomes ``--field-name`` (underscores as dashes).
CONFIG_OPTIONS: dict[str, str] = {
    "rows": "mesh rows R (1..128); activation lanes per beat",
    "cols": "mesh columns C (1..128); weight and output lanes per beat",
    "a_bits": "signed activation width in bits (2..16)",
    "w_bits": "signed weight width in bits (2..16)",
    "acc_bits": "signed accumulator width (a_bits + w_bits .. 64); bounds the largest safe K",
    "mult_bits": "signed width of the requantization multiplier m0 (8..32)",
    "out_bits": "signed output width (2..16, at most acc_bits)",
    "dataflow": "os = output-stationary, ws = weight-stationary",
    "rounding": "tflite = gemmlowp double rounding (TFLite reference), single = one rounding",
    "pe_pipeline": "register stages between multiplier and accumulator in a PE (0..2)",
    "a_buf_depth": "words per bank of the activation buffer (power of two, >= 16)",
    "w_buf_depth": "words per bank of the weight buffer (power of two, >= 16)",
    "param_depth": "output channels per job in the parameter memory (power of two, >= cols)",
    "acc_depth": "rows per job of the ws accumulator memory (power of two; unused by os)",
    "out_fifo_depth": "output FIFO entries (power of two, >= 2 * rows); absorbs back-pressure",
}

_CHOICES = {"dataflow": ("os", "ws"), "rounding": ("tflite", "single")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``qmac generate`` (see the module docstring)."""
    from hw.config import ArrayConfig

    parser.epilog = (
        "Writes DIR/qmac_top.v, DIR/qmac_top.json (manifest: config, ports, latencies, limits) and "
        "DIR/qmac_top.h. With --preset, any option given explicitly overrides the preset's value."
    )
    parser.add_argument("-o", "--outdir", metavar="DIR", type=Path,
                        help="output directory (created if missing)")
    parser.add_argument("--preset", metavar="NAME",
                        help="start from a named preset (see --list-presets)")
    parser.add_argument("--list-presets", action="store_true",
                        help="print the presets and exit")
    group = parser.add_argument_group("array configuration (defaults in brackets)")
    defaults = ArrayConfig()
    for field, help_text in CONFIG_OPTIONS.items():
        default = getattr(defaults, field)
        if field in _CHOICES:
            kwargs = {"choices": _CHOICES[field]}
        else:
            kwargs = {"type": int, "metavar": "N"}
        group.add_argument(f"--{field.replace('_', '-')}", dest=field, default=None,
                           help=f"{help_text} [{default}]", **kwargs)


def config_from_args(args: argparse.Namespace):
    """The ArrayConfig selected by ``--preset`` and the per-field options.

    Raises
    ------
    ValueError
        Unknown preset, ``--rows``/``--cols`` missing without a preset, or an invalid config
        (ArrayConfig's message names the field and the value).
    """
    from hw.config import ArrayConfig, preset

    given = {f: getattr(args, f) for f in CONFIG_OPTIONS if getattr(args, f) is not None}
    if args.preset is not None:
        return dataclasses.replace(preset(args.preset), **given)
    missing = [f"--{f}" for f in ("rows", "cols") if f not in given]
    if missing:
        raise ValueError(f"{' and '.join(missing)} required without --preset")
    return ArrayConfig(**given)


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
    print(f"  max_k={config.max_k}  peak_macs_per_cycle={config.peak_macs_per_cycle}  "
          f"latencies: {lat}")
    return 0
