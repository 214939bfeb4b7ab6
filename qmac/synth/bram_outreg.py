"""Move fabric flip-flops that register ECP5 block RAM read data into the DP16KD output register.

Yosys's ``memory_libmap`` maps every ECP5 block RAM with ``REGMODE_A/B = "NOREG"``: read data
leaves the array latch (clock-to-out 5.6-5.8 ns at speed grade -6) and a register in the RTL
right after the read port stays a fabric flip-flop. The DP16KD has its own output register
(``REGMODE "OUTREG"``, 0.97 ns clock-to-out, one more cycle of read latency), so a read port whose
data drives nothing but such a register can take it inside the block: same cycle behaviour, the
slow path gone. :func:`absorb_bram_output_registers` does that on the Yosys JSON netlist that
``synth_ecp5 -json`` writes, before nextpnr reads it.

Semantics the rewrite relies on (Lattice's DP16KC/DP16KD simulation model, which TN1264
describes: the output register sits after the array latch on the same port clock):

- In ``OUTREG`` mode the output register loads the array latch on the port's clock edge when
  ``OCE`` is high; ``CE`` gates only the array read (address/control registers and the latch),
  not the output register. A fabric flip-flop ``Q <= DO if E`` after a ``NOREG`` port is therefore
  the output register with ``OCE = E`` whatever the read enable ``CE`` does, so ``CE`` is kept.
- ``RST`` clears the output register (gated by ``OCE``) and also the latch and the input
  registers of the port, so a flip-flop reset cannot be mapped onto it without changing the read
  side: flip-flops with a reset in use are left alone, and so are ports whose ``RST`` is used
  (it would start clearing the output register that replaces a flip-flop it never reset).
- The output register powers up at 0 (``rdinit zero`` in Yosys's ``brams_16kd.txt``): flip-flops
  with ``REGSET "SET"`` (initial/reset value 1) are left alone.
- GSR: a flip-flop (``REGSET "RESET"``) and the output register both go to 0 under GSR, but the
  DP16KD's ``GSR`` parameter may disable that while the flip-flop's is enabled. Designs here have
  no ``GSR``/``SGSR`` cell, so GSR is never asserted after configuration and the difference cannot
  show; a module that instantiates one is skipped whole rather than reasoned about.
- A DP16KD with ``DATA_WIDTH_A = 36`` is the pseudo dual port mode Yosys's ``$__PDPW16KD_``
  mapping emits (there is no ``PDPW16KD`` cell in its output): its 36 read bits are ``DOA0-17``
  and ``DOB0-17``, all on port B's clock, ``OCEB`` and ``RSTB``, and nextpnr maps ``PDPW16KD``'s
  single ``REGMODE`` to both ``REGMODE_A`` and ``REGMODE_B``, so both are set.
"""

from __future__ import annotations

__all__ = ["absorb_bram_output_registers", "correct_stat"]

_CONST = ("0", "1", "x", "z")
_DATA_PINS = 18


def _param(cell: dict, name: str, default: str) -> str:
    # Yosys pads string parameters that the cell library declares with a width ("1 " for CEMUX).
    value = cell.get("parameters", {}).get(name, default)
    return value.strip() if isinstance(value, str) else value


def _int_param(cell: dict, name: str, default: int) -> int:
    value = cell.get("parameters", {}).get(name, default)
    if isinstance(value, str):
        return int(value, 2) if value and set(value) <= {"0", "1"} else int(value)
    return int(value)


def _bit(cell: dict, port: str) -> int | str | None:
    bits = cell.get("connections", {}).get(port)
    return bits[0] if bits else None


def _const_level(bit: int | str | None, inverted: bool) -> int | None:
    """0 or 1 when the pin, after its inversion mux, is a constant; None for a net."""
    if bit in ("0", "1"):
        return int(bit) ^ inverted
    return None


def _sinks(module: dict) -> dict[int, list[tuple[str, str]]]:
    """Readers of each net bit: (cell name, input port), or ("", port name) for module outputs."""
    sinks: dict[int, list[tuple[str, str]]] = {}
    for name, cell in module.get("cells", {}).items():
        directions = cell.get("port_directions", {})
        for port, bits in cell.get("connections", {}).items():
            if directions.get(port, "input") == "output":
                continue
            for b in bits:
                if isinstance(b, int):
                    sinks.setdefault(b, []).append((name, port))
    for pname, port in module.get("ports", {}).items():
        if port.get("direction") != "input":
            for b in port.get("bits", []):
                if isinstance(b, int):
                    sinks.setdefault(b, []).append(("", pname))
    return sinks


