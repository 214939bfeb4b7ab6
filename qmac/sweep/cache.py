"""The sweep's result cache: one JSON file per task, keyed by its inputs and by the sources of the
code that computes it (the files the task's module imports, :mod:`hw.sources`), so a re-run
computes only what is new or changed, and an edit to any imported file invalidates the entries it
could have changed. Files are written atomically, so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

from hw.sources import PACKAGES, sources_hash
from qmac.model.digits import DATA_PATH
from qmac.model.qat_shipped import QAT_PATH
from qmac.sweep.tasks import KINDS

__all__ = ["task_sources_hash", "task_key", "store", "load_cached"]


def _design_sources(design: str) -> tuple[list[str], list[Path]]:
    """(project modules, other files) whose code a ``module:function`` design runs."""
    module = design.partition(":")[0]
    if module.split(".")[0] in PACKAGES:
        return [module], []
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        spec = None
    if spec is None or not spec.origin:
        raise ValueError(
            f"design module of {design!r} not found (sys.path: current directory and installed)"
        )
    return [], [Path(spec.origin)]


def task_sources_hash(kind: str, design: str | None = None) -> str:
    """Hash (16 hex digits) of the sources a task of ``kind`` runs.

    ``"synth"`` adds the design's module (or file, outside the project), ``"quant"`` the shipped
    weights and split of the digits CNN.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    modules, extra = [KINDS[kind].__name__], []
    if kind == "synth" and design is not None:
        more, files = _design_sources(design)
        modules += more
        extra += files
    if kind == "quant":
        extra += [DATA_PATH, QAT_PATH]
    return sources_hash(modules, extra=extra)[:16]


def task_key(obj: dict) -> str:
    """Cache key (20 hex digits) of a task identity (kind, sources hash, inputs)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _cache_path(cache: Path, key: str) -> Path:
    return cache / f"{key}.json"


def store(cache: Path, key: str, result: dict) -> None:
    """Write a finished task's result (atomically)."""
    tmp = cache / f".{key}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(result, sort_keys=True))
    os.replace(tmp, _cache_path(cache, key))


def load_cached(cache: Path, key: str) -> dict | None:
    """A cached successful result, or None (missing, unreadable, or failed)."""
    try:
        result = json.loads(_cache_path(cache, key).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return result if result.get("status") == "ok" else None
