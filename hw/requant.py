"""Requant: the pipelined per-channel requantization unit (one output channel per instance).

The unit computes, for one accumulator per cycle, exactly what ``golden.requantize`` computes
(the NUMERIC CONTRACT of DESIGN.md)::

    out = clamp(requantize(acc + bias, m0, shift, rounding, mult_bits) + y_zp, act_min, act_max)

Exact hardware formulation
--------------------------
Let ``B = mult_bits``, ``q = (acc + bias) * m0_B`` (m0_B is the B-bit multiplier; the contract's
Q31 multiplier is ``m0_B * 2**(32 - B)``) and write ``rshift(v, a) = floor((v + 2**(a-1)) / 2**a)``
(round half up; for ``a <= 0`` it is the exact left shift ``v * 2**-a``).

- ``"tflite"``, ``shift >= 0``: SaturatingRoundingDoublingHighMul of ``x = acc * 2**shift`` and the
  Q31 multiplier is ``floor((x * m0 + 2**30) / 2**31)`` for either sign of the product (gemmlowp's
  nudge ``1 - 2**30`` for negative products followed by truncation toward zero equals adding
  ``2**30`` and flooring). Dividing numerator and denominator by ``2**(shift + 32 - B)`` gives
  ``rshift(q, B - 1 - shift)``; RoundingDivideByPOT by 0 is the identity. (Saturation of the high
  multiply only occurs for ``m0 = -2**31``, which the contract excludes.)
- ``"tflite"``, ``shift < 0``: the high multiply is ``t = rshift(q, B - 1)`` (a constant shift),
  then RoundingDivideByPOT by ``R = -shift`` (ties away from zero) is ``rshift(t - [t < 0], R)``.
- ``"single"``: ``(acc * m0 + 2**(30 - shift)) >> (31 - shift)`` is ``rshift(q, B - 1 - shift)``.
- ``"halfup"``: as ``"tflite"``, but the second rounding is half up: ``rshift(q, B - 1 - shift)``
  for ``shift >= 0`` and ``rshift(t, -shift)`` for ``shift < 0``.

So one variable rounding shifter serves every case: its operand is ``q``, ``t`` or ``t - [t < 0]``
and its amount is ``B - 1 - shift`` or ``-shift``. (``t - [t < 0]`` is computed in one addition as
``(q + c) >> (B - 1)``, ``c = ±2^(B-2)`` by the sign of q; see the comment in the code.) The shifter
computes ``h = (v << (K + 1)) >> (a + K)`` and ``rshift(v, a) = (h + 1) >> 1`` with
``K = max(0, 31 - B)``, exact for every ``a >= -K`` (left shifts included) with only an arithmetic
right shift by an amount >= 0. Before rounding, h is saturated to ``out_bits + 3`` signed bits (a
sign check of its upper bits), so the result is within ``±2^(out_bits+1)``: any value beyond lands
beyond every clamp bound after adding ``y_zp``, so the clamped output is unchanged.

The clamp ``min(max(v, act_min), act_max)`` is computed from three comparisons made in parallel:
``act_min`` (or ``act_max`` when ``act_min > act_max``) if ``v < act_min``, else ``act_max`` if
``v > act_max``, else ``v`` -- the same value for every input, bounds in either order included.

Timing structure: every stage does one narrow step (:data:`hw.requant_plan.POST_PRODUCT_STAGES`).
The zero point and clamp bounds are the same in every column's unit, so Yosys would merge their
delay registers across units into one chain driving all of them; each unit therefore takes its own
kept copy (``keep``, which ``qmac.synth`` makes Yosys honour) one stage before it uses them, so the
hop from a shared register is a plain register-to-register transfer.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, EnableInserter, Module, Mux, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig
from hw.dsp import check_enable, registered_product, stall_enable
from hw.requant_plan import (
    CHUNK,
    POST_PRODUCT_STAGES,
    PRE_PRODUCT_STAGES,
    chunk_lsbs,
    product_stages,
    requant_latency,
)
from hw.target import target_of

__all__ = ["Requant"]

#: Amount bits resolved by the coarse half of the barrel shifter's split (multiples of 2**3).
_FINE_BITS = 3


def _chunks(value) -> list[tuple]:
    """(chunk, lsb) pairs of a signed value: low chunks zero-extended to ``CHUNK + 1`` signed bits
    (non-negative), the top chunk signed."""
    lsbs = chunk_lsbs(len(value))
    low = [(Cat(value[lsb:lsb + CHUNK], Const(0, 1)).as_signed(), lsb) for lsb in lsbs[:-1]]
    return low + [(value[lsbs[-1]:].as_signed(), lsbs[-1])]


class _Pipe:
    """The registers of one pipeline stage, counted so the unit can check its own latency."""

    def __init__(self, m: Module) -> None:
        self.m = m
        self.stages = 0

    def stage(self, **values):
        """Register every value (one stage); returns the registered signals in the same order."""
        self.stages += 1
        regs = []
        for name, value in values.items():
            reg = Signal(value.shape(), name=f"s{self.stages}_{name}",
                         reset_less=name != "valid")
            self.m.d.sync += reg.eq(value)
            regs.append(reg)
        return regs if len(regs) > 1 else regs[0]


def _kept_copy(m: Module, value, name: str):
    """A register of ``value`` that Yosys must not merge with its twin in another unit."""
    reg = Signal(value.shape(), name=name, reset_less=True, attrs={"keep": 1})
    m.d.sync += reg.eq(value)
    return reg


class Requant(wiring.Component):
    """Pipelined requantization of one output channel: one accumulator in, one output per cycle.

    All state is in the ``sync`` domain. To stall the unit, pass its clock enable as ``en``: an
    ``EnableInserter`` around the unit gates its fabric registers but does not reach the DSP
    blocks of the ECP5 target. Every input is sampled on the same cycle as ``i_valid``; the result
    appears ``latency`` cycles later.

    Pipeline (one register stage each; ``latency`` = :func:`requant_latency`):

    1. The multiplier's operand registers: ``acc + bias`` (``acc_bits + 1`` bits, exact), cut into
       chunks of at most 18 bits, and the chunks of ``m0`` (on ECP5 the DSP blocks' input
       registers); ``shift``, ``y_zp`` and the clamp bounds travel beside the data.
    2. ``q = (acc + bias) * m0`` (``acc_bits + 1 + mult_bits`` bits): every partial product
       registered (one DSP block each, its output register), then a balanced adder tree with one
       register per level (1 + ceil(log2(terms)) stages; a single 18 x 18 product takes one).
    3. The stages of :data:`POST_PRODUCT_STAGES`: shifter operand and amount, coarse and fine
       barrel shift, saturation, round-half-up increment, ``+ y_zp``, the three clamp comparisons,
       the clamped output register.

    Parameters
    ----------
    config : ArrayConfig
        Supplies ``acc_bits``, ``mult_bits``, ``out_bits`` and ``rounding``.
    en : Value, optional
        Clock enable of every register of the unit (its stall: low holds the whole pipeline).
        Required on the ECP5 target, where it drives the DSP blocks' clock enables (``Const(1)``
        for a unit that never stalls); without it the generic unit is gated only by an enclosing
        ``EnableInserter``.

    Members
    -------
    i_valid : In(1)
        An accumulator is on the inputs this cycle.
    i_acc : In(signed(acc_bits))
        Sum of products of one output, without bias.
    i_bias : In(signed(acc_bits))
        Bias of the channel; ``i_acc + i_bias`` is computed one bit wider, exactly.
    i_m0 : In(signed(mult_bits))
        The mult_bits-wide multiplier from ``golden.quantize_multiplier(real, mult_bits)``
        (non-negative, below ``2**(mult_bits - 1)``).
    i_shift : In(signed(6))
        Shift of the channel, positive = left, in -31..30 (other values give unspecified results).
    i_y_zp : In(signed(out_bits))
        Output zero point.
    i_act_min, i_act_max : In(signed(out_bits))
        Inclusive clamp bounds.
    o_valid : Out(1)
        ``i_valid`` delayed by ``latency`` cycles.
    o_data : Out(signed(out_bits))
        The requantized output of the accumulator sampled ``latency`` cycles earlier.

    Raises
    ------
    TypeError
        If ``config`` is not an :class:`~hw.config.ArrayConfig` or ``en`` not a 1-bit Value.
    ValueError
        On elaboration for the ECP5 target without ``en``.
    """

    def __init__(self, config: ArrayConfig, *, en: Value | None = None) -> None:
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        self._config = config
        self._en = check_enable(en)
        super().__init__({
            "i_valid": In(1),
            "i_acc": In(signed(config.acc_bits)),
            "i_bias": In(signed(config.acc_bits)),
            "i_m0": In(signed(config.mult_bits)),
            "i_shift": In(signed(config.shift_bits)),
            "i_y_zp": In(signed(config.out_bits)),
            "i_act_min": In(signed(config.out_bits)),
            "i_act_max": In(signed(config.out_bits)),
            "o_valid": Out(1),
            "o_data": Out(signed(config.out_bits)),
        })

    @property
    def config(self) -> ArrayConfig:
        return self._config

    @property
    def latency(self) -> int:
        """Cycles from ``i_valid`` to ``o_valid`` (and from inputs to ``o_data``).

        Equal to ``config.requant_latency``, the figure the rest of the generator plans with.
        """
        return requant_latency(self._config.acc_bits, self._config.mult_bits)

    def _multiply(self, m: Module, target, en) -> tuple:
        """Stages 1 to 3: ``(acc + bias) * m0`` and the number of register stages it took.

        The biased accumulator is registered in the fabric before the multipliers' operand
        registers: the adder sits by the parameter and accumulator registers, the DSP blocks in
        their columns, and the way between them was a critical path.
        """
        cfg = self._config
        total = Signal(signed(cfg.acc_bits + 1), name="s_biased", reset_less=True)
        m0 = Signal.like(self.i_m0, name="s_m0", reset_less=True)
        m.d.sync += [total.eq(self.i_acc + self.i_bias), m0.eq(self.i_m0)]
        regs = []
        for i, ((a, la), (b, lb)) in enumerate(
            (x, y) for x in _chunks(total) for y in _chunks(m0)
        ):
            pp = registered_product(m, a, b, stages=2, en=en, target=target, name=f"pp{i}")
            regs.append((pp, la + lb))
        level = 0
        while len(regs) > 1:
            level += 1
            pairs = [regs[j:j + 2] for j in range(0, len(regs), 2)]
            regs = []
            for j, pair in enumerate(pairs):
                low = min(lsb for _, lsb in pair)
                shifted = [value << (lsb - low) for value, lsb in pair]
                total = shifted[0] if len(shifted) == 1 else shifted[0] + shifted[1]
                reg = Signal(total.shape(), name=f"psum{level}_{j}", reset_less=True)
                m.d.sync += reg.eq(total)
                regs.append((reg, low))
        q = Signal(signed(cfg.acc_bits + 1 + cfg.mult_bits))
        m.d.comb += q.eq(regs[0][0] << regs[0][1])  # the exact product fits q_bits
        return q, 3 + level

    def elaborate(self, platform) -> Module:
        cfg = self._config
        mult_bits, out_bits = cfg.mult_bits, cfg.out_bits
        double = cfg.rounding in ("tflite", "halfup")  # a high multiply, then a rounding shift
        # Left headroom so that the smallest amount, mult_bits - 1 - 30, becomes a right shift >= 0.
        k = max(0, 31 - mult_bits)
        # Largest amount + k: "single" reaches mult_bits - 1 + 31, the double roundings
        # mult_bits - 1 or 31.
        max_amount = (mult_bits + 30 if not double else max(mult_bits - 1, 31)) + k
        # Saturation width before the zero point: anything beyond lands beyond every clamp bound.
        h_bits = out_bits + 3
        target = target_of(platform)
        en = stall_enable(self._en, target, "Requant")
        m = Module()
        p = _Pipe(m)

        q, mul_stages = self._multiply(m, target, en)
        assert mul_stages == PRE_PRODUCT_STAGES + product_stages(cfg.acc_bits, mult_bits)
        side = {"valid": self.i_valid, "shift": self.i_shift, "zp": self.i_y_zp,
                "lo": self.i_act_min, "hi": self.i_act_max}
        for _ in range(mul_stages):
            side = dict(zip(side, p.stage(**side), strict=True))

        # shift_operand: operand and amount of the rounding shifter.
        shift = side["shift"]
        direct_amount = Signal(signed(8))
        m.d.comb += direct_amount.eq(mult_bits - 1 - shift + k)
        if double:
            # High multiply of a right-shifting channel, t = rshift(q, B - 1) = (q + 2^(B-2)) >>
            # (B - 1): the operand of "halfup". For "tflite", the ties-away operand t - [t < 0]
            # in the same one addition: u = (q + c) >> (B - 1) with c = +2^(B-2) for q >= 0 and
            # -2^(B-2) for q < 0. The two differ from t - [t < 0] only for -2^(B-2) <= q < 0,
            # where they give -1 instead of 0, and rshift(-1, R) = rshift(0, R) = 0 for every
            # R >= 1. The low B - 2 bits of q cannot carry into the result, so the addition is
            # (q >> (B - 2)) +- 1, then one more bit off.
            top = q[mult_bits - 2:].as_signed()
            nudge = Mux(q[-1], -1, 1) if cfg.rounding == "tflite" else 1
            high = Signal(signed(len(q) - mult_bits + 2))
            m.d.comb += high.eq((top + nudge) >> 1)
            v = Mux(shift < 0, high, q)
            amount = Mux(shift < 0, k - shift, direct_amount)
        else:
            v, amount = q, direct_amount
        v_reg = Signal(signed(len(q)), name="s_operand", reset_less=True)
        amount_reg = Signal(range(max_amount + 1), name="s_amount", reset_less=True)
        m.d.sync += [v_reg.eq(v), amount_reg.eq(amount)]
        side = dict(zip(side, p.stage(**side), strict=True))

        # shift_coarse / shift_fine: h = floor(v / 2^(a - 1)), one fraction bit kept.
        widened = Signal(signed(len(q) + k + 1))
        m.d.comb += widened.eq(Cat(Const(0, k + 1), v_reg).as_signed())
        coarse = Signal(signed(len(widened)), name="s_coarse", reset_less=True)
        fine_amount = Signal(_FINE_BITS, name="s_fine_amount", reset_less=True)
        m.d.sync += [
            coarse.eq(widened >> (amount_reg >> _FINE_BITS << _FINE_BITS)),
            fine_amount.eq(amount_reg[:_FINE_BITS]),
        ]
        side = dict(zip(side, p.stage(**side), strict=True))
        # The fine shift keeps only the h_bits that survive saturation, h[:h_bits] =
        # coarse[f : f + h_bits]; whether h fits, i.e. h[h_bits - 1:] = coarse[h_bits - 1 + f:] is
        # all sign bits, is prepared as 8-bit group flags of coarse[h_bits + 6:] (which must be
        # uniform for any f) and two flags of the 7-bit window below it (all ones / all zeros from
        # bit f on), so that no stage reduces the whole word.
        span = (1 << _FINE_BITS) - 1
        top = coarse[h_bits - 1 + span:]
        groups = [top[g:g + 8] for g in range(0, len(top), 8)]
        h_low = Signal(signed(h_bits), name="s_h_low", reset_less=True)
        # The window's part is checked here too (its bits from f on, ``tail``), as two flags.
        full = (1 << span) - 1
        tail = Signal(span)  # the window bits that belong to h[h_bits - 1:]
        window = coarse[h_bits - 1:h_bits - 1 + span]
        m.d.comb += tail.eq(Const(full, span) << fine_amount)
        window_ones = Signal(name="s_window_ones", reset_less=True)
        window_zeros = Signal(name="s_window_zeros", reset_less=True)
        ones = Signal(len(groups), name="s_ones", reset_less=True)
        zeros = Signal(len(groups), name="s_zeros", reset_less=True)
        negative = Signal(name="s_negative", reset_less=True)
        m.d.sync += [
            h_low.eq((coarse >> fine_amount)[:h_bits]),
            window_ones.eq((window | ~tail) == full),
            window_zeros.eq((window & tail) == 0),
            ones.eq(Cat(*(g.all() for g in groups))),
            zeros.eq(Cat(*(~g.any() for g in groups))),
            negative.eq(coarse[-1]),
        ]
        side = dict(zip(side, p.stage(**side), strict=True))

        # saturate: h to h_bits signed bits (a sign check, no comparator).
        fits = (ones.all() & window_ones) | (zeros.all() & window_zeros)
        h_sat = Signal(signed(h_bits), name="s_h_sat", reset_less=True)
        m.d.sync += h_sat.eq(Mux(fits, h_low,
                                 Mux(negative, -(1 << (h_bits - 1)), (1 << (h_bits - 1)) - 1)))
        side = dict(zip(side, p.stage(**side), strict=True))

        # round: r = (h + 1) >> 1, in [-2^(h_bits-2), 2^(h_bits-2)]; the zero point and the
        # clamp bounds are copied into this unit's own registers for the next stages.
        r = Signal(signed(h_bits), name="s_round", reset_less=True)
        m.d.sync += r.eq((h_sat + 1) >> 1)
        zp = _kept_copy(m, side.pop("zp"), "zp_local")
        lo_local = _kept_copy(m, side.pop("lo"), "act_min_local")
        hi_local = _kept_copy(m, side.pop("hi"), "act_max_local")
        side = dict(zip(side, p.stage(**side), strict=True))

        # zero_point: v = r + y_zp; whether the bounds are crossed (act_min > act_max), so that
        # the next stage's comparisons are of ``shifted`` only.
        shifted = Signal(signed(h_bits + 1), name="s_shifted", reset_less=True)
        crossed = Signal(name="s_crossed", reset_less=True)
        lo = Signal(signed(out_bits), name="s_lo", reset_less=True)
        hi = Signal(signed(out_bits), name="s_hi", reset_less=True)
        m.d.sync += [shifted.eq(r + zp), crossed.eq(lo_local > hi_local),
                     lo.eq(lo_local), hi.eq(hi_local)]
        side = dict(zip(side, p.stage(**side), strict=True))

        # clamp_compare: the three comparisons in parallel; the bound to use below act_min.
        below = Signal(name="s_below", reset_less=True)
        above = Signal(name="s_above", reset_less=True)
        floor = Signal(signed(out_bits), name="s_floor", reset_less=True)
        value = Signal(signed(out_bits), name="s_value", reset_less=True)
        ceiling = Signal(signed(out_bits), name="s_ceiling", reset_less=True)
        m.d.sync += [
            below.eq(shifted < lo),
            above.eq(shifted > hi),
            floor.eq(Mux(crossed, hi, lo)),
            value.eq(shifted[:out_bits]),  # used only when lo <= shifted <= hi
            ceiling.eq(hi),
        ]
        side = dict(zip(side, p.stage(**side), strict=True))

        # clamp_select: output register.
        m.d.sync += [
            self.o_valid.eq(side["valid"]),
            self.o_data.eq(Mux(below, floor, Mux(above, ceiling, value))),
        ]
        p.stages += 1
        assert p.stages == mul_stages + len(POST_PRODUCT_STAGES)
        # The pipeline built is the one planned (a subclass may misreport ``latency``: the formal
        # test of a wrong latency relies on that).
        assert PRE_PRODUCT_STAGES + product_stages(cfg.acc_bits, mult_bits) \
            + len(POST_PRODUCT_STAGES) \
            == requant_latency(cfg.acc_bits, mult_bits)
        return m if self._en is None else EnableInserter(self._en)(m)
