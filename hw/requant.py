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
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig
from hw.requant_plan import CHUNK, chunk_lsbs, product_stages, requant_latency

__all__ = ["Requant"]


def _chunks(value) -> list[tuple]:
    """(chunk, lsb) pairs of a signed value: unsigned ``CHUNK``-bit low chunks, signed top chunk."""
    lsbs = chunk_lsbs(len(value))
    return [(value[lsb:lsb + CHUNK], lsb) for lsb in lsbs[:-1]] + \
        [(value[lsbs[-1]:].as_signed(), lsbs[-1])]


def _delay(m: Module, value, cycles: int):
    """``value`` delayed by ``cycles`` registers in the sync domain."""
    for _ in range(cycles):
        reg = Signal.like(value)
        m.d.sync += reg.eq(value)
        value = reg
    return value


class Requant(wiring.Component):
    """Pipelined requantization of one output channel: one accumulator in, one output per cycle.

    All state is in the ``sync`` domain; wrap the unit in ``EnableInserter`` to stall it. Every
    input is sampled on the same cycle as ``i_valid``; the result appears ``latency`` cycles later.

    Pipeline (one register stage each; ``latency`` = :func:`requant_latency`):

    1. ``acc + bias`` (``acc_bits + 1`` bits, exact); ``m0``, ``shift``, ``y_zp`` and the clamp
       bounds are registered beside it. These are the multiplier's input registers.
    2. ``q = (acc + bias) * m0`` (``acc_bits + 1 + mult_bits`` bits): the operands are cut into
       chunks of at most 18 bits and every partial product (one DSP block each) is registered,
       then a balanced adder tree sums them with one register per level (1 + ceil(log2(terms))
       stages; a single 18 x 18 product takes one).
    3. Operand and amount of the rounding shifter: for ``"tflite"`` and ``"halfup"`` with a
       negative shift the high multiply's constant rounding shift by ``mult_bits - 1`` (with the
       ties-away correction for ``"tflite"``).
    4. Barrel shifter (arithmetic right shift by the amount, one fraction bit kept).
    5. Saturation to ``out_bits + 3`` bits and the round-half-up increment.
    6. ``+ y_zp``, clamp to ``[act_min, act_max]`` (``max`` with ``act_min`` first, then ``min``
       with ``act_max``), output register.

    Parameters
    ----------
    config : ArrayConfig
        Supplies ``acc_bits``, ``mult_bits``, ``out_bits`` and ``rounding``.

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
        If ``config`` is not an :class:`~hw.config.ArrayConfig`.
    """

    def __init__(self, config: ArrayConfig) -> None:
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        self._config = config
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

    def elaborate(self, platform) -> Module:
        cfg = self._config
        acc_bits, mult_bits, out_bits = cfg.acc_bits, cfg.mult_bits, cfg.out_bits
        double = cfg.rounding in ("tflite", "halfup")  # a high multiply, then a rounding shift
        q_bits = acc_bits + 1 + mult_bits
        # Left headroom so that the smallest amount, mult_bits - 1 - 30, becomes a right shift >= 0.
        k = max(0, 31 - mult_bits)
        # Largest amount + k: "single" reaches mult_bits - 1 + 31, the double roundings
        # mult_bits - 1 or 31.
        max_amount = (mult_bits + 30 if not double else max(mult_bits - 1, 31)) + k
        # Saturation width before the zero point: anything beyond lands beyond every clamp bound.
        sat_bits = out_bits + 2
        m = Module()

        # Stage 1: multiplier input registers.
        s1_valid = Signal()
        s1_acc = Signal(signed(acc_bits + 1))
        s1_m0 = Signal(signed(mult_bits))
        s1_shift = Signal(signed(cfg.shift_bits))
        s1_zp = Signal(signed(out_bits))
        s1_min = Signal(signed(out_bits))
        s1_max = Signal(signed(out_bits))
        m.d.sync += [
            s1_valid.eq(self.i_valid),
            s1_acc.eq(self.i_acc + self.i_bias),
            s1_m0.eq(self.i_m0),
            s1_shift.eq(self.i_shift),
            s1_zp.eq(self.i_y_zp),
            s1_min.eq(self.i_act_min),
            s1_max.eq(self.i_act_max),
        ]

        # Stages 2 ..: the multiplier. Partial products of at most 18 x 18 bits (one DSP block
        # each) are registered, then summed by a balanced adder tree with a register per level.
        regs = []
        for i, (term, lsb) in enumerate(
            (a * b, la + lb) for a, la in _chunks(s1_acc) for b, lb in _chunks(s1_m0)
        ):
            reg = Signal(term.shape(), name=f"pp{i}")
            m.d.sync += reg.eq(term)
            regs.append((reg, lsb))
        level = 0
        while len(regs) > 1:
            level += 1
            pairs = [regs[j:j + 2] for j in range(0, len(regs), 2)]
            regs = []
            for j, pair in enumerate(pairs):
                low = min(lsb for _, lsb in pair)
                shifted = [value << (lsb - low) for value, lsb in pair]
                total = shifted[0] if len(shifted) == 1 else shifted[0] + shifted[1]
                reg = Signal(total.shape(), name=f"psum{level}_{j}")
                m.d.sync += reg.eq(total)
                regs.append((reg, low))
        s2_q = Signal(signed(q_bits))
        m.d.comb += s2_q.eq(regs[0][0] << regs[0][1])  # the exact product fits q_bits
        stages = product_stages(acc_bits, mult_bits)
        assert stages == 1 + level
        s2_valid, s2_shift, s2_zp, s2_min, s2_max = (
            _delay(m, sig, stages) for sig in (s1_valid, s1_shift, s1_zp, s1_min, s1_max)
        )

        # Stage 3: operand and amount of the rounding shifter.
        s3_valid = Signal()
        s3_v = Signal(signed(q_bits))
        s3_amount = Signal(range(max_amount + 1))
        s3_zp, s3_min, s3_max = Signal.like(s1_zp), Signal.like(s1_min), Signal.like(s1_max)
        direct_amount = Signal(signed(8))
        m.d.comb += direct_amount.eq(mult_bits - 1 - s2_shift + k)
        if double:
            # High multiply of a right-shifting channel, t = rshift(q, B - 1) = (q + 2^(B-2)) >>
            # (B - 1): the operand of "halfup". For "tflite", the ties-away operand t - [t < 0]
            # in the same one addition: u = (q + c) >> (B - 1) with c = +2^(B-2) for q >= 0 and
            # -2^(B-2) for q < 0. The two differ from t - [t < 0] only for -2^(B-2) <= q < 0,
            # where they give -1 instead of 0, and rshift(-1, R) = rshift(0, R) = 0 for every
            # R >= 1.
            half = 1 << (mult_bits - 2)
            nudge = Mux(s2_q[-1], -half, half) if cfg.rounding == "tflite" else half
            high = Signal(signed(q_bits - mult_bits + 2))
            m.d.comb += high.eq((s2_q + nudge) >> (mult_bits - 1))
            m.d.sync += [
                s3_v.eq(Mux(s2_shift < 0, high, s2_q)),
                s3_amount.eq(Mux(s2_shift < 0, k - s2_shift, direct_amount)),
            ]
        else:
            m.d.sync += [s3_v.eq(s2_q), s3_amount.eq(direct_amount)]
        m.d.sync += [s3_valid.eq(s2_valid), s3_zp.eq(s2_zp), s3_min.eq(s2_min), s3_max.eq(s2_max)]

        # Stage 4: barrel shifter, h = floor(v / 2^(a - 1)) (one fraction bit kept for rounding).
        s4_valid = Signal()
        s4_h = Signal(signed(q_bits + k + 1))
        s4_zp, s4_min, s4_max = Signal.like(s1_zp), Signal.like(s1_min), Signal.like(s1_max)
        widened = Signal(signed(q_bits + k + 1))
        m.d.comb += widened.eq(Cat(Const(0, k + 1), s3_v).as_signed())
        m.d.sync += [
            s4_valid.eq(s3_valid),
            s4_h.eq(widened >> s3_amount),
            s4_zp.eq(s3_zp),
            s4_min.eq(s3_min),
            s4_max.eq(s3_max),
        ]

        # Stage 5: saturate h to sat_bits + 1 bits (a sign check, no comparator), then round half
        # up: r = (h + 1) >> 1, in [-2^(sat_bits-1), 2^(sat_bits-1)].
        h_bits = sat_bits + 1
        s5_valid = Signal()
        s5_r = Signal(signed(h_bits))
        s5_zp, s5_min, s5_max = Signal.like(s1_zp), Signal.like(s1_min), Signal.like(s1_max)
        upper = s4_h[h_bits - 1:]
        fits = ~upper.any() | upper.all()
        h_sat = Signal(signed(h_bits))
        m.d.comb += h_sat.eq(Mux(fits, s4_h[:h_bits],
                                 Mux(s4_h[-1], -(1 << (h_bits - 1)), (1 << (h_bits - 1)) - 1)))
        m.d.sync += [
            s5_valid.eq(s4_valid),
            s5_r.eq((h_sat + 1) >> 1),
            s5_zp.eq(s4_zp),
            s5_min.eq(s4_min),
            s5_max.eq(s4_max),
        ]

        # Stage 6: zero point and clamp.
        shifted = Signal(signed(h_bits + 1))
        floored = Signal(signed(h_bits + 1))
        m.d.comb += [
            shifted.eq(s5_r + s5_zp),
            floored.eq(Mux(shifted < s5_min, s5_min, shifted)),
        ]
        m.d.sync += [
            self.o_valid.eq(s5_valid),
            self.o_data.eq(Mux(floored > s5_max, s5_max, floored)),
        ]
        return m
