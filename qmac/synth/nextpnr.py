"""Place and route with yowasp-nextpnr: devices, the fit check, the run and its report parser."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from qmac.synth.cells import load_json
from qmac.synth.tools import ToolError, find_tool, run_tool

__all__ = ["Device", "DEVICES", "DEFAULT_DEVICE", "check_fit", "parse_nextpnr_report",
           "place_and_route"]


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
    data = load_json(report)
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
        find_tool(f"yowasp-nextpnr-{dev.family}"),
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
    seconds = run_tool(cmd, work, timeout, f"nextpnr-{dev.family} ({device})")
    if not report.exists():
        raise ToolError(f"nextpnr-{dev.family} wrote no report (log {log})")
    result = parse_nextpnr_report(report)
    result.update(freq_mhz=float(freq_mhz), device=device, pnr_s=round(seconds, 2), log=str(log))
    return result
