"""Sweep results as text tables: CSV (every present column, full precision) and Markdown."""

from __future__ import annotations

import csv
import io

from qmac.report.pareto import COSTS, pareto_points
from qmac.report.results import columns_present, fmt, pending_points

__all__ = ["pareto_table", "timing_table", "to_csv", "to_markdown"]


def timing_table(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """(header, cells): one line per routed point: Fmax over the seeds and the worst path group
    of the median seed (``critical_*`` fields of the row)."""
    header = ["point", "target", "device", "speed", "seeds", "target MHz", "Fmax median",
              "min..max", "critical path (start -> end)", "pin", "ns"]
    cells = []
    for r in rows:
        if r.get("fmax_mhz") is None:
            continue
        lo, hi = r.get("fmax_min_mhz"), r.get("fmax_max_mhz")
        path = (f"{r['critical_start']} -> {r['critical_end']}"
                if r.get("critical_start") is not None else "")
        cells.append([r["name"], str(r.get("target") or ""), str(r.get("device") or ""),
                      fmt(r.get("speed")), fmt(r.get("seeds")), fmt(r.get("target_mhz")),
                      fmt(r["fmax_mhz"]), f"{fmt(lo)}..{fmt(hi)}" if lo is not None else "",
                      path, fmt(r.get("critical_pin")), fmt(r.get("critical_ns"))])
    return header, cells


def pareto_table(rows: list[dict], cost: str = "lut") -> tuple[list[str], list[list[str]]]:
    """(header, cells) of the accuracy-vs-cost table: one line per (array, width, method).

    Accuracy is the digits CNN's test accuracy with its 95% Wilson interval; ``cost`` the chosen
    cost of that array at that width; Pareto-optimal lines are marked ``yes``. Empty cells when
    the rows hold no point with both an accuracy and that cost.
    """
    points, flt = pareto_points(rows, cost)
    _, label, _ = COSTS[cost]
    header = ["array", "width", "method", "accuracy (95% CI)", "n_test", label, "Pareto-optimal"]
    cells = []
    for p in points:
        width = f"{p.a_bits}b" if p.a_bits == p.w_bits else f"a{p.a_bits}w{p.w_bits}"
        acc = f"{100 * p.accuracy:.2f}% ({100 * p.ci[0]:.2f}..{100 * p.ci[1]:.2f})"
        cells.append([p.array, width, p.method, acc, str(p.n_test), fmt(p.cost),
                      "yes" if p.optimal else ""])
    if cells and flt is not None:
        cells.append(["float", "32-bit float", "", f"{100 * flt:.2f}%", cells[0][4], "", ""])
    return header, cells


def to_csv(rows: list[dict]) -> str:
    """All present columns, full precision."""
    cols = columns_present(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({c: r.get(c) for c in cols})
    return buf.getvalue()


def to_markdown(rows: list[dict], meta: dict, *, pareto_cost: str = "lut") -> str:
    """A Markdown page: how the results were made, one table of all rows, the Pareto table."""
    cols = [c for c in columns_present(rows) if c not in ("synth_s", "pnr_s", "sim_s")]
    v = meta.get("versions", {})
    lines = [
        "# qmac sweep results",
        "",
        f"- command: `{meta.get('command') or 'qmac sweep'}`",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- {len(rows)} points, {meta.get('failed_points', 0)} failed, sweep wall time "
        f"{meta.get('wall_s', 0):.0f} s ({meta.get('tasks', 0)} tasks, "
        f"{meta.get('tasks_cached', 0)} cached)",
    ]
    if meta.get("partial"):
        lines.append(
            f"- partial results: {pending_points(rows)} points were still pending when these "
            "were written"
        )
    lines += [
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    for r in rows:
        lines.append("| " + " | ".join(fmt(r.get(c)).replace("|", "/") for c in cols) + " |")
    header, cells = timing_table(rows)
    if cells:
        lines += ["", "## Timing (nextpnr; critical path of the median seed)", "",
                  "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(c) + " |" for c in cells]
    header, cells = pareto_table(rows, pareto_cost)
    if cells:
        lines += ["", f"## Accuracy vs {COSTS[pareto_cost][1]}", "",
                  "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(c) + " |" for c in cells]
    return "\n".join(lines) + "\n"
