"""Array-configuration options shared by ``qmac generate``, ``qmac sim`` and ``qmac demo``.

Every ``ArrayConfig`` field becomes ``--field-name``; ``--preset NAME`` picks a starting point
and any field given explicitly overrides the preset's value. Values are stored as ``cfg_<field>``
so they cannot clash with a command's own options (``qmac sim --w`` is a layer width).
``--target`` (:func:`add_target_argument`) picks the implementation target of the Verilog, which
is not part of the config: the interface, the numbers and the cycles are the same for every one.
"""

from __future__ import annotations

import argparse
import dataclasses

from golden import DATAFLOWS, ROUNDINGS

__all__ = [
    "CONFIG_OPTIONS",
    "CHOICES",
    "SIM_TARGET_HELP",
    "add_config_arguments",
    "add_target_argument",
    "config_from_args",
]

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
    "rounding": "tflite = gemmlowp double rounding (TFLite reference kernels), single = one "
    "rounding, halfup = double rounding with both steps half up (TFLite optimized kernels)",
    "pe_pipeline": "register stages between multiplier and accumulator in a PE (0..2)",
    "a_buf_depth": "words per bank of the activation buffer (power of two, >= 16)",
    "w_buf_depth": "words per bank of the weight buffer (power of two, >= 16)",
    "param_depth": "output channels per job in the parameter memory (power of two, >= cols)",
    "acc_depth": "rows per job of the ws accumulator memory (power of two; unused by os)",
    "psum_depth": "rows of the partial-sum memory of a K split (power of two); a split job "
    "needs ceil(N/cols) * M <= psum_depth",
    "out_fifo_depth": "output FIFO entries (power of two, >= 2 * rows); absorbs back-pressure",
}

CHOICES: dict[str, tuple[str, ...]] = {"dataflow": DATAFLOWS, "rounding": ROUNDINGS}

_PREFIX = "cfg_"

#: ``--target`` of the commands that simulate the array (``qmac sim``, ``run``, ``demo``).
SIM_TARGET_HELP = (
    "Verilog that is simulated: generic (inferred multipliers and adders) or ecp5 (Lattice "
    "MULT18X18D blocks with their own registers and CCU2C carry chains, run on behavioural "
    "models; a build of its own, cached like the generic one) [generic]"
)


def add_target_argument(parser, help_text: str = SIM_TARGET_HELP) -> None:
    """Add ``--target {generic,ecp5}`` (default ``generic``) to ``parser`` or an argument group.

    The names are those of ``sim.cell_models.TARGET_NAMES`` (the ones of ``hw.target``, without
    importing Amaranth for ``--help``); a bad one is argparse's one-line error, exit 2.
    """
    from sim.cell_models import TARGET_NAMES

    parser.add_argument("--target", choices=TARGET_NAMES, default="generic", help=help_text)


def add_config_arguments(parser: argparse.ArgumentParser, *, require_size: bool = False) -> None:
    """Add ``--preset`` and one option per ArrayConfig field, in their own argument group.

    Parameters
    ----------
    require_size : bool
        ``--rows`` and ``--cols`` are required without ``--preset`` (``qmac generate``): their
        help says so instead of showing a default.
    """
    from hw.config import ArrayConfig

    group = parser.add_argument_group(
        "array configuration (defaults in brackets; with --preset, given options override it)"
    )
    group.add_argument("--preset", metavar="NAME", default=None,
                       help="start from a named preset (qmac generate --list-presets)")
    defaults = ArrayConfig()
    for field, help_text in CONFIG_OPTIONS.items():
        kwargs = {"choices": CHOICES[field]} if field in CHOICES else {"type": int, "metavar": "N"}
        if require_size and field in ("rows", "cols"):
            default = "required without --preset"
        else:
            default = getattr(defaults, field)
        group.add_argument(f"--{field.replace('_', '-')}", dest=_PREFIX + field, default=None,
                           help=f"{help_text} [{default}]", **kwargs)


def config_from_args(args: argparse.Namespace, *, require_size: bool = False):
    """The ArrayConfig selected by ``--preset`` (else the defaults) and the per-field options.

    Parameters
    ----------
    require_size : bool
        Without ``--preset``, insist on ``--rows`` and ``--cols`` (``qmac generate``).

    Raises
    ------
    ValueError
        Unknown preset, missing size, or an invalid config (ArrayConfig names the field and value).
    """
    from hw.config import ArrayConfig, preset

    given = {f: getattr(args, _PREFIX + f) for f in CONFIG_OPTIONS
             if getattr(args, _PREFIX + f, None) is not None}
    if args.preset is not None:
        return dataclasses.replace(preset(args.preset), **given)
    missing = [f"--{f}" for f in ("rows", "cols") if f not in given]
    if require_size and missing:
        raise ValueError(f"{' and '.join(missing)} required without --preset")
    return ArrayConfig(**given)
