"""``qmac report``: sweep results as CSV, JSON, Markdown and a self-contained HTML page with plots.

The results document is what ``qmac sweep`` writes: ``{"meta": {...}, "rows": [...]}``. Tables keep
every row (failed rows with their reason); plots use every measurement present
(a point whose place and route failed still has its synthesis counts).
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

__all__ = [
    "COLUMNS",
    "load_results",
    "merge_results",
    "columns_present",
    "to_csv",
    "to_markdown",
    "write_report",
]

#: Table columns in order; a column is shown when at least one row has a value for it.
COLUMNS = (
    "name",
    "target",
    "rows",
    "cols",
    "a_bits",
    "w_bits",
    "acc_bits",
    "mult_bits",
    "out_bits",
    "dataflow",
    "rounding",
    "a_buf_depth",
    "w_buf_depth",
    "status",
    "lut",
    "ff",
    "dsp",
    "carry",
    "ram",
    "lutram",
    "mux",
    "device",
    "fmax_mhz",
    "pnr_logic_pct",
    "pnr_note",
    "workload",
    "macs",
    "cycles",
    "ideal_cycles",
    "utilization",
    "sqnr_db",
    "max_err_lsb",
    "int_accuracy",
    "float_accuracy",
    "synth_s",
    "pnr_s",
    "sim_s",
    "reason",
)


def load_results(path: str | os.PathLike) -> dict:
    """Read and check a results JSON written by ``qmac sweep``."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"results file {str(path)!r} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"results file {str(path)!r} is not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list) or "meta" not in doc:
        raise ValueError(f"results file {str(path)!r} must hold {{'meta': ..., 'rows': [...]}}")
    for i, row in enumerate(doc["rows"]):
        missing = [k for k in ("name", "status") if k not in row]
        if missing:
            raise ValueError(f"results file {str(path)!r}: row {i} has no {missing[0]!r}")
    return doc


def merge_results(docs: list[dict]) -> dict:
    """Several sweeps as one document: rows concatenated, commands joined with `` && ``.

    Versions come from the first document; a version that differs in a later one is listed too
    (``"yosys": "0.70 / 0.71"``) so that no figure hides a mixed toolchain.
    """
    if not docs:
        raise ValueError("merge_results needs at least one results document, not []")
    if len(docs) == 1:
        return docs[0]
    versions: dict[str, str] = {}
    for d in docs:
        for k, v in d["meta"].get("versions", {}).items():
            if k not in versions:
                versions[k] = v
            elif v not in versions[k].split(" / "):
                versions[k] += f" / {v}"
    meta = {
        "command": " && ".join(d["meta"].get("command") or "qmac sweep" for d in docs),
        "versions": versions,
        "wall_s": sum(d["meta"].get("wall_s", 0) for d in docs),
        "tasks": sum(d["meta"].get("tasks", 0) for d in docs),
        "tasks_cached": sum(d["meta"].get("tasks_cached", 0) for d in docs),
        "failed_points": sum(d["meta"].get("failed_points", 0) for d in docs),
        "jobs": docs[0]["meta"].get("jobs"),
        "started_utc": docs[0]["meta"].get("started_utc"),
        "parts": [d["meta"] for d in docs],
    }
    return {"meta": meta, "rows": [r for d in docs for r in d["rows"]]}


def columns_present(rows: list[dict]) -> list[str]:
    """:data:`COLUMNS` that at least one row fills (not None, not empty)."""
    return [c for c in COLUMNS if any(r.get(c) not in (None, "") for r in rows)]


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
    return str(value)


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
            f"- partial results: {_pending(rows)} points were still pending when these were written"
        )
    lines += [
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c)).replace("|", "/") for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _pending(rows: list[dict]) -> int:
    return sum(1 for r in rows if "pending" in (r.get("reason") or ""))


def write_report(
    results: str | os.PathLike | dict | list, out_dir: str | os.PathLike, *, plots: bool = True
) -> dict[str, Path]:
    """Write ``results.csv``, ``results.json``, ``results.md``, the PNG figures and ``index.html``.

    Parameters
    ----------
    results : path, dict or list of them
        A results JSON from ``qmac sweep`` or the document itself; several are merged
        (:func:`merge_results`).
    out_dir : path
        Created if needed.
    plots : bool
        Render figures (matplotlib, Agg backend).

    Returns
    -------
    dict str -> Path
        The files written, keyed ``csv``, ``json``, ``md``, ``html`` and ``fig:<name>``.
    """
    from qmac.report_html import render_html
    from qmac.report_plots import make_figures

    items = results if isinstance(results, list) else [results]
    doc = merge_results([r if isinstance(r, dict) else load_results(r) for r in items])
    rows, meta = doc["rows"], doc["meta"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {"csv": out / "results.csv", "json": out / "results.json", "md": out / "results.md"}
    written["csv"].write_text(to_csv(rows))
    written["json"].write_text(json.dumps(doc, indent=1, sort_keys=True))
    written["md"].write_text(to_markdown(rows, meta))
    figures = make_figures(rows, meta) if plots else {}
    for name, png in figures.items():
        path = out / f"{name}.png"
        path.write_bytes(png)
        written[f"fig:{name}"] = path
    written["html"] = out / "index.html"
    written["html"].write_text(render_html(rows, meta, figures))
    return written
