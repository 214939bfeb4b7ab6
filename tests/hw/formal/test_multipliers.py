"""multipliers.abstract_multipliers: every $mul becomes ports, the rest of the netlist stays."""

from __future__ import annotations

import pytest

from .multipliers import abstract_multipliers

NETLIST = """\
module \\top
  wire width 4 input 1 signed \\a
  wire width 3 input 2 signed \\b
  wire width 7 output 3 signed \\y
  wire width 7 \\p
  cell $mul $1
    parameter \\A_SIGNED 1
    parameter \\A_WIDTH 4
    parameter \\B_SIGNED 1
    parameter \\B_WIDTH 3
    parameter \\Y_WIDTH 7
    connect \\A \\a
    connect \\B { 1'0 \\b [1:0] }
    connect \\Y \\p
  end
  connect \\y \\p
end
"""


def test_mul_becomes_ports():
    text, cells = abstract_multipliers(NETLIST, "top")
    assert "cell $mul" not in text
    assert [(c.a_width, c.b_width, c.y_width, c.signed, c.exact) for c in cells] == [
        (4, 3, 7, True, True)]
    assert "wire width 4 output 4 \\mul0_a\n  connect \\mul0_a \\a\n" in text
    assert "wire width 3 output 5 \\mul0_b\n  connect \\mul0_b { 1'0 \\b [1:0] }\n" in text
    assert "wire width 7 input 6 \\mul0_y\n  connect \\p \\mul0_y\n" in text
    assert text.endswith("  connect \\y \\p\nend\n")


def test_refuses_what_it_cannot_read():
    with pytest.raises(ValueError, match="module 'other' not found"):
        abstract_multipliers(NETLIST, "other")
    mixed = NETLIST.replace("parameter \\B_SIGNED 1", "parameter \\B_SIGNED 0")
    with pytest.raises(ValueError, match="A_SIGNED != B_SIGNED"):
        abstract_multipliers(mixed, "top")
    nested = NETLIST + NETLIST.replace("module \\top", "module \\sub")
    with pytest.raises(ValueError, match="flatten the design first"):
        abstract_multipliers(nested, "top")
