"""The ``qmac`` command line: one subcommand per module ``qmac/cli/<name>.py``.

Each command module defines ``add_arguments(parser)`` and ``run(args) -> int`` (the exit code).
Errors a user can cause (TypeError, ValueError, QmacError, and argparse's own) print one line
and exit with 2, without a traceback; so does an OSError (a file that vanished or filled a disk
after the checks). A failed verification (a mismatch, a failure the testbench flagged) exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from qmac import __version__
from qmac.cli.argtypes import OneLineParser
from qmac.cli.errors import QmacError, VerificationFailure

__all__ = ["main", "QmacError", "VerificationFailure", "COMMANDS"]

COMMANDS = {
    "generate": "emit Verilog, a JSON manifest and a C header for one array",
    "sim": "run a layer through the generated Verilog on Verilator, compare with the golden model",
    "run": "run your int8 model (.tflite or quantized .onnx) on the simulated array, every "
    "array op checked against golden",
    "sweep": "measure resources, timing, cycles and quantization error over config axes",
    "report": "render sweep results as CSV, JSON, Markdown and HTML with plots",
    "demo": "classify digits with a quantized CNN run layer by layer on the simulated array",
}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="qmac",
        description="Generator of quantized systolic MAC arrays, verified bit-exact on Verilator.",
    )
    parser.add_argument("--version", action="version", version=f"qmac {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
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
    except VerificationFailure as exc:
        print(f"qmac {args.command}: FAILED: {_one_line(exc)}", file=sys.stderr)
        return 1
    except (QmacError, ValueError, TypeError) as exc:
        print(f"qmac {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. a disk that filled up after the output checks passed
        name = f" {exc.filename}" if exc.filename else ""
        print(f"qmac {args.command}: error:{name} {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"qmac {args.command}: interrupted", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (a simulator's log tail stays out of the error line)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
