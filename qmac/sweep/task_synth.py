"""The ``"synth"`` sweep task: one (config, target): generate Verilog, synthesize with Yosys
(optionally also its parts, :mod:`qmac.sweep.breakdown`), and optionally place and route with
nextpnr after checking that the design fits the device."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import time
from pathlib import Path

from hw.config import ArrayConfig
from hw.emit import MODULE_NAME
from qmac.sweep.breakdown import breakdown
from qmac.synth import (
    CATEGORIES,
    DEVICES,
    check_fit,
    place_and_route_seeds,
    summarize_seeds,
    synthesize,
)

__all__ = ["DEFAULT_DESIGN", "load_design", "pnr_row", "run"]

#: ``module:function`` giving the Verilog of a config: the whole array, ``qmac_top``.
DEFAULT_DESIGN = "hw.emit:generate_verilog"
#: Implementation target of the generated Verilog (``hw.target``) per synthesis target.
HW_TARGETS = {"ecp5": "ecp5", "ice40": "generic"}


def load_design(spec: str):
    """The function named by ``"module:function"`` (config -> Verilog text)."""
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"design {spec!r} cannot be loaded: {exc}") from None


def _route_resumable(netlist: str, device: str, p: dict, work: Path) -> dict:
    """:func:`qmac.synth.place_and_route_seeds` over seeds 1..N, one seed at a time, each seed's
    result kept in its folder (``seed<N>/result.json``): a point whose sweep was interrupted
    (or killed by a time limit) between seeds reuses the seeds that finished. The folder is the
    task's, keyed by everything that makes the netlist and the run, so a kept result is the
    result of this very run.

    Returns the :func:`~qmac.synth.place_and_route_seeds` dict (``runs``, ``speed``, the median,
    min and max Fmax, ``critical`` of the median seed).
    """
    runs = []
    for seed in range(1, (p.get("seeds") or 1) + 1):
        saved = work / f"seed{seed}" / "result.json"
        try:
            run = json.loads(saved.read_text())
        except (OSError, json.JSONDecodeError):
            run = place_and_route_seeds(
                netlist, device=device, freq_mhz=p["freq_mhz"], workdir=work, seeds=[seed],
                speed=p.get("speed"), sdf=True, timeout=p["timeout_s"],
            )["runs"][0]
            tmp = saved.with_suffix(".tmp")
            tmp.write_text(json.dumps(run))
            os.replace(tmp, saved)
        runs.append(run)
    return summarize_seeds(runs)


def _mhz(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def pnr_row(pnr: dict, family: str) -> dict:
    """The row fields of a :func:`qmac.synth.place_and_route_seeds` result.

    Returns
    -------
    dict
        ``speed``, ``seeds`` (count), ``target_mhz`` (the nextpnr target clock), ``fmax_mhz``
        (median over the seeds), ``fmax_min_mhz``, ``fmax_max_mhz``, ``fmax_runs_mhz`` (per seed),
        ``pnr_s`` (summed over the seeds), ``pnr_utilization`` and ``pnr_logic_pct`` (of the
        first seed), and the worst path group of the median seed: ``critical_start``,
        ``critical_end`` (RTL signals), ``critical_pin`` (D, CE, LSR), ``critical_ns`` (delay
        plus setup), ``critical_count`` (endpoints in the group); None where no SDF was ranked.
    """
    runs = pnr["runs"]
    crit = pnr.get("critical") or {}
    out = {
        "speed": pnr["speed"],
        "seeds": len(runs),
        "target_mhz": runs[0]["freq_mhz"],
        "fmax_mhz": _mhz(pnr["fmax_mhz"]),
        "fmax_min_mhz": _mhz(pnr["fmax_min_mhz"]),
        "fmax_max_mhz": _mhz(pnr["fmax_max_mhz"]),
        "fmax_runs_mhz": [_mhz(r["fmax_mhz"]) for r in runs],
        "pnr_s": round(sum(r["pnr_s"] for r in runs), 2),
        "pnr_utilization": runs[0]["utilization"],
        "critical_start": crit.get("start"),
        "critical_end": crit.get("end"),
        "critical_pin": crit.get("pin"),
        "critical_ns": crit.get("delay_ns"),
        "critical_count": crit.get("count"),
    }
    comb = {"ecp5": "TRELLIS_COMB", "ice40": "ICESTORM_LC"}[family]
    if comb in runs[0]["utilization"]:
        u = runs[0]["utilization"][comb]
        out["pnr_logic_pct"] = round(100.0 * u["used"] / u["available"], 2)
    return out


def run(p: dict) -> dict:
    """Generate, synthesize and (with ``pnr``) place and route one (config, target) point."""
    config = ArrayConfig.from_dict(p["config"])
    work = Path(p["workdir"])
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    design = load_design(p["design"])
    # The primitives of the generated Verilog follow the synthesis target where the design can
    # choose them (hw.emit: MULT18X18D with its own registers on ECP5, inferred elsewhere).
    hw_target = HW_TARGETS.get(p["target"], "generic")
    if "target" in inspect.signature(design).parameters:
        text = design(config, target=hw_target)
    else:
        text, hw_target = design(config), None
    out_hw = {"hw_target": hw_target}
    verilog_path = work / f"{MODULE_NAME}.v"
    verilog_path.write_text(text)
    out: dict = {"gen_s": round(time.perf_counter() - t0, 2), **out_hw}
    target = p["target"]
    device = p["device"].get(target) if p["pnr"] else None
    stats = synthesize(
        verilog_path,
        target=target,
        top=MODULE_NAME,
        workdir=work,
        netlist=device is not None,
        timeout=p["timeout_s"],
    )
    out.update({k: stats[k] for k in (*CATEGORIES, "cells", "port_bits", "synth_s")})
    out["cells_by_type"] = stats["cells_by_type"]
    if p.get("breakdown"):
        out.update(breakdown(verilog_path, stats, target=target, workdir=work / "parts",
                             timeout=p["timeout_s"]))
    if p["pnr"] and device is None:
        out["pnr_note"] = f"no place and route for {target}"
    elif device is not None:
        out.update(device=device, speed=p.get("speed"), seeds=p.get("seeds") or 1,
                   target_mhz=float(p["freq_mhz"]))
        reason = check_fit(stats, device)
        if reason:
            out["pnr_note"] = f"skipped: {reason}"
        else:
            pnr = _route_resumable(stats["netlist"], device, p, work / "pnr")
            out.update(pnr_row(pnr, DEVICES[device].family))
            for r in pnr["runs"]:  # the ranked paths are in the row; SDF and netlist copies are
                seed_dir = Path(r["log"]).parent  # tens of MB each for large arrays
                (seed_dir / "routed.sdf").unlink(missing_ok=True)
                (seed_dir / Path(stats["netlist"]).name).unlink(missing_ok=True)
        Path(stats["netlist"]).unlink(missing_ok=True)  # tens of MB for large arrays
    return out
