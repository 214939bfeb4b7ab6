"""Progress reports of a Verilator build (:func:`sim.runner.build`), which takes minutes when cold.

:class:`BuildProgress` is what a ``progress`` callback receives; :func:`watch` is the thread that
reports the compile's progress from the files appearing in the build folder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BuildProgress", "PROGRESS_PERIOD_S", "ProgressFn", "watch"]

#: Seconds between two progress reports of a running build.
PROGRESS_PERIOD_S = 2.0


@dataclass(frozen=True)
class BuildProgress:
    """One report of a Verilator build in progress (see :func:`sim.runner.build`).

    Attributes
    ----------
    stage : {"waiting", "verilog", "verilator", "compile", "done"}
        ``waiting``: another process holds the build lock of the same model (it will be reused);
        ``verilog``: generating the Verilog; ``verilator``: Verilator is translating it to C++;
        ``compile``: the C++ compiler runs (``objects`` built so far of ``sources`` generated
        files, the runtime library's objects included in ``objects``); ``done``: built.
    toplevel : str
    key : str
        Cache key (folder name) of the model.
    elapsed_s : float
        Seconds since the build started (since the wait started, for ``waiting``).
    objects, sources : int
        Compile progress (0 before the compile starts).
    """

    stage: str
    toplevel: str
    key: str
    elapsed_s: float
    objects: int = 0
    sources: int = 0


ProgressFn = Callable[[BuildProgress], None]


def watch(folder: Path, report: Callable[..., None], stop: threading.Event) -> None:
    """Report the build's stage every PROGRESS_PERIOD_S until ``stop`` (run as a thread).

    ``report(stage, **counts)``: ``"compile"`` with the objects built so far once the compiler
    has written one, ``"verilator"`` before.
    """
    while not stop.wait(PROGRESS_PERIOD_S):
        sources = len(list(folder.glob("*.cpp")))
        objects = len(list(folder.glob("*.o")))
        if objects:
            report("compile", objects=objects, sources=sources)
        else:
            report("verilator", sources=sources)
