"""The ``qmac`` command line: one subcommand per module ``qmac/cli/<name>.py``.

Each command module defines ``add_arguments(parser)`` and ``run(args) -> int`` (the exit code).
Errors a user can cause (TypeError, ValueError, QmacError) print one line and exit with 2,
without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from qmac import __version__
from qmac.cli.errors import QmacError

__all__ = ["main", "QmacError", "COMMANDS"]

COMMANDS = {
    "generate": "emit Verilog, a JSON manifest and a C header for one array",
    "sim": "run a layer through the generated Verilog on Verilator, compare with the golden model",
    "run": "run a TFLite int8 model on the simulated array, every array op checked against golden",
    "sweep": "measure resources, timing, cycles and quantization error over config axes",
    "report": "render sweep results as CSV, JSON, Markdown and HTML with plots",
    "demo": "classify digits with a quantized CNN run layer by layer on the simulated array",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qmac",
        description="Generator of quantized systolic MAC arrays, verified bit-exact on Verilator.",
    )
    parser.add_argument("--version", action="version", version=f"qmac {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"qmac.cli.{name}")
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except (QmacError, ValueError, TypeError) as exc:
        print(f"qmac {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"qmac {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
