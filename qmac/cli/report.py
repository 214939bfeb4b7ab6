"""``qmac report RESULTS... -o DIR``: CSV, JSON, Markdown and an HTML page with plots."""

from __future__ import annotations

import argparse
from pathlib import Path

from qmac.cli import argtypes, paths
from qmac.report import write_report

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results",
        type=argtypes.path,
        nargs="+",
        help="results JSON written by qmac sweep (several are merged into one report)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=argtypes.path,
        default=Path("build/report"),
        help="output directory (build/report)",
    )
    parser.add_argument("--no-plots", action="store_true", help="tables only")


def run(args: argparse.Namespace) -> int:
    paths.output_dir("-o/--output", args.output)
    written = write_report(args.results, args.output, plots=not args.no_plots)
    figs = sum(1 for k in written if k.startswith("fig:"))
    print(
        f"qmac report: {written['html']} ({figs} figures), {written['csv'].name}, "
        f"{written['json'].name}, {written['md'].name}"
    )
    return 0
