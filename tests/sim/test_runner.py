"""sim.runner: the cache key of a generated build names the sources its Verilog came from."""

from __future__ import annotations

import shutil

import pytest

from hw import emit
from hw.config import ArrayConfig
from sim import build_progress, runner

CONFIG = ArrayConfig(rows=2, cols=2, a_buf_depth=16, w_buf_depth=16, param_depth=4, acc_depth=4,
                     out_fifo_depth=4)


def _copy_hw(tmp_path):
    root = tmp_path / "src"
    for package in ("hw", "golden"):
        shutil.copytree(emit.ROOT / package, root / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_verilog_comes_from_the_sources_on_disk(tmp_path, monkeypatch):
    # hw was imported by this process before the "edit": generating in-process would give the old
    # text; the runner must generate from the edited files and report their hash.
    root = _copy_hw(tmp_path)
    emit_py = root / "hw" / "emit.py"
    emit_py.write_text(emit_py.read_text().replace("Do not edit.", "EDITED-SOURCE-MARKER."))
    edited_hash = emit.generator_hash(root)
    assert edited_hash != emit.generator_hash()
    got_hash, text = runner._generate_verilog(CONFIG, root)
    assert got_hash == edited_hash
    assert "EDITED-SOURCE-MARKER." in text.splitlines()[0]
    assert "module qmac_top(" in text


def test_build_keys_the_cache_by_the_generating_sources(tmp_path, monkeypatch):
    # The sources change between computing the key and generating: the build must be cached
    # under the key of the sources that produced the Verilog, never under the earlier key.
    monkeypatch.setenv("QMAC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(runner, "generator_hash", lambda: "old")
    generated = []

    def fake_generate(config, root=None, *, target="generic"):
        generated.append(config)
        return "new", "// verilog of the new sources\n"

    monkeypatch.setattr(runner, "_generate_verilog", fake_generate)
    monkeypatch.setattr(runner, "_verilate", lambda folder, verilog, *args: None)
    info = runner.build(CONFIG)
    assert info.key == runner._build_key(CONFIG, "new", False) != runner._build_key(CONFIG, "old",
                                                                                     False)
    assert info.verilog.read_text() == "// verilog of the new sources\n"
    folders = sorted(p.name for p in (tmp_path / "cache" / "verilator").iterdir() if p.is_dir())
    assert folders == [info.key]
    # Now the key is found at once, without generating again.
    monkeypatch.setattr(runner, "generator_hash", lambda: "new")
    again = runner.build(CONFIG)
    assert again.cached and again.key == info.key and len(generated) == 2


def test_build_gives_up_when_sources_keep_changing(tmp_path, monkeypatch):
    monkeypatch.setenv("QMAC_CACHE", str(tmp_path / "cache"))
    counter = iter(range(100))
    monkeypatch.setattr(runner, "generator_hash", lambda: "h0")
    monkeypatch.setattr(runner, "_generate_verilog",
                        lambda c, root=None, **kw: (f"h{next(counter) + 1}", "x"))
    monkeypatch.setattr(runner, "_verilate", lambda folder, verilog, *args: None)
    with pytest.raises(RuntimeError, match=r"kept changing"):
        runner.build(CONFIG)


def test_build_reports_progress_and_nothing_when_cached(tmp_path, monkeypatch):
    """A real (tiny) build reports its stages in order; the cached model reports nothing."""
    monkeypatch.setenv("QMAC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(build_progress, "PROGRESS_PERIOD_S", 0.2)
    text = (
        "module progress_counter(input clk, input rst, output reg [7:0] q);\n"
        "  always @(posedge clk) q <= rst ? 8'd0 : q + 8'd1;\n"
        "endmodule\n"
    )
    events = []
    info = runner.build_verilog(text, "progress_counter", progress=events.append)
    assert not info.cached
    stages = [e.stage for e in events]
    assert stages[0] == "verilog" and stages[1] == "verilator" and stages[-1] == "done"
    assert set(stages) <= {"verilog", "verilator", "compile", "done"}
    assert [e.elapsed_s for e in events] == sorted(e.elapsed_s for e in events)
    compile_events = [e for e in events if e.stage == "compile"]
    assert all(e.objects > 0 for e in compile_events)
    assert {e.key for e in events} == {info.key} and events[-1].toplevel == "progress_counter"
    again = []
    assert runner.build_verilog(text, "progress_counter", progress=again.append).cached
    assert again == []
