"""Synthesize a preset's QmacTop; break its resources down into PEs, mesh, requant units, rest.

    python scripts/synth_preset.py --preset int8-8x8 --target ecp5 [--out FILE.json]

Four flattened Yosys runs on the same Verilog: the whole ``qmac_top`` (the totals), the mesh
(``qmac_top.engine.mesh``: all PEs), one interior PE, and one requantization unit
(``qmac_top.outpath.requant_0``; there is one per column). A part synthesized as its own top keeps
ports that its parent may leave unused, so part counts are upper bounds of their cost in context.
Yosys 0.70 cannot keep the hierarchy of QmacTop through ABC9 (see ``qmac.synth.synthesize``), hence
separate runs rather than per-module statistics of one run. Prints a table and writes JSON.
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
from qmac.synth import CATEGORIES, TARGETS, synthesize, tool_versions  # noqa: E402

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
    args = ap.parse_args(argv)
    cfg = preset(args.preset)
    work = args.workdir / f"{args.preset}-{args.target}"
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    verilog = generate_verilog(cfg)
    vpath = work / f"{TOP}.v"
    vpath.write_text(verilog)
    runs = {"total": TOP, **_parts(verilog, cfg.rows, cfg.cols)}
    stats = {}
    for name, module in runs.items():
        r = synthesize(vpath, target=args.target, top=module, workdir=work / name)
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
    out = args.out or args.workdir / f"{args.preset}-{args.target}.json"
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
    print(f"  wrote {out} ({summary['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
