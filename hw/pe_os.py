"""OSPE: one output-stationary processing element.

Each cycle the PE multiplies the activation difference arriving from the left by the weight arriving
from the top and passes both on (registered) to the right and down, with the fold flags that travel
with the activation. The product takes ``pe_pipeline + 1`` register stages (on ECP5 the MULT18X18D's
own input and output registers, a third one in the fabric after the block, :mod:`hw.dsp`), then
enters the accumulator::

    cycle t              : a_in, w_in, first_in, last_in
    cycle t + 1          : a_out, w_out, first_out, last_out valid (registered)
    cycle t + 1 + P      : acc <= (first ? 0 : acc) + product
    cycle t + 2 + P      : if it was the fold's last product: cap = 1 and res = acc holds the
                           finished fold (for this one cycle when the next fold follows at once)

``P = pe_pipeline``, ``acc_latency = P + 2``. ``res`` is the accumulator itself: the PE keeps no
copy of a finished fold. It holds the fold for exactly the cycle ``cap`` is high when folds are
back to back (the next fold's first product is added in that cycle), which is enough: down a
column the PEs finish one row per cycle, and the mesh's drain collects them as they do
(``hw/mesh_os.py``). The restart ``first ? 0 : acc`` costs no LUT on ECP5, where it is folded into
the carry chain's LUTs (:mod:`hw.accumulate`).

Stalls: ``en`` is the clock enable of every register of the PE (EnableInserter for the fabric
registers, the DSP block's CE pin for its own registers). A parent that stalls the PE must drive
``en``; an ``EnableInserter`` around the PE alone does not reach the DSP block.
"""

from __future__ import annotations

from amaranth.hdl import EnableInserter, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.accumulate import restartable_sum
from hw.config import ArrayConfig
from hw.dsp import registered_product
from hw.target import target_of

__all__ = ["OSPE"]


def _flag_delay(m: Module, flag, cycles: int, name: str):
    """``flag`` delayed by ``cycles`` registers, each kept (``keep``) so that Yosys does not merge
    it with the equal flag register of a neighbouring PE (one copy driving PEs far apart)."""
    for k in range(cycles):
        reg = Signal(name=f"{name}_d{k + 1}", attrs={"keep": 1})
        m.d.sync += reg.eq(flag)
        flag = reg
    return flag


class OSPE(wiring.Component):
    """Output-stationary multiply-accumulate element.

    Parameters
    ----------
    config : ArrayConfig
        Supplies ``a_bits`` (the activation operand is the ``a_bits + 1``-bit difference
        ``x - x_zp``), ``w_bits``, ``acc_bits`` and ``pe_pipeline``.

    Members
    -------
    a_in : In(signed(a_bits + 1))
        Activation difference from the left neighbour (or the skew at the array edge).
    w_in : In(signed(w_bits))
        Weight from the PE above (or the skew at the array edge).
    first_in, last_in : In(1)
        Fold flags of ``a_in``: first product of a fold (restart the sum), last product (capture).
    a_out, w_out, first_out, last_out : Out
        The inputs, registered (one cycle later), to the right / down neighbours.
    res : Out(signed(acc_bits))
        The accumulator: a finished fold's sum on the cycle ``cap`` is high.
    cap : Out(1)
        High for one cycle per fold, ``acc_latency`` cycles after its last operands.
    en : In(1, init=1)
        Clock enable of every register (stall when low).

    Raises
    ------
    TypeError
        If ``config`` is not an ArrayConfig.
    """

    def __init__(self, config: ArrayConfig) -> None:
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        self._config = config
        super().__init__(
            {
                "a_in": In(signed(config.diff_bits)),
                "w_in": In(signed(config.w_bits)),
                "first_in": In(1),
                "last_in": In(1),
                "a_out": Out(signed(config.diff_bits)),
                "w_out": Out(signed(config.w_bits)),
                "first_out": Out(1),
                "last_out": Out(1),
                "res": Out(signed(config.acc_bits)),
                "cap": Out(1),
                "en": In(1, init=1),
            }
        )

    @property
    def acc_latency(self) -> int:
        """Cycles from the last operands at the inputs to ``cap`` (``pe_pipeline + 2``)."""
        return self._config.pe_pipeline + 2

    def elaborate(self, platform) -> Module:
        cfg = self._config
        m = Module()
        # The operands pass on without reset (data); the flags keep theirs.
        a_out = Signal.like(self.a_out, reset_less=True)
        w_out = Signal.like(self.w_out, reset_less=True)
        m.d.sync += [
            a_out.eq(self.a_in),
            w_out.eq(self.w_in),
            self.first_out.eq(self.first_in),
            self.last_out.eq(self.last_in),
        ]
        m.d.comb += [self.a_out.eq(a_out), self.w_out.eq(w_out)]
        stages = cfg.pe_pipeline + 1
        target = target_of(platform)
        prod = registered_product(
            m, self.a_in, self.w_in, stages=stages, en=self.en, target=target, name="mul",
            out_bits=cfg.acc_bits,
        )
        first = _flag_delay(m, self.first_in, stages, "first")
        cap = _flag_delay(m, self.last_in, stages + 1, "last")
        acc = Signal(signed(cfg.acc_bits), reset_less=True)
        # The generator rejects K beyond max_k, so the sum never needs more than acc_bits.
        total = restartable_sum(m, acc, prod, first, target=target, name="add")
        m.d.sync += acc.eq(total)
        m.d.comb += [self.res.eq(acc), self.cap.eq(cap)]
        return EnableInserter(self.en)(m)
