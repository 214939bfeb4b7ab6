"""One self-contained HTML page of a sweep: provenance, figures (PNG embedded as base64), table."""

from __future__ import annotations

import base64
import html

from qmac.report.figures import provenance
from qmac.report.results import columns_present, fmt, pending_points

__all__ = ["render_html"]

_CAPTIONS = {
    "resources_vs_size": "Resources vs array size, per target (Yosys cell counts after synthesis).",
    "resources_vs_bits": "Resources and Fmax vs operand width (Fmax from nextpnr where routed).",
    "error_vs_bits": "Digits CNN quantization error vs bit width: SQNR, worst error, accuracy.",
    "cycles_vs_size": "Simulated cycles (and the ideal cycle model), MAC utilization vs size.",
}
_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1400px;color:#222}
table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f0f0f0;position:sticky;top:0}tr.failed td{background:#fdd}
code{background:#f4f4f4;padding:1px 3px}
figure{margin:1em 0}figcaption{font-size:13px;color:#555}img{max-width:100%}
"""


def render_html(rows: list[dict], meta: dict, figures: dict[str, bytes]) -> str:
    """The page as a string; needs no other file (figures are ``data:image/png;base64`` URIs)."""
    esc = html.escape
    cols = [c for c in columns_present(rows) if c not in ("synth_s", "pnr_s", "sim_s")]
    versions = ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>qmac sweep report</title>",
        f"<style>{_STYLE}</style></head><body>",
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
    parts.append(
        "<h2>All points</h2><table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in cols) + "</tr>"
    )
    for r in rows:
        cls = " class='failed'" if r.get("status") != "ok" else ""
        parts.append(
            f"<tr{cls}>" + "".join(f"<td>{esc(fmt(r.get(c)))}</td>" for c in cols) + "</tr>"
        )
    parts.append("</table></body></html>")
    return "\n".join(parts)
