"""Synthesize a preset's QmacTop; break its resources down into PEs, mesh, requant units, rest.

    python scripts/synth_preset.py --preset int8-8x8 --target ecp5 [--out FILE.json]
        [--hw-target ecp5] [--buf-depth 64] [--pe-pipeline 2] [--pnr --seeds 3 --speed 6]

Four flattened Yosys runs on the same Verilog: the whole ``qmac_top`` (the totals), the mesh
(``qmac_top.engine.mesh``: all PEs), one interior PE, and one requantization unit
(``qmac_top.outpath.requant_0``; there is one per column). A part synthesized as its own top keeps
ports that its parent may leave unused, so part counts are upper bounds of their cost in context.
Yosys 0.70 cannot keep the hierarchy of QmacTop through ABC9 (see ``qmac.synth.synthesize``), hence
separate runs rather than per-module statistics of one run. Prints a table and writes JSON.

``--hw-target ecp5`` generates the Verilog with MULT18X18D instances (``hw.emit``'s target;
generic infers them); ``--buf-depth`` overrides the activation/weight bank depth (64 is the
sweep's), ``--pe-pipeline`` the PE's product stages; ``--pnr`` places and routes the whole top
for ``--seeds`` seeds at ``--speed`` and prints the median and minimum Fmax and the worst path
groups from the routed SDF.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hw.config import preset  # noqa: E402
from hw.emit import MODULE_NAME as TOP  # noqa: E402
from hw.emit import generate_verilog  # noqa: E402
from hw.target import TARGETS as HW_TARGETS  # noqa: E402
from qmac.synth import (  # noqa: E402
    CATEGORIES,
    DEFAULT_DEVICE,
    SPEED_GRADES,
    TARGETS,
    place_and_route_seeds,
    synthesize,
    tool_versions,
)

KEYS = tuple(k for k in CATEGORIES if k != "other")


def _parts(verilog: str, rows: int, cols: int) -> dict[str, str]:
    modules = set(re.findall(r"^module \\?(\S+)", verilog, flags=re.M))
    pe = f"{TOP}.engine.mesh.pe_{min(1, rows - 1)}_{min(1, cols - 1)}"
    wanted = {"mesh": f"{TOP}.engine.mesh", "pe": pe, "requant": f"{TOP}.outpath.requant_0"}
    missing = {k: v for k, v in wanted.items() if v not in modules}
    if missing:
        raise SystemExit(f"synth_preset: modules not found in the Verilog: {missing}")
    return wanted


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="int8-8x8")
    ap.add_argument("--target", default="ecp5", choices=TARGETS)
    ap.add_argument("--workdir", type=Path, default=Path("build/synth"))
    ap.add_argument(
        "--out", type=Path, default=None, help="JSON (default WORKDIR/<preset>-<target>.json)"
    )
    ap.add_argument("--hw-target", default="generic", choices=sorted(HW_TARGETS),
                    help="primitives of the generated Verilog (default generic: inferred)")
    ap.add_argument("--buf-depth", type=int, default=None,
                    help="words per activation/weight bank (default: the preset's)")
    ap.add_argument("--pe-pipeline", type=int, default=None,
                    help="the PE's product pipeline stages (default: the preset's)")
    ap.add_argument("--pnr", action="store_true", help="place and route the whole top (ecp5)")
    ap.add_argument("--seeds", type=int, default=3, help="nextpnr seeds 1..N (default 3)")
    ap.add_argument("--speed", type=int, default=6, choices=SPEED_GRADES)
    ap.add_argument("--freq", type=float, default=150.0, help="target clock, MHz")
    args = ap.parse_args(argv)
    cfg = preset(args.preset)
    overrides = {}
    if args.buf_depth is not None:
        overrides.update(a_buf_depth=args.buf_depth, w_buf_depth=args.buf_depth)
    if args.pe_pipeline is not None:
        overrides.update(pe_pipeline=args.pe_pipeline)
    try:
        cfg = cfg.replace(**overrides)
    except (TypeError, ValueError) as exc:
        ap.error(str(exc))
    if args.pnr and args.target != "ecp5":
        ap.error(f"--pnr needs --target ecp5, not {args.target!r}")
    label = f"{args.preset}-{args.target}" + ("" if args.hw_target == "generic" else
                                              f"-{args.hw_target}")
    if args.buf_depth is not None:
        label += f"-buf{args.buf_depth}"
    if args.pe_pipeline is not None:
        label += f"-pipe{args.pe_pipeline}"
    work = args.workdir / label
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    verilog = generate_verilog(cfg, target=args.hw_target)
    vpath = work / f"{TOP}.v"
    vpath.write_text(verilog)
    runs = {"total": TOP, **_parts(verilog, cfg.rows, cfg.cols)}
    stats = {}
    netlist = None
    for name, module in runs.items():
        r = synthesize(vpath, target=args.target, top=module, workdir=work / name,
                       netlist=args.pnr and name == "total")
        netlist = r["netlist"] if name == "total" else netlist
        stats[name] = {k: r[k] for k in (*KEYS, "cells", "synth_s")} | {
            "module": module,
            "cells_by_type": r["cells_by_type"],
        }
        print(
            f"  {name:8s} {module:32s} "
            + " ".join(f"{k}={r[k]}" for k in KEYS)
            + f"  ({r['synth_s']:.0f} s)",
            flush=True,
        )
    n_pe = cfg.rows * cfg.cols
    total, mesh, requant = stats["total"], stats["mesh"], stats["requant"]
    summary = {
        "preset": args.preset,
        "target": args.target,
        "hw_target": args.hw_target,
        "config": cfg.to_dict(),
        "versions": tool_versions(),
        "pes": n_pe,
        "requant_units": cfg.cols,
        "parts": stats,
        "per_pe_mesh": {k: round(mesh[k] / n_pe, 2) for k in KEYS},
        "per_pe_total": {k: round(total[k] / n_pe, 2) for k in KEYS},
        "dsp": {
            "total": total["dsp"],
            "mesh": mesh["dsp"],
            "one_pe": stats["pe"]["dsp"],
            "requant_each": requant["dsp"],
            "requant_all": requant["dsp"] * cfg.cols,
            "rest": total["dsp"] - mesh["dsp"] - requant["dsp"] * cfg.cols,
        },
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    if args.pnr:
        pnr = place_and_route_seeds(netlist, device=DEFAULT_DEVICE["ecp5"], freq_mhz=args.freq,
                                    workdir=work / "pnr", seeds=args.seeds, speed=args.speed,
                                    sdf=True)
        summary["pnr"] = {
            "device": DEFAULT_DEVICE["ecp5"],
            "speed": pnr["speed"],
            "freq_mhz": args.freq,
            "seeds": pnr["seeds"],
            "fmax_mhz": {r["seed"]: r["fmax_mhz"] for r in pnr["runs"]},
            "fmax_median_mhz": pnr["fmax_mhz"],
            "fmax_min_mhz": pnr["fmax_min_mhz"],
            "critical": pnr["critical"],
            "families": {r["seed"]: r["timing"]["families"] for r in pnr["runs"]},
            "failing": {r["seed"]: [r["timing"]["failing"], r["timing"]["endpoints"]]
                        for r in pnr["runs"]},
        }
        summary["wall_s"] = round(time.perf_counter() - t0, 1)
    out = args.out or args.workdir / f"{label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1, sort_keys=True))
    d = summary["dsp"]
    print(
        f"{args.preset} on {args.target}: {n_pe} PEs, totals "
        + ", ".join(f"{k} {total[k]}" for k in KEYS)
    )
    print(
        "  per PE (whole design / PEs): "
        + ", ".join(f"{k} {v}" for k, v in summary["per_pe_total"].items())
    )
    print(
        "  per PE (mesh only):          "
        + ", ".join(f"{k} {v}" for k, v in summary["per_pe_mesh"].items())
    )
    print(
        f"  DSP: {d['mesh']} in the mesh ({d['one_pe']} in one PE), "
        f"{d['requant_each']} per requant unit x "
        f"{cfg.cols} = {d['requant_all']}, {d['rest']} elsewhere; total {d['total']}"
    )
    if args.pnr:
        p = summary["pnr"]
        per_seed = ", ".join(f"seed {k}: {v:.1f}" for k, v in p["fmax_mhz"].items())
        print(f"  Fmax at -{p['speed']} ({p['device']}, {p['freq_mhz']:g} MHz target): median "
              f"{p['fmax_median_mhz']:.1f} MHz, min {p['fmax_min_mhz']:.1f} ({per_seed})")
        c = p["critical"]
        if c:
            print(f"  worst path group (median seed): {c['start']} -> {c['end']} ({c['pin']}), "
                  f"{c['delay_ns']:.2f} ns, {c['levels']} cells, {c['route_ns']:.2f} ns routing")
        seed = pnr["runs"][0]["seed"]
        for g in p["families"][seed][:10]:
            print(f"    {g['delay_ns']:6.2f} ns  n={g['count']:5d}  {g['start']} -> {g['end']} "
                  f"({g['pin']})")
    print(f"  wrote {out} ({summary['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