def _read_ports(cell: dict) -> list[dict]:
    """The read ports of one DP16KD: data pins, clock/enable/reset pins and REGMODE parameters."""
    if _int_param(cell, "DATA_WIDTH_A", 18) == 36:
        pins = [f"DOA{i}" for i in range(_DATA_PINS)] + [f"DOB{i}" for i in range(_DATA_PINS)]
        return [dict(port="B", pins=pins, clk="CLKB", oce="OCEB", rst="RSTB",
                     regmodes=("REGMODE_A", "REGMODE_B"))]
    return [
        dict(port=p, pins=[f"DO{p}{i}" for i in range(_DATA_PINS)], clk=f"CLK{p}",
             oce=f"OCE{p}", rst=f"RST{p}", regmodes=(f"REGMODE_{p}",))
        for p in ("A", "B")
    ]


def _ff_problem(ff: dict) -> str | None:
    """Why this TRELLIS_FF is not a plain register (no reset, initial value 0); None if it is."""
    if "keep" in ff.get("attributes", {}):
        return "flip-flop has the keep attribute"
    if _param(ff, "REGSET", "RESET") != "RESET":
        return "flip-flop initial/reset value is 1 (REGSET SET)"
    lsr = _const_level(_bit(ff, "LSR") or "0", _param(ff, "LSRMUX", "LSR") == "INV")
    if lsr != 0:
        return "flip-flop has a set/reset in use (LSR)"
    if _param(ff, "CEMUX", "1") in ("0", "INV"):
        return f"flip-flop clock enable mux is {_param(ff, 'CEMUX', '1')!r}"
    return None


def _ff_enable(ff: dict) -> int | str:
    """The flip-flop's enable as a net bit, or "1" when it always loads."""
    if _param(ff, "CEMUX", "1") == "1":
        return "1"
    ce = _bit(ff, "CE")
    return "1" if ce in (None, "1") else ce


def _try_port(module, name, cell, rp, sinks) -> tuple[dict | None, str | None]:
    """A conversion plan for one read port, or the reason it is skipped (None, None: unused)."""
    conns = cell["connections"]
    used = [(pin, conns[pin][0]) for pin in rp["pins"]
            if pin in conns and isinstance(conns[pin][0], int) and sinks.get(conns[pin][0])]
    if not used:
        return None, None
    if any(_param(cell, r, "NOREG") != "NOREG" for r in rp["regmodes"]):
        return None, "output register already in use"
    rst_inv = _param(cell, rp["rst"] + "MUX", rp["rst"]) == "INV"
    if _const_level(_bit(cell, rp["rst"]) or "0", rst_inv) != 0:
        return None, f"{rp['rst']} (read port reset) in use"
    oce = _bit(cell, rp["oce"])
    if oce not in (None, "1") or _param(cell, rp["oce"] + "MUX", rp["oce"]) != rp["oce"]:
        return None, f"{rp['oce']} already driven"
    clk = _bit(cell, rp["clk"])
    clk_inv = _param(cell, rp["clk"] + "MUX", rp["clk"]) == "INV"
    ffs, enables = [], set()
    for pin, net in used:
        readers = sinks[net]
        if len(readers) != 1:
            return None, f"{pin} drives {len(readers)} sinks"
        ff_name, ff_port = readers[0]
        ff = module["cells"].get(ff_name) if ff_name else None
        if ff is None or ff.get("type") != "TRELLIS_FF" or ff_port != "DI":
            where = f"{ff.get('type')}.{ff_port}" if ff else f"module port {ff_port}"
            return None, f"{pin} drives {where}, not a flip-flop D input"
        problem = _ff_problem(ff)
        if problem:
            return None, f"{pin}: {problem}"
        if _bit(ff, "CLK") != clk or (_param(ff, "CLKMUX", "CLK") == "INV") != clk_inv:
            return None, f"{pin}: flip-flop clock differs from {rp['clk']}"
        enables.add(_ff_enable(ff))
        ffs.append((pin, ff_name, ff["connections"]["Q"][0]))
    if len(enables) != 1:
        return None, "flip-flops have different clock enables"
    return dict(cell=name, port=rp["port"], rp=rp, ffs=ffs, enable=enables.pop()), None


