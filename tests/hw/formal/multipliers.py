"""Cut the multipliers out of a flat RTLIL netlist: every ``$mul`` cell becomes a pair of ports.

A ``$mul`` cell ``Y = A * B`` is removed; its operands leave the module on new outputs
``mul<k>_a`` and ``mul<k>_b`` and its result enters on a new input ``mul<k>_y``. A harness that
drives ``mul<k>_y`` with a free value constrained only by facts that true multiplication satisfies
(see ``harness.py``) proves a property for every such value, hence for the true product: an
over-approximation, sound for proofs.
"""

from __future__ import annotations

import dataclasses
import re

__all__ = ["MulCell", "abstract_multipliers"]


@dataclasses.dataclass(frozen=True)
class MulCell:
    """One multiplier cut out of the netlist.

    Attributes
    ----------
    index : int
        ``k`` of its ports ``mul<k>_a``, ``mul<k>_b``, ``mul<k>_y``.
    a_width, b_width, y_width : int
        Operand and result widths of the ``$mul`` cell.
    signed : bool
        A_SIGNED (equal to B_SIGNED: cells that mix them are refused): both operands and the
        result are signed, or all unsigned.
    """

    index: int
    a_width: int
    b_width: int
    y_width: int
    signed: bool

    @property
    def exact(self) -> bool:
        """Whether Y holds every product of the operands exactly (no truncation)."""
        return self.y_width >= self.a_width + self.b_width


_CELL_RE = re.compile(r"^(\s*)cell \$mul (\S+)\n(.*?)^\s*end\n", re.M | re.S)
_PARAM_RE = re.compile(r"^\s*parameter \\(\w+) (\S+)$", re.M)
_CONNECT_RE = re.compile(r"^\s*connect \\([ABY]) (.+)$", re.M)
_PORT_RE = re.compile(r"^\s*wire .*\b(?:input|output|inout) (\d+) ", re.M)


def abstract_multipliers(rtlil_text: str, module: str) -> tuple[str, list[MulCell]]:
    """Replace every ``$mul`` cell of a flat module by ports (see the module docstring).

    Parameters
    ----------
    rtlil_text : str
        RTLIL of a design whose module ``module`` holds all its logic (run ``flatten`` first).
    module : str
        Name of that module, without the leading backslash.

    Returns
    -------
    text : str
        The rewritten RTLIL.
    cells : list of MulCell
        One per removed cell, in netlist order.

    Raises
    ------
    ValueError
        If the module is missing, another module of the design holds a ``$mul``, or a ``$mul``
        has operands of different signedness.
    """
    head = f"module \\{module}\n"
    start = rtlil_text.find(head)
    if start < 0:
        raise ValueError(f"module {module!r} not found in the netlist")
    end = rtlil_text.index("\nend\n", start) + 1
    before, body, after = rtlil_text[:start], rtlil_text[start:end], rtlil_text[end:]
    if "cell $mul " in before + after:
        raise ValueError(f"a $mul outside module {module!r}: flatten the design first")
    next_port = max((int(n) for n in _PORT_RE.findall(body)), default=0) + 1
    cells: list[MulCell] = []

    def replace(match: re.Match) -> str:
        nonlocal next_port
        indent, text = match.group(1), match.group(3)
        params = dict(_PARAM_RE.findall(text))
        conns = dict(_CONNECT_RE.findall(text))
        if params["A_SIGNED"] != params["B_SIGNED"]:
            # Yosys reads such a cell by A_SIGNED alone; refuse rather than guess the operands'
            # values (a wrong reading would make the consistency assumptions false).
            raise ValueError(f"$mul {match.group(2)} has A_SIGNED != B_SIGNED")
        k = len(cells)
        cell = MulCell(
            index=k,
            a_width=int(params["A_WIDTH"]),
            b_width=int(params["B_WIDTH"]),
            y_width=int(params["Y_WIDTH"]),
            signed=params["A_SIGNED"] == "1" and params["B_SIGNED"] == "1",
        )
        cells.append(cell)
        ports = [
            (f"mul{k}_a", cell.a_width, "output", conns["A"], True),
            (f"mul{k}_b", cell.b_width, "output", conns["B"], True),
            (f"mul{k}_y", cell.y_width, "input", conns["Y"], False),
        ]
        lines = []
        for name, width, direction, sig, drives_port in ports:
            lines.append(f"{indent}wire width {width} {direction} {next_port} \\{name}")
            next_port += 1
            # Operands drive the new outputs; the new input drives what Y drove.
            lines.append(
                f"{indent}connect \\{name} {sig}" if drives_port
                else f"{indent}connect {sig} \\{name}"
            )
        return "\n".join(lines) + "\n"

    body = _CELL_RE.sub(replace, body)
    return before + body + after, cells
