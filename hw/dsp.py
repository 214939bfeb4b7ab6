"""Registered signed multiplication: inferred (generic target) or one ECP5 MULT18X18D.

Yosys maps an inferred ``*`` on ECP5 to a MULT18X18D but leaves every register around it in the
fabric, so the multiplier is timed as combinational logic (3.9 ns at speed grade -6) between fabric
flip-flops. :func:`registered_product` instead instantiates the block with its own input and
output registers on the ``ecp5`` target (a third stage is a fabric register after the block),
clocked by ``sync`` with ``en`` as the clock enable (``EnableInserter`` does not reach an
Instance's ports, so the caller passes its stall enable).

Both implementations have the same cycle behaviour: the product of the operands sampled on an
enabled cycle appears ``stages`` enabled cycles later, and none of the registers is reset (the data
registers start at zero on power-up, like the DSP block's; callers qualify data with their own
valid or fold flags). The generic registers are ``sync`` statements of the caller's module, so the
caller must gate its ``sync`` domain with the same ``en`` (``EnableInserter(en)``).
"""

from __future__ import annotations

from amaranth.hdl import ClockSignal, Const, Instance, Module, Signal, Value, signed

from hw.target import Target

__all__ = [
    "DSP_OPERAND_BITS",
    "registered_product",
    "dsp_stage_names",
    "check_enable",
    "stall_enable",
]

#: Widest signed operand of one MULT18X18D.
DSP_OPERAND_BITS = 18

# Registers of the block used, in pipeline order (TN1267, sysDSP usage guide). The block's pipeline
# register (after the multiplier) is left unused: nextpnr times the block only by whether its inputs
# and output are registered, and a third stage buys more as a fabric register after the block,
# where it splits the long hop from the DSP row into the fabric off the path into the logic.
_STAGE_PARAMS = ("REG_INPUT", "REG_OUTPUT")


def dsp_stage_names(stages: int) -> list[str]:
    """MULT18X18D registers used for a product with ``stages`` register stages.

    One stage: the input registers (A and B). Two or more: input and output; stages beyond two
    are fabric registers after the block.
    """
    return list(_STAGE_PARAMS[:min(stages, len(_STAGE_PARAMS))])


def check_enable(en: object) -> Value | None:
    """``en`` as a unit's optional stall enable: None or a 1-bit Value; TypeError otherwise."""
    if en is None:
        return None
    if not isinstance(en, Value) or len(en) != 1:
        raise TypeError(f"en must be a 1-bit Amaranth Value or None, not {en!r}")
    return en


def stall_enable(en: Value | None, target: Target, unit: str) -> Value:
    """The clock enable of a unit's DSP registers: ``en``, or 1 where no DSP block is instantiated.

    A unit built without ``en`` is stalled, if at all, by an ``EnableInserter`` around it, which
    cannot reach an Instance: on a DSP target that would let the block's registers run on while
    the fabric stalls, so it is an error there rather than a silently wrong design.
    """
    if en is not None:
        return en
    if target.dsp is not None:
        raise ValueError(
            f"{unit} on the {target.name} target needs its clock enable: pass en= the stall "
            "enable (Const(1) if it never stalls), since an EnableInserter does not reach the "
            f"{target.dsp} blocks"
        )
    return Const(1)


def _check(a: Value, b: Value, stages: int) -> None:
    for label, v in (("a", a), ("b", b)):
        if not isinstance(v, Value) or not v.shape().signed:
            raise TypeError(f"operand {label} must be a signed Value, not {v!r}")
        if len(v) > DSP_OPERAND_BITS:
            raise ValueError(
                f"operand {label} must be at most {DSP_OPERAND_BITS} bits, not {len(v)}"
            )
    if isinstance(stages, bool) or not isinstance(stages, int) or stages < 1:
        raise ValueError(f"stages must be an integer >= 1, not {stages!r}")


def _fabric_delay(m: Module, value: Value, cycles: int, name: str) -> Value:
    for k in range(cycles):
        reg = Signal(value.shape(), name=f"{name}_d{k + 1}", reset_less=True)
        m.d.sync += reg.eq(value)
        value = reg
    return value


