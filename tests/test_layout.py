"""The shape of the code: every module imports alone, dependencies point the way DESIGN.md says.

DESIGN.md, "Layout": ``golden`` imports no other qmac package; ``hw`` may use ``golden`` (numeric
rules) but never ``sim`` or ``qmac``; ``sim`` imports ``hw`` and ``golden``; in ``qmac``: ``model``
imports ``golden`` (and ``sim`` for its RTL backend), ``synth`` imports ``hw``, ``sweep`` imports
``model``, ``synth``, ``sim``, ``hw``, ``report`` renders what it is given and imports none of them,
``cli`` imports everything. No import cycles. Imports inside functions count like any other.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from hw.sources import PACKAGES, ROOT, imported_modules, module_path

#: Layer -> the layers it may import (a layer is a top-level package or a subpackage of qmac).
ALLOWED = {
    "golden": {"golden"},
    "hw": {"hw", "golden"},
    "sim": {"sim", "hw", "golden"},
    "qmac": set(),  # qmac/__init__ (the version) and qmac/__main__ below
    "qmac.model": {"qmac.model", "golden", "sim"},
    "qmac.synth": {"qmac.synth", "hw"},
    "qmac.sweep": {"qmac.sweep", "qmac", "qmac.model", "qmac.synth", "sim", "hw", "golden"},
    "qmac.report": {"qmac.report"},
    "qmac.cli": {"qmac.cli", "qmac", "qmac.model", "qmac.synth", "qmac.sweep", "qmac.report",
                 "sim", "hw", "golden"},
}


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            names.append(".".join(parts))
    return names


MODULES = _modules()


def _layer(module: str) -> str:
    """``qmac.<subpackage>`` for modules inside a qmac subpackage, else the top-level package."""
    parts = module.split(".")
    if parts[0] == "qmac" and len(parts) > 1 and (ROOT / "qmac" / parts[1]).is_dir():
        return ".".join(parts[:2])
    return parts[0]


def forbidden(module: str, targets: set[str]) -> list[str]:
    """The imports of ``module`` (among ``targets``) that its layer may not make."""
    layer = _layer(module)
    allowed = ALLOWED[layer] if module != "qmac.__main__" else {"qmac.cli"}
    return sorted(t for t in targets if _layer(t) not in allowed | {layer})


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the import graph (depth-first search for a back edge), or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t in graph and state.get(t) is None:
                found = visit(t)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if state.get(m) is None:
            found = visit(m)
            if found:
                return found
    return None


GRAPH = {m: imported_modules(m) for m in MODULES}


def test_every_module_has_a_source_and_the_list_is_complete():
    assert len(MODULES) > 60 and all(module_path(m) is not None for m in MODULES)
    assert {"hw.top", "golden.lowering", "sim.runner", "qmac.cli", "qmac.model.ptq"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_dependency_direction(module):
    bad = forbidden(module, GRAPH[module])
    assert not bad, f"{module} ({_layer(module)}) imports {bad}, against DESIGN.md's directions"


def test_no_import_cycles():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_layout_checks_can_fail():
    """The checks see what they look for: imports inside functions, a bad edge, a cycle."""
    assert "hw.config" in GRAPH["sim.runner"]  # imported inside a function only
    assert forbidden("hw.top", {"sim.runner", "golden.cycles"}) == ["sim.runner"]
    assert forbidden("qmac.report.figures", {"qmac.synth.cells"}) == ["qmac.synth.cells"]
    assert forbidden("qmac.cli.run", {"qmac.report.results", "sim"}) == []
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"b"}}) is None


def _import_alone(module: str) -> tuple[str, int, str]:
    proc = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    lines = proc.stderr.strip().splitlines()
    return module, proc.returncode, lines[-1] if lines else ""


def test_every_module_imports_alone_in_a_fresh_interpreter():
    # qmac.__main__ runs the command line when imported: it is checked by the CLI tests instead.
    modules = [m for m in MODULES if m != "qmac.__main__"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_import_alone, modules))
    failed = [(m, err) for m, code, err in results if code != 0]
    assert not failed, f"modules that fail to import alone: {failed}"
