"""The work of one sweep task, run in a worker process (or on a Dask worker).

Three kinds of task, each cached on its own so that a point shares what does not depend on it:

- ``"synth"``: one (config, target): generate Verilog, synthesize with Yosys, optionally place and
  route with nextpnr after checking that the design fits the device.
- ``"sim"``: one config: simulate a named workload layer on Verilator for cycles and utilization,
  checking the outputs bit-exactly against the golden layer.
- ``"quant"``: one (a_bits, w_bits): quantization error and accuracy of the digits CNN.

:func:`run_task` never raises for a failing point: it returns ``status="failed"`` with the reason.
"""

from __future__ import annotations

import importlib
import time
import traceback
from pathlib import Path

from hw.config import ArrayConfig
from qmac.synth import DEVICES, check_fit, place_and_route, synthesize

__all__ = ["WORKLOADS", "TOP", "run_task", "qmac_top_verilog", "load_design"]

TOP = "qmac_top"

#: Named layers for ``--workload``: name -> (op, dims for golden.make_random_layer).
WORKLOADS: dict[str, tuple[str, dict]] = {
    "matmul16": ("matmul", {"m": 16, "k": 16, "n": 16}),
    "matmul64": ("matmul", {"m": 64, "k": 64, "n": 64}),
    "matmul256": ("matmul", {"m": 256, "k": 256, "n": 256}),
    "fc-256x128": ("fully_connected", {"batch": 8, "in_features": 256, "out_features": 128}),
    "conv3x3-8x8x16": (
        "conv2d",
        {"h": 8, "w": 8, "cin": 16, "cout": 16, "kernel": 3, "padding": "SAME"},
    ),
    "conv3x3-28x28x64": (
        "conv2d",
        {"h": 28, "w": 28, "cin": 64, "cout": 64, "kernel": 3, "padding": "SAME"},
    ),
    "dw3x3-28x28x32": (
        "depthwise_conv2d",
        {"h": 28, "w": 28, "cin": 32, "kernel": 3, "padding": "SAME"},
    ),
}


def qmac_top_verilog(config: ArrayConfig) -> str:
    """Verilog of the full array (``QmacTop``) with top module ``qmac_top``."""
    try:
        from hw.emit import generate_verilog
    except ImportError:
        generate_verilog = None
    if generate_verilog is not None:
        text = generate_verilog(config)
        if isinstance(text, str):
            return text
    from amaranth.back import verilog

    from hw.top import QmacTop

    return verilog.convert(QmacTop(config), name=TOP)


def load_design(spec: str):
    """The function named by ``"module:function"`` (config -> Verilog text)."""
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"design {spec!r} cannot be loaded: {exc}") from None


def _synth(p: dict) -> dict:
    config = ArrayConfig.from_dict(p["config"])
    work = Path(p["workdir"])
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    text = load_design(p["design"])(config)
    verilog_path = work / f"{TOP}.v"
    verilog_path.write_text(text)
    out: dict = {"gen_s": round(time.perf_counter() - t0, 2)}
    target = p["target"]
    device = p["device"].get(target) if p["pnr"] else None
    stats = synthesize(
        verilog_path,
        target=target,
        top=TOP,
        workdir=work,
        netlist=device is not None,
        timeout=p["timeout_s"],
    )
    out.update(
        {
            k: stats[k]
            for k in (
                "lut",
                "ff",
                "dsp",
                "carry",
                "ram",
                "lutram",
                "mux",
                "other",
                "cells",
                "port_bits",
                "synth_s",
            )
        }
    )
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


def _sim(p: dict) -> dict:
    import numpy as np

    import golden
    from sim import run_layer

    config = ArrayConfig.from_dict(p["config"])
    name = p["workload"]
    if name not in WORKLOADS:
        raise ValueError(f"workload must be one of {', '.join(WORKLOADS)}, not {name!r}")
    op, dims = WORKLOADS[name]
    layer = golden.make_random_layer(
        op,
        rng=np.random.default_rng(p["seed"]),
        a_bits=config.a_bits,
        w_bits=config.w_bits,
        out_bits=config.out_bits,
        acc_bits=config.acc_bits,
        **dims,
    )
    t0 = time.perf_counter()
    outputs, stats = run_layer(config, layer)
    seconds = time.perf_counter() - t0
    expected = layer.output(rounding=config.rounding, mult_bits=config.mult_bits)
    outputs = np.asarray(outputs)
    if outputs.shape != expected.shape:
        raise AssertionError(f"workload {name}: output shape {outputs.shape} != {expected.shape}")
    mismatches = int(np.count_nonzero(outputs != expected))
    if mismatches:
        raise AssertionError(
            f"workload {name}: {mismatches} of {expected.size} outputs differ from golden"
        )
    return {
        "workload": name,
        "macs": int(layer.macs),
        "cycles": int(stats["cycles"]),
        "ideal_cycles": int(stats["ideal_cycles"])
        if stats.get("ideal_cycles") is not None
        else None,
        "utilization": float(stats["utilization"]),
        "sim_s": round(seconds, 2),
    }


def _quant(p: dict) -> dict:
    from qmac.cnn import evaluate_bits

    r = evaluate_bits(p["a_bits"], p["w_bits"], n_test=p["n_test"])
    return {
        k: (float(r[k]) if isinstance(r[k], float) else r[k])
        for k in ("float_accuracy", "int_accuracy", "sqnr_db", "max_err_lsb", "agreement", "ties")
        if k in r
    }


_KINDS = {"synth": _synth, "sim": _sim, "quant": _quant}


def run_task(task: dict) -> dict:
    """Run one task; return its result with ``status`` ("ok", "failed"), ``reason``, ``seconds``.

    Parameters
    ----------
    task : dict
        ``{"kind": "synth" | "sim" | "quant", "key": str, "payload": dict}`` as built by
        ``qmac.sweep_run.build_tasks``.
    """
    t0 = time.perf_counter()
    try:
        result = _KINDS[task["kind"]](task["payload"])
        result.update(status="ok", reason="")
    except Exception as exc:  # noqa: BLE001 - a failing point is a result, the sweep goes on
        reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]
        result = {"status": "failed", "reason": reason, "traceback": traceback.format_exc()[-2000:]}
    result["seconds"] = round(time.perf_counter() - t0, 2)
    if (
        task["kind"] == "synth"
        and result["status"] == "ok"
        and not task["payload"].get("keep_files")
    ):
        # keep logs and stat.json; the Verilog is regenerated in a second when needed
        (Path(task["payload"]["workdir"]) / f"{TOP}.v").unlink(missing_ok=True)
    return result
