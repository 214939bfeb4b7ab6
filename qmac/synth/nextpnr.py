"""Place and route with yowasp-nextpnr: devices, the fit check, the run and its report parser.

:func:`place_and_route` runs one seed (optionally at another speed grade, optionally writing the
routed SDF and ranking its failing path groups with :mod:`qmac.synth.sdf`);
:func:`place_and_route_seeds` runs several seeds and reports the median and minimum Fmax, the
figures to publish for a design whose Fmax varies with placement.
"""

from __future__ import annotations

import os
import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from qmac.synth.cells import load_json
from qmac.synth.sdf import analyze_sdf
from qmac.synth.tools import ToolError, find_tool, run_tool

__all__ = ["Device", "DEVICES", "DEFAULT_DEVICE", "SPEED_GRADES", "check_fit",
           "parse_nextpnr_report", "place_and_route", "place_and_route_seeds", "summarize_seeds"]


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
    speeds: tuple[int, ...] = ()


DEVICES: dict[str, Device] = {
    "ecp5-85k": Device(
        "ecp5-85k",
        "ecp5",
        ("--85k", "--package", "CABGA381", "--out-of-context"),
        {"lut": 83640, "ff": 83640, "dsp": 156, "ram": 208},
        speeds=(6, 7, 8),
    ),
    "ecp5-25k": Device(
        "ecp5-25k",
        "ecp5",
        ("--25k", "--package", "CABGA256", "--out-of-context"),
        {"lut": 24288, "ff": 24288, "dsp": 28, "ram": 56},
        speeds=(6, 7, 8),
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
#: ECP5 speed grades nextpnr models (``--speed``); 6 (the slowest) is nextpnr's default.
SPEED_GRADES = (6, 7, 8)


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


def _check_speed(device: str, speed: int | None) -> None:
    if speed is None:
        return
    allowed = DEVICES[device].speeds
    if isinstance(speed, bool) or speed not in allowed:
        choices = ", ".join(map(str, allowed)) or "none"
        raise ValueError(f"speed must be one of {choices} for {device}, not {speed!r}")


def place_and_route(
    netlist_path: str | os.PathLike,
    *,
    device: str,
    freq_mhz: float,
    workdir: str | os.PathLike,
    seed: int = 1,
    speed: int | None = None,
    sdf: bool = False,
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
    seed : int
        nextpnr placement seed.
    speed : {6, 7, 8}, optional
        ECP5 speed grade (``--speed``); None leaves nextpnr's default, grade 6.
    sdf : bool
        Also write the routed SDF (``routed.sdf`` in ``workdir``) and rank its paths
        (:func:`qmac.synth.sdf.analyze_sdf` at the target period).

    Returns
    -------
    dict
        :func:`parse_nextpnr_report` plus ``freq_mhz``, ``device``, ``seed``, ``speed`` (the grade
        used, 6 when defaulted on ECP5, None on iCE40), ``pnr_s`` (wall seconds) and ``log``; with
        ``sdf``: ``timing`` (:meth:`TimingReport.to_dict`) and ``critical`` (the worst path
        group: ``start``, ``end``, ``pin``, ``delay_ns`` ...).
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    if isinstance(freq_mhz, bool) or not isinstance(freq_mhz, (int, float)) or freq_mhz <= 0:
        raise ValueError(f"freq_mhz must be a positive number, not {freq_mhz!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    _check_speed(device, speed)
    dev = DEVICES[device]
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    report, log, routed = work / "pnr_report.json", work / "nextpnr.log", work / "routed.sdf"
    for stale in (report, log, routed):
        stale.unlink(missing_ok=True)
    netlist = Path(netlist_path).resolve()
    if netlist.parent != work:
        shutil.copyfile(netlist, work / netlist.name)
    cmd = [
        find_tool(f"yowasp-nextpnr-{dev.family}"),
        *dev.nextpnr_args,
        *(["--speed", str(speed)] if speed is not None else []),
        "--json",
        netlist.name,
        "--freq",
        f"{freq_mhz:g}",
        "--timing-allow-fail",
        "--seed",
        str(seed),
        "--report",
        report.name,
        *(["--sdf", routed.name] if sdf else []),
        "-l",
        log.name,
        "-q",
    ]
    seconds = run_tool(cmd, work, timeout, f"nextpnr-{dev.family} ({device})")
    if not report.exists():
        raise ToolError(f"nextpnr-{dev.family} wrote no report (log {log})")
    result = parse_nextpnr_report(report)
    grade = speed if speed is not None else (6 if dev.speeds else None)
    result.update(freq_mhz=float(freq_mhz), device=device, seed=seed, speed=grade,
                  pnr_s=round(seconds, 2), log=str(log))
    if sdf:
        if not routed.exists():
            raise ToolError(f"nextpnr-{dev.family} wrote no SDF (log {log})")
        timing = analyze_sdf(routed, 1000.0 / float(freq_mhz))
        result["timing"] = timing.to_dict()
        result["critical"] = timing.groups[0].to_dict() if timing.groups else None
    return result


def place_and_route_seeds(
    netlist_path: str | os.PathLike,
    *,
    device: str,
    freq_mhz: float,
    workdir: str | os.PathLike,
    seeds: int | list[int] = 3,
    speed: int | None = None,
    sdf: bool = False,
    timeout: float | None = None,
) -> dict:
    """:func:`place_and_route` for several seeds (one subfolder each); Fmax median and minimum.

    Parameters
    ----------
    seeds : int or list of int
        How many seeds (1..N) or which.
    Other parameters
        As :func:`place_and_route` (``timeout`` per seed).

    Returns
    -------
    dict
        ``runs`` (the per-seed results, in seed order), ``seeds``, ``speed``, ``fmax_mhz`` (the
        median over the seeds), ``fmax_min_mhz``, ``fmax_max_mhz``, and ``critical`` (the worst
        path group of the median seed's run, with ``sdf``; for an even count the lower median).
    """
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be at least 1, not {seeds!r}")
        seeds = list(range(1, seeds + 1))
    if not isinstance(seeds, list) or not seeds or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in seeds
    ):
        raise ValueError(f"seeds must be a positive count or a list of integers, not {seeds!r}")
    work = Path(workdir)
    runs = [
        place_and_route(netlist_path, device=device, freq_mhz=freq_mhz, workdir=work / f"seed{s}",
                        seed=s, speed=speed, sdf=sdf, timeout=timeout)
        for s in seeds
    ]
    return summarize_seeds(runs)


def summarize_seeds(runs: list[dict]) -> dict:
    """The figures of several :func:`place_and_route` results of one netlist (in seed order).

    Returns
    -------
    dict
        ``runs``, ``seeds``, ``speed``, ``fmax_mhz`` (the median over the seeds that routed),
        ``fmax_min_mhz``, ``fmax_max_mhz``, and ``critical`` (the worst path group of the median
        seed's run; for an even count the lower median).
    """
    fmax = [r["fmax_mhz"] for r in runs if r["fmax_mhz"] is not None]
    median_run = sorted(runs, key=lambda r: r["fmax_mhz"] or 0.0)[(len(runs) - 1) // 2]
    return {
        "runs": runs,
        "seeds": [r["seed"] for r in runs],
        "speed": runs[0]["speed"],
        "fmax_mhz": statistics.median(fmax) if fmax else None,
        "fmax_min_mhz": min(fmax) if fmax else None,
        "fmax_max_mhz": max(fmax) if fmax else None,
        "critical": median_run.get("critical"),
    }
