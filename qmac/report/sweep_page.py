"""One self-contained HTML page of a sweep: provenance, figures (PNG embedded as base64), the
accuracy-vs-cost table and the table of every point. Wide tables scroll sideways in their own box
instead of being cut off at the page edge."""

from __future__ import annotations

import base64
import html

from qmac.report.pareto import COSTS
from qmac.report.plotting import provenance
from qmac.report.results import columns_present, fmt, pending_points
from qmac.report.tables import pareto_table, timing_table

__all__ = ["render_html", "STYLE"]

_CAPTIONS = {
    "resources_vs_size": "Resources of the whole array (qmac_top) vs array size, one line per "
    "operand width (Yosys cell counts after synthesis).",
    "breakdown_vs_size": "Resources of the mesh, the requantization units and the rest (buffers, "
    "loaders, sequencer, output FIFO) per array size and width; mesh and one requant unit "
    "synthesized as their own top (upper bounds in context), the rest by difference.",
    "per_pe_vs_bits": "Cost per PE vs operand width: the mesh's counts (with --breakdown) or "
    "the whole array's (buffers, requantization and control shared out) divided by rows x cols.",
    "fmax_vs_size": "Fmax from nextpnr vs array size at each width: the median over the seeds, "
    "bars from the slowest to the fastest seed; the dashed line is the place-and-route target.",
    "accuracy_vs_bits": "Digits CNN test accuracy vs operand width per calibration method and "
    "QAT (golden integer model); bars are 95% Wilson intervals over the test images.",
    "pareto": "Accuracy vs hardware cost: every (width, method) on each array; outlined points "
    "are Pareto-optimal (no other point is both cheaper and more accurate).",
    "error_vs_bits": "Logit error of the digits CNN vs width (PTQ min/max): SQNR, RMS error in "
    "float logit units.",
    "cycles_vs_size": "Simulated cycles (and the ideal cycle model), MAC utilization vs size.",
}
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1400px;color:#222;
padding:0 1em}
.scroll{overflow-x:auto;max-width:100%;margin:.5em 0 1.5em;border:1px solid #ddd}
.scroll.tall{max-height:70vh;overflow-y:auto}
table{border-collapse:collapse;font-size:12px;white-space:nowrap}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f0f0f0;position:sticky;top:0}tr.failed td{background:#fdd}
tr.optimal td{background:#e8f4e8;font-weight:600}
code{background:#f4f4f4;padding:1px 3px;overflow-wrap:anywhere}
figure{margin:1em 0}figcaption{font-size:13px;color:#555;max-width:1000px}
img{max-width:100%;height:auto}
"""


def _table(header: list[str], body: list[tuple[str, list[str]]], *, tall: bool = False) -> str:
    """An HTML table in a sideways-scrolling box; ``body`` is (row class, cells)."""
    esc = html.escape
    parts = [f"<div class='scroll{' tall' if tall else ''}'><table><thead><tr>"
             + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    for cls, cells in body:
        attr = f" class='{cls}'" if cls else ""
        parts.append(f"<tr{attr}>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    parts.append("</tbody></table></div>")
    return "\n".join(parts)


def render_html(
    rows: list[dict], meta: dict, figures: dict[str, bytes], *, pareto_cost: str = "lut"
) -> str:
    """The page as a string; needs no other file (figures are ``data:image/png;base64`` URIs)."""
    esc = html.escape
    cols = [c for c in columns_present(rows) if c not in ("synth_s", "pnr_s", "sim_s")]
    versions = ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>qmac sweep report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>qmac sweep report</h1>",
        f"<p>Command: <code>{esc(meta.get('command') or 'qmac sweep')}</code><br>",
        f"Versions: {esc(versions)}<br>",
        f"{len(rows)} points, {meta.get('failed_points', 0)} failed; sweep wall time "
        f"{meta.get('wall_s', 0):.0f} s on {esc(str(meta.get('jobs')))} local jobs"
        f"{' (Dask ' + esc(str(meta['dask'])) + ')' if meta.get('dask') else ''}, "
        f"started {esc(str(meta.get('started_utc', '')))}.</p>",
    ]
    if meta.get("partial"):
        parts.append(
            f"<p><b>Partial results:</b> {pending_points(rows)} points were still pending "
            "when these results were written.</p>"
        )
    for name, png in figures.items():
        data = base64.b64encode(png).decode()
        parts.append(
            f"<figure><img alt='{esc(name)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{esc(_CAPTIONS.get(name, name))} "
            f"<small>Produced by: {esc(provenance(meta))}</small></figcaption></figure>"
        )
    header, cells = timing_table(rows)
    if cells:
        parts.append("<h2>Timing</h2><p>Fmax from nextpnr (median over the seeds, the slowest "
                     "and fastest seed) and the worst failing path group of the median seed, "
                     "from the routed SDF (start and end register, endpoint pin: D data, CE "
                     "clock enable, LSR set/reset; delay plus setup).</p>")
        parts.append(_table(header, [("", c) for c in cells]))
    header, cells = pareto_table(rows, pareto_cost)
    if cells:
        parts.append(f"<h2>Accuracy vs {esc(COSTS[pareto_cost][1])}</h2>"
                     "<p>Per array, width and calibration method: accuracy of the digits CNN "
                     "(golden integer model, test split) with its 95% Wilson interval, and the "
                     "array's cost at that width; Pareto-optimal lines are highlighted.</p>")
        parts.append(_table(header, [("optimal" if c[-1] == "yes" else "", c) for c in cells]))
    parts.append("<h2>All points</h2>")
    parts.append(_table(
        cols,
        [("failed" if r.get("status") != "ok" else "", [fmt(r.get(c)) for c in cols])
         for r in rows],
        tall=True,
    ))
    parts.append("</body></html>")
    return "\n".join(parts)
