"""Sweep results documents: reading, merging, and the columns a table shows.

The results document is what ``qmac sweep`` writes: ``{"meta": {...}, "rows": [...]}``. Tables keep
every row (failed rows with their reason); plots use every measurement present (a point whose place
and route failed still has its synthesis counts).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["COLUMNS", "load_results", "merge_results", "columns_present", "fmt", "pending_points"]

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
    "max_abs_err",
    "rms_err",
    "quant_out_bits",
    "int_accuracy",
    "float_accuracy",
    "int_accuracy_stderr",
    "synth_s",
    "pnr_s",
    "sim_s",
    "reason",
)


def load_results(path: str | os.PathLike) -> dict:
    """Read and check a results JSON written by ``qmac sweep``."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"results file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"results file {str(path)!r} is a folder, expected a JSON file") from None
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"results file {str(path)!r} is not a JSON results file of qmac sweep: not UTF-8 "
            f"text ({exc.reason} at byte {exc.start})"
        ) from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"results file {str(path)!r} is not JSON: {exc}") from None
    except OSError as exc:
        raise ValueError(f"results file {str(path)!r} cannot be read: {exc.strerror}") from None
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


def fmt(value: object) -> str:
    """A table cell: 4 significant digits for floats, blank for None."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
    return str(value)


def pending_points(rows: list[dict]) -> int:
    """Points of a partial document still pending when it was written."""
    return sum(1 for r in rows if "pending" in (r.get("reason") or ""))
