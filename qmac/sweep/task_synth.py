"""The ``"synth"`` sweep task: one (config, target): generate Verilog, synthesize with Yosys, and
optionally place and route with nextpnr after checking that the design fits the device."""

from __future__ import annotations

import importlib
import time
from pathlib import Path

from hw.config import ArrayConfig
from hw.emit import MODULE_NAME
from qmac.synth import CATEGORIES, DEVICES, check_fit, place_and_route, synthesize

__all__ = ["DEFAULT_DESIGN", "load_design", "run"]

#: ``module:function`` giving the Verilog of a config: the whole array, ``qmac_top``.
DEFAULT_DESIGN = "hw.emit:generate_verilog"


def load_design(spec: str):
    """The function named by ``"module:function"`` (config -> Verilog text)."""
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"design {spec!r} cannot be loaded: {exc}") from None


def run(p: dict) -> dict:
    """Generate, synthesize and (with ``pnr``) place and route one (config, target) point."""
    config = ArrayConfig.from_dict(p["config"])
    work = Path(p["workdir"])
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    text = load_design(p["design"])(config)
    verilog_path = work / f"{MODULE_NAME}.v"
    verilog_path.write_text(text)
    out: dict = {"gen_s": round(time.perf_counter() - t0, 2)}
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
    if p["pnr"] and device is None:
        out["pnr_note"] = f"no place and route for {target}"
    elif device is not None:
        out["device"] = device
        reason = check_fit(stats, device)
        if reason:
            out["pnr_note"] = f"skipped: {reason}"
        else:
            pnr = place_and_route(
                stats["netlist"],
                device=device,
                freq_mhz=p["freq_mhz"],
                workdir=work,
                timeout=p["timeout_s"],
            )
            out.update(
                fmax_mhz=round(pnr["fmax_mhz"], 2) if pnr["fmax_mhz"] else None,
                pnr_s=pnr["pnr_s"],
                pnr_utilization=pnr["utilization"],
            )
            fam = DEVICES[device].family
            comb = {"ecp5": "TRELLIS_COMB", "ice40": "ICESTORM_LC"}[fam]
            if comb in pnr["utilization"]:
                u = pnr["utilization"][comb]
                out["pnr_logic_pct"] = round(100.0 * u["used"] / u["available"], 2)
        Path(stats["netlist"]).unlink(missing_ok=True)  # tens of MB for large arrays
    return out
