"""What a command prints while the Verilator model of its array is built (minutes on a cold cache).

:func:`build_model` builds (or reuses) the model of a config through :func:`sim.runner.build` and
prints on stderr: one line saying what is built, that it happens once per config and where it is
cached, then the stage and elapsed time (rewritten in place on a terminal; otherwise a line per
stage and at most one every ``LINE_PERIOD_S`` seconds within a stage), and the total when done.
A cached model prints nothing.
"""

from __future__ import annotations

import sys
import time

__all__ = ["BuildReporter", "build_model", "LINE_PERIOD_S"]

#: Seconds between two progress lines when stderr is not a terminal (a log file, CI).
LINE_PERIOD_S = 30.0

_STAGES = {
    "waiting": "waiting for another process that builds the same model",
    "verilog": "generating Verilog",
    "verilator": "Verilator: translating to C++",
    "compile": "compiling C++",
}


class BuildReporter:
    """A ``progress`` callback for :func:`sim.runner.build` that prints for a human.

    Parameters
    ----------
    command : str
        Prefix of each line (``"qmac sim"``).
    config_name : str
        The array being built (``ArrayConfig.name``).
    stream : file, optional
        Where to print (default ``sys.stderr``).
    """

    def __init__(self, command: str, config_name: str, stream=None) -> None:
        self._command = command
        self._name = config_name
        self._stream = sys.stderr if stream is None else stream
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._started = False
        self._last_line = -LINE_PERIOD_S
        self._last_stage = ""
        self._width = 0

    def __call__(self, event) -> None:
        if not self._started:
            from sim.runner import cache_root

            self._started = True
            self._print(
                f"{self._command}: building the Verilator model of {self._name}, once per config "
                f"and generator version (cached in {cache_root() / 'verilator'}); about 15 s for "
                "4x4 to several minutes for 16x16"
            )
        if event.stage == "done":
            self._status(f"  built in {event.elapsed_s:.0f} s", final=True)
            return
        text = _STAGES.get(event.stage, event.stage)
        if event.stage == "compile":
            text += f": {event.objects} objects built ({event.sources} generated C++ files)"
        new_stage = event.stage != self._last_stage
        self._last_stage = event.stage
        self._status(f"  {text}, {event.elapsed_s:.0f} s", new_stage=new_stage)

    def _print(self, line: str) -> None:
        print(line, file=self._stream, flush=True)

    def _status(self, line: str, final: bool = False, new_stage: bool = False) -> None:
        if self._tty:
            pad = " " * max(0, self._width - len(line))
            end = "\n" if final else ""
            self._stream.write(f"\r{line}{pad}{end}")
            self._stream.flush()
            self._width = 0 if final else len(line)
            return
        now = time.monotonic()
        if final or new_stage or now - self._last_line >= LINE_PERIOD_S:
            self._last_line = now
            self._print(line)


def build_model(command: str, config, *, waves: bool = False, target: str = "generic"):
    """``sim.runner.build(config, target=target)`` with progress on stderr; returns its
    ``BuildInfo``."""
    from sim.runner import build

    name = config.name if target == "generic" else f"{config.name} for the {target} target"
    return build(config, waves=waves, progress=BuildReporter(command, name), target=target)
