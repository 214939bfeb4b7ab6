"""Sweep results as text tables: CSV (every present column, full precision) and Markdown."""

from __future__ import annotations

import csv
import io

from qmac.report.results import columns_present, fmt, pending_points

__all__ = ["to_csv", "to_markdown"]


def to_csv(rows: list[dict]) -> str:
    """All present columns, full precision."""
    cols = columns_present(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({c: r.get(c) for c in cols})
    return buf.getvalue()


def to_markdown(rows: list[dict], meta: dict) -> str:
    """A Markdown page: how the results were made, then one table of all rows."""
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
    return "\n".join(lines) + "\n"
