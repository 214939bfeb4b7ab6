"""What ``qmac sim`` / ``qmac demo`` print while a Verilator model builds (fed fake events)."""

from __future__ import annotations

import io

from qmac.cli import build_progress
from sim.build_progress import BuildProgress


def _events(key: str = "os4x4_abc"):
    yield BuildProgress("verilog", "qmac_top", key, 0.1)
    yield BuildProgress("verilator", "qmac_top", key, 1.0)
    yield BuildProgress("compile", "qmac_top", key, 12.0, objects=3, sources=9)
    yield BuildProgress("compile", "qmac_top", key, 14.0, objects=5, sources=9)
    yield BuildProgress("done", "qmac_top", key, 48.6)


def test_log_lines_say_what_is_built_and_that_it_happens_once(monkeypatch):
    monkeypatch.setattr(build_progress, "LINE_PERIOD_S", 0.0)  # every report on its own line
    out = io.StringIO()
    reporter = build_progress.BuildReporter("qmac sim", "os4x4_a8w8", stream=out)
    for event in _events():
        reporter(event)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(
        "qmac sim: building the Verilator model of os4x4_a8w8, once per config and generator "
        "version (cached in "
    )
    assert lines[1:] == [
        "  generating Verilog, 0 s",
        "  Verilator: translating to C++, 1 s",
        "  compiling C++: 3 objects built (9 generated C++ files), 12 s",
        "  compiling C++: 5 objects built (9 generated C++ files), 14 s",
        "  built in 49 s",
    ]


def test_log_lines_are_rate_limited_off_a_terminal():
    out = io.StringIO()
    reporter = build_progress.BuildReporter("qmac demo", "cfg", stream=out)
    for event in _events():
        reporter(event)
    lines = out.getvalue().splitlines()  # each stage once (within 30 s), then the final line
    assert lines[1:] == [
        "  generating Verilog, 0 s",
        "  Verilator: translating to C++, 1 s",
        "  compiling C++: 3 objects built (9 generated C++ files), 12 s",
        "  built in 49 s",
    ]


def test_a_terminal_gets_one_rewritten_status_line():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    reporter = build_progress.BuildReporter("qmac sim", "cfg", stream=out)
    for event in _events():
        reporter(event)
    text = out.getvalue()
    assert text.count("\n") == 2  # the header line and the final status
    assert "\r  compiling C++: 5 objects built (9 generated C++ files), 14 s" in text
    assert text.endswith("\r  built in 49 s" + " " * (len(
        "  compiling C++: 5 objects built (9 generated C++ files), 14 s") - len("  built in 49 s"))
        + "\n")
