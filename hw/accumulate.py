"""A restartable accumulator adder, ``(clear ? 0 : acc) + addend``: inferred or an ECP5 carry chain.

Inferred, the restart is a multiplexer in front of the adder: one LUT per bit that Yosys does not
merge into the carry chain, plus a LUT level on the accumulator's loop. On ECP5 the adder is a
chain of CCU2C cells whose LUT4s compute the propagate term with the clear folded in,
``p = addend ^ (acc & ~clear)``, and whose generate term is the addend bit alone (if ``p`` is 0
the two operand bits are equal, so the carry out is either of them): the restart costs no LUT and
no logic level. The INIT value follows Yosys's own ECP5 adder mapping (``arith_map_ccu2c.v``: D
tied high, the upper half of INIT is the propagate LUT, the low nibble the generate LUT2).
"""

from __future__ import annotations

from amaranth.hdl import Const, Instance, Module, Mux, Signal, Value, signed

from hw.target import Target

__all__ = ["restartable_sum", "CCU2C_RESTART_INIT"]

#: CCU2C INIT of one bit of ``(C ? 0 : B) + A`` with D = 1: propagate ``A ^ (B & ~C)`` in the upper
#: byte (index ``8 + 4C + 2B + A``), generate ``A`` in the low nibble (index ``2B + A``).
CCU2C_RESTART_INIT = 0xA6AA


def restartable_sum(
    m: Module, acc: Value, addend: Value, clear: Value, *, target: Target, name: str
) -> Signal:
    """``(clear ? 0 : acc) + addend``, wrapping at ``len(acc)`` bits (combinational).

    Parameters
    ----------
    m : Module
        Receives the logic (generic) or the CCU2C instances (ECP5).
    acc : Value
        Signed accumulator, the result's width.
    addend : Value
        Signed, at most ``len(acc)`` bits (sign-extended).
    clear : Value
        1 bit: add to zero instead of ``acc``.
    target : Target
        ``ecp5`` builds the carry chain; anything else infers it.
    name : str
        Prefix of the instances.

    Returns
    -------
    Signal
        ``signed(len(acc))``.
    """
    width = len(acc)
    if len(addend) > width:
        raise ValueError(f"addend must be at most {width} bits, not {len(addend)}")
    total = Signal(signed(width), name=f"{name}_sum")
    if target.name != "ecp5":
        m.d.comb += total.eq(Mux(clear, 0, acc) + addend)
        return total
    wide = Signal(signed(width), name=f"{name}_addend")
    m.d.comb += wide.eq(addend)
    carry = Const(0)
    for i in range(0, width, 2):
        pair = [j for j in (i, i + 1) if j < width]
        cout = Signal(name=f"{name}_c{i}")
        ports = {"i_CIN": carry, "o_COUT": cout}
        for half, j in enumerate(pair):
            ports[f"i_A{half}"] = wide[j]
            ports[f"i_B{half}"] = acc[j]
            ports[f"i_C{half}"] = clear
            ports[f"i_D{half}"] = Const(1)
            ports[f"o_S{half}"] = total[j]
        if len(pair) == 1:  # odd width: the second half adds 0 + 0
            ports.update(i_A1=Const(0), i_B1=Const(0), i_C1=Const(0), i_D1=Const(1))
        m.submodules[f"{name}_{i // 2}"] = Instance(
            "CCU2C",
            p_INIT0=Const(CCU2C_RESTART_INIT, 16),
            p_INIT1=Const(CCU2C_RESTART_INIT, 16),
            p_INJECT1_0="NO",
            p_INJECT1_1="NO",
            **ports,
        )
        carry = cout
    return total
