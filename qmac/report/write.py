"""``write_report``: a sweep's CSV, JSON, Markdown, PNG figures and self-contained HTML page."""

from __future__ import annotations

import json
import os
from pathlib import Path

from qmac.report.figures import make_figures
from qmac.report.results import load_results, merge_results
from qmac.report.sweep_page import render_html
from qmac.report.tables import to_csv, to_markdown

__all__ = ["write_report"]


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

    Raises
    ------
    ValueError
        Before anything is written: a file that is not a results document, the same file given
        twice (its rows would count twice), or results without rows (nothing to report).
    """
    items = results if isinstance(results, list) else [results]
    seen: dict[Path, str] = {}
    for r in items:
        if not isinstance(r, dict):
            key = Path(r).resolve()
            if key in seen:
                raise ValueError(
                    f"results file {str(r)!r} is given twice (as {seen[key]!r}): its rows would "
                    "be counted twice"
                )
            seen[key] = str(r)
    doc = merge_results([r if isinstance(r, dict) else load_results(r) for r in items])
    rows, meta = doc["rows"], doc["meta"]
    if not rows:
        names = ", ".join(repr(str(r)) for r in items if not isinstance(r, dict)) or "the document"
        raise ValueError(f"results {names} hold no rows: nothing to report")
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