def registered_product(
    m: Module,
    a: Value,
    b: Value,
    *,
    stages: int,
    en: Value,
    target: Target,
    name: str,
    b_load: Value | None = None,
    out_bits: int | None = None,
) -> Signal:
    """``a * b`` (both signed, at most 18 bits) after ``stages`` register stages.

    Parameters
    ----------
    m : Module
        The caller's module: receives the registers (generic) or the Instance (ECP5).
    a, b : Value
        Signed operands, sampled on every enabled cycle.
    stages : int
        Register stages from the operands to the product (>= 1).
    en : Value
        Clock enable of the DSP block's registers (the caller's stall enable; 1 if never stalled).
        The generic registers follow the caller's ``sync`` domain instead.
    target : Target
        ``target.dsp == "MULT18X18D"`` instantiates the block (:func:`dsp_stage_names` says which
        of its registers hold which stage); anything else infers ``*``.
    name : str
        Prefix of the registers / name of the Instance submodule.
    b_load : Value, optional
        Load ``b`` into its input register only on (enabled) cycles where ``b_load`` is high, so
        that the register holds a stationary operand (on ECP5 through the block's second clock
        enable, CE1). Default: every enabled cycle.
    out_bits : int, optional
        Width of the result, sign-extended (>= ``len(a) + len(b)``; default exactly that). Where
        the block's own register is the last stage (ECP5, no fabric stage after it), the bits up
        to 36 come from the block's sign-extended output pins, so that the product's sign bit
        does not fan out to every upper bit of an adder far from the block.

    Returns
    -------
    Signal
        ``signed(out_bits)``: the product of the operands sampled ``stages`` enabled cycles
        earlier.
    """
    _check(a, b, stages)
    width = len(a) + len(b)
    if out_bits is None:
        out_bits = width
    if isinstance(out_bits, bool) or not isinstance(out_bits, int) or out_bits < width:
        raise ValueError(f"out_bits must be an int >= {width}, not {out_bits!r}")
    product = Signal(signed(out_bits), name=f"{name}_p")
    if target.dsp == "MULT18X18D":
        in_block = len(dsp_stage_names(stages))
        raw = Signal(signed(2 * DSP_OPERAND_BITS), name=f"{name}_raw")
        a18, b18 = Signal(signed(DSP_OPERAND_BITS)), Signal(signed(DSP_OPERAND_BITS))
        m.d.comb += [a18.eq(a), b18.eq(b)]
        params = {}
        for reg in dsp_stage_names(in_block):
            for port in ("A", "B") if reg == "REG_INPUT" else ("",):
                params[f"p_{reg}{port}_CLK"] = "CLK0"
                params[f"p_{reg}{port}_CE"] = "CE1" if port == "B" and b_load is not None else "CE0"
                params[f"p_{reg}{port}_RST"] = "RST0"
        if b_load is not None:
            params["i_CE1"] = en & b_load
        ports = {}
        for k in range(DSP_OPERAND_BITS):
            ports[f"i_A{k}"] = a18[k]
            ports[f"i_B{k}"] = b18[k]
        for k in range(2 * DSP_OPERAND_BITS):
            ports[f"o_P{k}"] = raw[k]
        # Unused pins (C, the shift-chain inputs, CLK1-3, CE1-3, RST1-3) are left unconnected:
        # nextpnr ties them off inside the block; a constant on a clock pin does not route.
        m.submodules[name] = Instance(
            "MULT18X18D",
            p_RESETMODE="SYNC",
            i_SIGNEDA=Const(1),
            i_SIGNEDB=Const(1),
            i_SOURCEA=Const(0),
            i_SOURCEB=Const(0),
            i_CLK0=ClockSignal("sync"),
            i_CE0=en,
            i_RST0=Const(0),
            **params,
            **ports,
        )
        pins = min(out_bits, 2 * DSP_OPERAND_BITS) if stages == in_block else width
        m.d.comb += product.eq(_fabric_delay(m, raw[:pins].as_signed(), stages - in_block, name))
        return product
    a_r = Signal(a.shape(), name=f"{name}_a", reset_less=True)
    b_r = Signal(b.shape(), name=f"{name}_b", reset_less=True)
    m.d.sync += a_r.eq(a)
    if b_load is None:
        m.d.sync += b_r.eq(b)
    else:
        with m.If(b_load):
            m.d.sync += b_r.eq(b)
    m.d.comb += product.eq(_fabric_delay(m, a_r * b_r, stages - 1, name))
    return product
