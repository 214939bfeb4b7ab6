"""Hostile input to every command: one line on stderr and exit 2, before any long work starts.

The cases are those of ``scripts/hostile_commands.py`` (which prints them as the table of
docs/HOSTILE.md); here each runs in-process through ``qmac.cli.main``, so that a traceback fails
the test.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from qmac.cli import main
from qmac.sweep import run as sweep_run

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("hostile", ROOT / "scripts" / "hostile_commands.py")
hostile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hostile)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile")
    hostile.make_fixtures(path)
    return path


@pytest.mark.parametrize(("command", "code", "pattern"), hostile.CASES, ids=lambda v: str(v)[:60])
def test_hostile_command(folder, command, code, pattern, capsys, monkeypatch):
    monkeypatch.setattr(sweep_run, "DASK_CONNECT_TIMEOUT_S", 1.0)
    monkeypatch.chdir(folder)
    before = sorted(p.name for p in folder.iterdir() if p.name != "w")
    try:
        got = main(shlex.split(command.format(t=folder)))
    except SystemExit as exc:  # argparse's rejections
        got = exc.code
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert got == code, captured.err
    assert len(lines) == 1, captured.err
    assert re.search(pattern, lines[0]), lines[0]
    assert lines[0].startswith("qmac "), lines[0]
    # nothing written next to the inputs (a sweep's --workdir is the cache, made at the check)
    assert sorted(p.name for p in folder.iterdir() if p.name != "w") == before


def test_invalid_sweep_axis_keeps_an_existing_results_file(folder, capsys):
    results = folder / "keep.json"
    results.write_text('{"meta": {}, "rows": []}')
    code = main(["sweep", "--bits", "1", "--target", "none", "--workdir", str(folder / "w"),
                 "-o", str(results)])
    assert code == 2 and "sweep point bits=1" in capsys.readouterr().err
    assert results.read_text() == '{"meta": {}, "rows": []}'