def _apply(module: dict, plan: dict) -> None:
    cell = module["cells"][plan["cell"]]
    rp = plan["rp"]
    for reg in rp["regmodes"]:
        cell["parameters"][reg] = "OUTREG"
    cell["connections"][rp["oce"]] = [plan["enable"]]
    cell.setdefault("port_directions", {})[rp["oce"]] = "input"
    for pin, ff_name, q in plan["ffs"]:
        cell["connections"][pin] = [q]
        del module["cells"][ff_name]


def absorb_bram_output_registers(netlist: dict) -> dict:
    """Rewrite a Yosys ECP5 JSON netlist in place: registered DP16KD read ports to ``OUTREG``.

    A read port (``DOA*``, ``DOB*``, or all 36 bits in pseudo dual port mode) is converted only if
    every data bit that anything reads drives exactly one sink, the ``DI`` of a ``TRELLIS_FF``,
    and those flip-flops share the port's clock net and edge and one clock enable (a net, or
    always enabled), have no set/reset in use (``LSR`` constant inactive), ``REGSET "RESET"``,
    and no ``keep``; the port's ``RST`` must be constant inactive and ``OCE`` still tied high.
    The port's ``REGMODE`` becomes ``"OUTREG"``, ``OCE`` gets the flip-flops' enable, the data pins
    drive the nets the flip-flops' ``Q`` drove, and the flip-flops are deleted. The read enable
    (``CEA``/``CEB``) is left as it is: it does not gate the output register (module docstring).

    Parameters
    ----------
    netlist : dict
        The parsed ``netlist.json`` (``{"modules": {name: {"cells", "ports", ...}}}``), modified.

    Returns
    -------
    dict
        ``ports_converted`` (int), ``ffs_absorbed`` (int), ``converted`` (list of
        ``{"cell", "port", "bits", "enable"}``; enable is ``"const"`` or ``"net"``) and
        ``skipped`` (list of ``{"cell", "port", "reason"}``, read ports left alone).
    """
    if not isinstance(netlist, dict) or not isinstance(netlist.get("modules"), dict):
        keys = sorted(netlist) if isinstance(netlist, dict) else type(netlist).__name__
        raise ValueError(f"netlist must be a Yosys JSON netlist with 'modules', not {keys!r}")
    stats: dict = {"ports_converted": 0, "ffs_absorbed": 0, "converted": [], "skipped": []}
    for module in netlist["modules"].values():
        cells = module.get("cells", {})
        rams = [(n, c) for n, c in cells.items() if c.get("type") in ("DP16KD", "PDPW16KD")]
        if not rams:
            continue
        gsr = any(c.get("type") in ("GSR", "SGSR") for c in cells.values())
        # A conversion only deletes flip-flops and repoints pins to their Q nets: the readers
        # of every other port's data stay as they are, so one index serves the module.
        sinks = _sinks(module)
        for name, cell in rams:
            for rp in _read_ports(cell):
                if cell["type"] == "PDPW16KD":
                    plan, reason = None, "PDPW16KD cell not handled (synth_ecp5 does not emit it)"
                elif gsr:
                    plan, reason = None, "module has a GSR cell"
                else:
                    plan, reason = _try_port(module, name, cell, rp, sinks)
                if reason:
                    stats["skipped"].append(dict(cell=name, port=rp["port"], reason=reason))
                if plan:
                    _apply(module, plan)
                    stats["ports_converted"] += 1
                    stats["ffs_absorbed"] += len(plan["ffs"])
                    stats["converted"].append(dict(
                        cell=name, port=plan["port"], bits=len(plan["ffs"]),
                        enable="const" if plan["enable"] == "1" else "net"))
                if cell["type"] == "PDPW16KD":
                    break
    return stats


def correct_stat(counts: dict, ffs_absorbed: int) -> dict:
    """:func:`qmac.synth.cells.parse_stat` counts with ``ffs_absorbed`` TRELLIS_FFs taken out.

    Yosys's ``stat`` runs before the rewrite; the flip-flops the block RAMs absorbed are gone
    from the netlist nextpnr places, so they are gone from the counts too. Per-module counts
    (``modules``) are not corrected: the rewrite works on the netlist, not the hierarchy.
    """
    if ffs_absorbed:
        counts["ff"] -= ffs_absorbed
        counts["cells"] -= ffs_absorbed
        by_type = counts.get("cells_by_type", {})
        if "TRELLIS_FF" in by_type:
            by_type["TRELLIS_FF"] -= ffs_absorbed
    return counts
