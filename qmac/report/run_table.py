"""The per-op table and the totals of a network run (``qmac run``), as plain text lines.

Renders what it is given: one dict per op (``OpStats.to_dict()`` keys: ``index``, ``name``,
``kind``, ``input_shapes``, ``output_shape``, ``macs``, ``cycles``, ``ideal_cycles``,
``utilization``, ``mismatches``, ``wall_s``) and a totals dict (:func:`run_totals`).
"""

from __future__ import annotations

__all__ = ["run_totals", "format_run_table", "format_totals"]


def _shape(shape) -> str:
    return "x".join(str(d) for d in shape)


def _num(v, fmt: str = ",d") -> str:
    return "-" if v is None else format(v, fmt)


def run_totals(ops: list[dict], *, batch: int, rows: int, cols: int, clock_mhz: float) -> dict:
    """Totals over ``ops``: MACs, cycles and their per-inference values, throughput, efficiency.

    ``cycles`` is None unless every array op has RTL cycles. Efficiency is MACs over the array's
    peak (``rows * cols`` per cycle) in the cycles taken (or in the ideal cycles).
    """
    array = [o for o in ops if o["kind"] == "array"]
    macs = sum(o["macs"] for o in ops)
    cycles = (sum(o["cycles"] for o in array)
              if array and all(o["cycles"] is not None for o in array) else None)
    ideal = (sum(o["ideal_cycles"] for o in array)
             if array and all(o["ideal_cycles"] is not None for o in array) else None)
    peak = rows * cols
    per = None if cycles is None else cycles / batch
    return {
        "ops": len(ops),
        "array_ops": len(array),
        "host_ops": len(ops) - len(array),
        "batch": batch,
        "macs": macs,
        "macs_per_inference": macs / batch,
        "cycles": cycles,
        "cycles_per_inference": per,
        "ideal_cycles": ideal,
        "ideal_cycles_per_inference": None if ideal is None else ideal / batch,
        "clock_mhz": clock_mhz,
        "inferences_per_s": None if not per else clock_mhz * 1e6 / per,
        "mac_efficiency": None if not cycles else macs / (peak * cycles),
        "ideal_mac_efficiency": None if not ideal else macs / (peak * ideal),
        "peak_macs_per_cycle": peak,
        "mismatches": sum(o["mismatches"] for o in ops),
        "array_wall_s": sum(o["wall_s"] for o in array),
        "host_wall_s": sum(o["wall_s"] for o in ops if o["kind"] != "array"),
    }


def format_run_table(ops: list[dict]) -> list[str]:
    """One line per op: index, name, op type, where it ran, shapes, MACs, cycles, ideal, util,
    mismatches, wall time."""
    shapes = [" + ".join(_shape(s) for s in o["input_shapes"]) + " -> " + _shape(o["output_shape"])
              for o in ops]
    width = max([len("input -> output"), *map(len, shapes)])
    name_w = max([len("name"), *(len(o["name"]) for o in ops)])
    op_w = max([len("op"), *(len(o["op"]) for o in ops)])
    lines = [f"  {'#':>3} {'name':<{name_w}} {'op':<{op_w}} {'on':<5} "
             f"{'input -> output':<{width}} {'MACs':>11} "
             f"{'cycles':>9} {'ideal':>9} {'util':>6} {'mism':>5} {'wall s':>7}"]
    for o, shape in zip(ops, shapes, strict=True):
        util = "-" if o.get("utilization") is None else f"{o['utilization']:.1%}"
        ran = o["kind"] == "array" and o.get("cycles") is not None
        lines.append(
            f"  {o['index']:>3} {o['name']:<{name_w}} {o['op']:<{op_w}} {o['kind']:<5} "
            f"{shape:<{width}} "
            f"{_num(o['macs'] or None):>11} {_num(o.get('cycles')):>9} "
            f"{_num(o.get('ideal_cycles')):>9} {util:>6} {str(o['mismatches']) if ran else '-':>5} "
            f"{o['wall_s']:>7.2f}"
        )
    return lines


def format_totals(t: dict, array_name: str) -> list[str]:
    """The summary lines under the table."""
    b = t["batch"]
    lines = [f"  total: {t['ops']} ops ({t['array_ops']} on the array, {t['host_ops']} on the "
             f"host), {t['macs']:,} MACs for {b} inference{'s' if b != 1 else ''} "
             f"({t['macs_per_inference']:,.0f} per inference)"]
    ideal = t["ideal_cycles_per_inference"]
    ideal_txt = "" if ideal is None else f" (ideal {ideal:,.0f})"
    if t["cycles_per_inference"] is not None:
        lines.append(
            f"  per inference: {t['cycles_per_inference']:,.0f} array cycles{ideal_txt}; "
            f"{t['inferences_per_s']:,.0f} inferences/s at {t['clock_mhz']:g} MHz "
            "(array cycles only; host ops run on the CPU)")
        lines.append(
            f"  MAC efficiency: {t['mac_efficiency']:.1%} of {array_name}'s peak "
            f"({t['peak_macs_per_cycle']} MACs/cycle); the ideal model reaches "
            f"{t['ideal_mac_efficiency']:.1%}")
    elif ideal is not None:
        lines.append(
            f"  per inference: {ideal:,.0f} ideal array cycles on {array_name} (SCALE-Sim model; "
            f"the golden backend measures none), {t['clock_mhz'] * 1e6 / ideal:,.0f} "
            f"inferences/s at {t['clock_mhz']:g} MHz at best")
    return lines
