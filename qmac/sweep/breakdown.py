"""Where an array's resources go: the mesh, the requantization units, and the rest (buffers,
loaders, sequencer, output FIFO), for the sweep's ``breakdown`` option.

Yosys 0.70 cannot keep QmacTop's hierarchy through ABC9 (see ``qmac.synth.synthesize``), so the
parts are measured as ``scripts/synth_preset.py`` does: flattened runs with the part as top. The
mesh (``qmac_top.engine.mesh``) and one requant unit (``qmac_top.outpath.requant_0``, times the
number of units in the Verilog) are synthesized on their own; the rest is the whole array minus
both. A part synthesized as its own top keeps ports its parent may leave unused, so part counts
are upper bounds of their cost in context, and ``rest`` a lower bound (clamped at 0).
"""

from __future__ import annotations

import re
from pathlib import Path

from hw.emit import MODULE_NAME
from qmac.synth import synthesize

__all__ = ["PARTS", "RESOURCES", "breakdown"]

#: Row key prefixes of the parts, in stacking order.
PARTS = ("mesh", "requant", "rest")
#: Resources broken down.
RESOURCES = ("lut", "ff", "dsp", "ram")
_MESH = f"{MODULE_NAME}.engine.mesh"
_REQUANT = re.compile(rf"^{re.escape(MODULE_NAME)}\.outpath\.requant_(\d+)$")


def breakdown(verilog_path: Path, total: dict, *, target: str, workdir: Path,
              timeout: float | None) -> dict:
    """Row fields ``<part>_<resource>`` (e.g. ``mesh_lut``, ``requant_dsp``, ``rest_ff``) and
    ``requant_units``; or ``breakdown_note`` when the design has no such modules.

    Parameters
    ----------
    verilog_path : Path
        The Verilog of the whole array (top ``qmac_top``).
    total : dict
        Counts of the whole array (:func:`qmac.synth.synthesize`).
    target : str
        Synthesis target of the sweep point.
    workdir : Path
        Folder for the part runs (``mesh/``, ``requant/``).
    """
    text = Path(verilog_path).read_text()
    modules = set(re.findall(r"^module \\?([^\s(]+)", text, flags=re.M))
    units = sorted(m for m in modules if _REQUANT.match(m))
    if _MESH not in modules or not units:
        return {"breakdown_note": f"no {_MESH} or requant modules in the design"}
    mesh = synthesize(verilog_path, target=target, top=_MESH, workdir=workdir / "mesh",
                      timeout=timeout)
    unit = synthesize(verilog_path, target=target, top=units[0], workdir=workdir / "requant",
                      timeout=timeout)
    out: dict = {"requant_units": len(units)}
    for k in RESOURCES:
        m, r = mesh.get(k) or 0, (unit.get(k) or 0) * len(units)
        out[f"mesh_{k}"], out[f"requant_{k}"] = m, r
        out[f"rest_{k}"] = max(0, (total.get(k) or 0) - m - r)
    return out
