"""Read a counterexample out of sby's VCD trace and replay it on the unit in Amaranth's simulator.

The trace gives the inputs at step 0, the spec's value for them, and the unit's ``o_data`` at
step ``latency``. Replaying the inputs on the real unit (true multipliers, from reset) tells
whether the failure is real: the replayed output must equal the trace's and differ from the spec.
A failure caused only by the multiplier abstraction would replay to the spec's value.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from amaranth.sim import Simulator

__all__ = ["Counterexample", "read_counterexample", "replay", "INPUTS"]

#: The unit's input ports, in the order of ``Counterexample.inputs``.
INPUTS = ("i_valid", "i_acc", "i_bias", "i_m0", "i_shift", "i_y_zp", "i_act_min", "i_act_max")


@dataclasses.dataclass(frozen=True)
class Counterexample:
    """Inputs at step 0 of a failing trace and what the unit and the spec made of them.

    Attributes
    ----------
    inputs : dict of str to int
        Port name (``INPUTS``) to value, signed where the port is.
    o_data, o_valid : int
        The unit's outputs at step ``latency``.
    want : int
        The spec's output for ``inputs``.
    """

    inputs: dict[str, int]
    o_data: int
    o_valid: int
    want: int


def _vcd_top(path: Path) -> tuple[dict[str, list[tuple[int, str]]], dict[str, int]]:
    """Changes of the top scope's signals: name -> [(time, bits)], and name -> width."""
    ids: dict[str, str] = {}
    widths: dict[str, int] = {}
    changes: dict[str, list[tuple[int, str]]] = {}
    depth, now = 0, 0
    for line in path.read_text().splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "$scope":
            depth += 1
        elif words[0] == "$upscope":
            depth -= 1
        elif words[0] == "$var" and depth == 1:
            ids[words[3]] = words[4]
            widths[words[4]] = int(words[2])
        elif words[0].startswith("#"):
            now = int(words[0][1:])
        elif words[0][0] == "b" and len(words) == 2 and words[1] in ids:
            changes.setdefault(ids[words[1]], []).append((now, words[0][1:]))
        elif len(words) == 1 and words[0][0] in "01xz" and words[0][1:] in ids:
            changes.setdefault(ids[words[0][1:]], []).append((now, words[0][0]))
    return changes, widths


def _at(changes, widths, name: str, step: int, signed: bool) -> int:
    """Value of a top-level signal at a step (smtbmc's VCD puts step k at time 10 k)."""
    bits = None
    for t, value in changes.get(name, []):
        if t <= 10 * step:
            bits = value
    if bits is None or any(c in "xz" for c in bits):
        raise ValueError(f"{name} has no defined value at step {step} in the trace")
    width = widths[name]
    value = int(bits, 2)  # VCD drops leading zeros, never leading ones
    return value - (1 << width) if signed and len(bits) == width and bits[0] == "1" else value


def read_counterexample(trace: Path, latency: int) -> Counterexample:
    """The :class:`Counterexample` of a failing sby trace of the harness in ``top.py``."""
    changes, widths = _vcd_top(Path(trace))
    inputs = {name: _at(changes, widths, name, 0, name != "i_valid") for name in INPUTS}
    return Counterexample(
        inputs=inputs,
        o_data=_at(changes, widths, "o_data", latency, True),
        o_valid=_at(changes, widths, "o_valid", latency, False),
        want=_at(changes, widths, "want", 0, True),
    )


def replay(unit, inputs: dict[str, int]) -> int:
    """``o_data`` of ``unit`` ``latency`` cycles after being given ``inputs`` once, from reset."""
    result = []

    async def bench(ctx):
        for name, value in inputs.items():
            ctx.set(getattr(unit, name), value)
        await ctx.tick()
        for name in INPUTS:
            ctx.set(getattr(unit, name), 0)
        for _ in range(unit.latency - 1):
            await ctx.tick()
        result.append(ctx.get(unit.o_data))

    sim = Simulator(unit)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return result[0]
