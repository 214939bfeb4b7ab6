"""Yosys cell counts: every cell type of a target in one resource category, and the stat parsers.

Counts are integers straight from Yosys's ``stat -json`` (written with ``tee -o``; stdout capture is
unreliable, see TOOLCHAIN.md), never estimates.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["TARGETS", "CATEGORIES", "check_target", "classify_cell", "load_json", "parse_stat",
           "module_stats"]

TARGETS = ("ecp5", "ice40", "xilinx", "generic")
#: Resource categories of a synthesized design, in report order.
CATEGORIES = ("lut", "ff", "dsp", "carry", "ram", "lutram", "mux", "other")

_CELL_CLASSES: dict[str, dict[str, tuple[str, ...]]] = {
    # category -> exact cell names or prefixes ending in "*"
    "ecp5": {
        "lut": ("LUT4",),
        "ff": ("TRELLIS_FF",),
        "dsp": ("MULT18X18D", "ALU54B"),
        "carry": ("CCU2C",),
        "ram": ("DP16KD", "PDPW16KD"),
        "lutram": ("TRELLIS_DPR16X4",),
        "mux": ("PFUMX", "L6MUX21"),
        "io": ("TRELLIS_IO",),
    },
    "ice40": {
        "lut": ("SB_LUT4",),
        "ff": ("SB_DFF*",),
        "dsp": ("SB_MAC16",),
        "carry": ("SB_CARRY",),
        "ram": ("SB_RAM40_4K*", "SB_SPRAM256KA"),
        "io": ("SB_IO",),
    },
    "xilinx": {
        "lut": ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6"),
        "ff": ("FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE"),
        "dsp": ("DSP48E1",),
        "carry": ("CARRY4",),
        "ram": ("RAMB18E1", "RAMB36E1"),
        "lutram": (
            "RAM32M",
            "RAM64M",
            "RAM32X1D",
            "RAM64X1D",
            "RAM128X1D",
            "RAM256X1S",
            "RAMS*",
            "RAMD*",
            "SRL16E",
            "SRLC32E",
        ),
        "mux": ("MUXF7", "MUXF8"),
        "io": ("IBUF", "OBUF", "IOBUF", "BUFG"),
    },
    "generic": {
        # Yosys internal gate library: "lut" counts logic gates, not LUTs.
        "ff": (
            "$_DFF*",
            "$_SDFF*",
            "$_DFFE*",
            "$_SDFFE*",
            "$_SDFFCE*",
            "$_DLATCH*",
            "$_ALDFF*",
            "$_DFFSR*",
            "$_DFFSRE*",
            "$_SR_*",
        ),
        "mux": ("$_MUX_", "$_MUX4_", "$_MUX8_", "$_MUX16_", "$_NMUX_"),
        "ram": ("$mem*",),
        "lut": ("$_*",),
    },
}
_IGNORED = ("$scopeinfo",)


def check_target(target: object) -> str:
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    return target  # type: ignore[return-value]


def classify_cell(target: str, cell_type: str) -> str | None:
    """Resource category of one cell type for ``target``; None for cells that are not hardware.

    Parameters
    ----------
    target : {"ecp5", "ice40", "xilinx", "generic"}
    cell_type : str
        A key of ``num_cells_by_type`` in Yosys's ``stat -json``.

    Returns
    -------
    str or None
        One of :data:`CATEGORIES` or ``"io"``; None for ``$scopeinfo``.
    """
    check_target(target)
    if cell_type in _IGNORED:
        return None
    for category, names in _CELL_CLASSES[target].items():
        for name in names:
            if cell_type == name or (name.endswith("*") and cell_type.startswith(name[:-1])):
                return category
    return "other"


def load_json(stat: dict | str | os.PathLike) -> dict:
    if isinstance(stat, dict):
        return stat
    text = Path(stat).read_text() if not str(stat).lstrip().startswith("{") else str(stat)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"stat must be Yosys 'stat -json' output, not {text[:60]!r}") from exc


def _count(cells_by_type: dict[str, int], target: str, module_names: set[str]) -> dict:
    counts = {c: 0 for c in CATEGORIES}
    counts["io"] = 0
    kept = {}
    for cell_type, n in cells_by_type.items():
        if cell_type in module_names or "\\" + cell_type in module_names:
            continue  # a submodule instance: its cells are counted in its own module
        category = classify_cell(target, cell_type)
        if category is None:
            continue
        counts[category] += int(n)
        kept[cell_type] = int(n)
    counts["cells"] = sum(kept.values())
    counts["cells_by_type"] = dict(sorted(kept.items()))
    return counts


def parse_stat(stat: dict | str | os.PathLike, target: str) -> dict:
    """Resource counts of the whole design from Yosys's ``stat -json`` output.

    Parameters
    ----------
    stat : dict, str or path
        The parsed JSON, its text, or the file written by ``tee -o FILE stat -json``.
    target : {"ecp5", "ice40", "xilinx", "generic"}

    Returns
    -------
    dict
        ``lut, ff, dsp, carry, ram, lutram, mux, other, io, cells`` (int), ``cells_by_type``
        (dict str -> int, hardware cells only) and ``port_bits`` (int, of the top module when
        the output names one with ports, else None). With a hierarchical (``-noflatten``) design,
        ``design`` holds the totals over the hierarchy.
    """
    data = load_json(stat)
    if "design" not in data or "modules" not in data:
        raise ValueError(f"stat must have 'design' and 'modules' keys, not {sorted(data)!r}")
    names = set(data["modules"])
    counts = _count(data["design"].get("num_cells_by_type", {}), target, names)
    used = {t for m in data["modules"].values() for t in m.get("num_cells_by_type", {})}
    tops = [n for n in names if n not in used and n.lstrip("\\") not in used]
    counts["port_bits"] = (
        int(data["modules"][tops[0]].get("num_port_bits", 0)) if len(tops) == 1 else None
    )
    return counts


def module_stats(stat: dict | str | os.PathLike, target: str) -> dict[str, dict]:
    """Counts of each module's own cells (submodule instances excluded), keyed by module name.

    Module names lose Yosys's leading backslash: ``"qmac_top.mesh.pe_0_0"``.
    Meaningful for designs synthesized with hierarchy kept (``synthesize(..., hierarchy=True)``).
    """
    data = load_json(stat)
    names = set(data.get("modules", {}))
    return {
        name.lstrip("\\"): _count(mod.get("num_cells_by_type", {}), target, names)
        for name, mod in data.get("modules", {}).items()
    }
