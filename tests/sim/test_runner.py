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


# ---- targets ----------------------------------------------------------------------------------
def _pre_target_key(config, gen_hash: str, waves: bool) -> str:
    """The generic cache key as it was computed before builds had a target."""
    import hashlib

    h = hashlib.sha256(f"{config.digest}|{gen_hash}".encode())
    h.update(runner._toolchain_tag(waves).encode())
    return f"{config.name}_{h.hexdigest()[:16]}{'_w' if waves else ''}"


def _fake_builds(monkeypatch, tmp_path) -> list:
    monkeypatch.setenv("QMAC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(runner, "generator_hash", lambda: "g")
    calls = []

    def fake_generate(config, root=None, *, target="generic"):
        return "g", f"// {target} verilog\n"

    def fake_verilate(folder, verilog, toplevel, waves, wave_format, models=()):
        calls.append([p.name for p in models])

    monkeypatch.setattr(runner, "_generate_verilog", fake_generate)
    monkeypatch.setattr(runner, "_verilate", fake_verilate)
    return calls


@pytest.mark.parametrize("waves", [False, True])
def test_generic_key_is_unchanged_by_targets(waves):
    h = emit.generator_hash()
    key = runner._build_key(CONFIG, h, waves)
    assert key == runner._build_key(CONFIG, h, waves, "generic", []) == _pre_target_key(CONFIG, h,
                                                                                         waves)


def test_ecp5_key_differs_and_follows_its_models():
    h = emit.generator_hash()
    models = runner.target_models("ecp5")
    generic = runner._build_key(CONFIG, h, False)
    ecp5 = runner._build_key(CONFIG, h, False, "ecp5", models)
    assert ecp5 != generic and ecp5.startswith(f"{CONFIG.name}_ecp5_")
    edited = [(name, text + "// edited\n") for name, text in models[:1]] + models[1:]
    assert runner._build_key(CONFIG, h, False, "ecp5", edited) != ecp5
    traced = runner._build_key(CONFIG, h, True, "ecp5", models)
    assert traced.endswith("_w") and traced.startswith(f"{CONFIG.name}_ecp5_") and traced != ecp5


def test_build_per_target(tmp_path, monkeypatch):
    calls = _fake_builds(monkeypatch, tmp_path)
    generic = runner.build(CONFIG)
    assert generic.key == _pre_target_key(CONFIG, "g", False) and generic.target == "generic"
    assert runner.build(CONFIG, target="generic").key == generic.key
    ecp5 = runner.build(CONFIG, target="ecp5")
    assert ecp5.target == "ecp5" and ecp5.key != generic.key and not ecp5.cached
    assert ecp5.verilog.read_text() == "// ecp5 verilog\n"
    assert calls == [[], ["MULT18X18D.v", "yosys_ecp5_cells.v"]]
    for name, text in runner.target_models("ecp5"):  # compiled from the build folder
        assert (ecp5.build_dir / name).read_text() == text
    again = runner.build(CONFIG, target="ecp5")
    assert again.cached and again.key == ecp5.key and again.target == "ecp5"


def test_build_rejects_an_unknown_target(tmp_path, monkeypatch):
    calls = _fake_builds(monkeypatch, tmp_path)
    with pytest.raises(ValueError, match=r"^target must be one of generic, ecp5, not 'ice40'$"):
        runner.build(CONFIG, target="ice40")
    assert calls == [] and not (tmp_path / "cache").exists()


def test_generate_verilog_for_a_target():
    got_hash, text = runner._generate_verilog(CONFIG, target="ecp5")
    assert got_hash == emit.generator_hash()
    assert ", target ecp5). Do not edit." in text.splitlines()[0]
    assert "MULT18X18D #(" in text
