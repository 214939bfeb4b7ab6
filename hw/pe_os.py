"""OSPE: one output-stationary processing element with its slot of the column drain chain.

Each cycle the PE multiplies the activation difference arriving from the left by the weight arriving
from the top and passes both on (registered) to the right and down, with the fold flags that travel
with the activation. The product is registered, then goes through ``pe_pipeline`` more register
stages, then into the accumulator::

    cycle t          : a_in, w_in, first_in, last_in
    cycle t + 1      : product register            (a_out, w_out, first_out, last_out valid)
    cycle t + 1 + P  : acc <= (first ? 0 : acc) + product; if last: res <= the same sum
    cycle t + 2 + P  : cap = 1 (res holds the finished sum of the fold)

``P = pe_pipeline``. So ``res`` holds a fold's result from ``acc_latency = P + 2`` cycles after its
last operands arrived until the next fold's last operands arrive + ``acc_latency``; the accumulator
itself starts the next fold at once (no bubble between folds).

Drain: ``chain`` is this PE's register of its column's result shift chain. On ``load`` it takes
``res``, otherwise ``chain_in`` (the chain register of the PE below, so values move up one row per
cycle and leave at the top row's ``chain``).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig

__all__ = ["OSPE"]


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
        The sum of the most recently finished fold.
    cap : Out(1)
        High on the first cycle on which ``res`` holds a newly finished fold.
    load : In(1)
        Load ``res`` into ``chain`` (instead of ``chain_in``) at the end of this cycle.
    chain_in : In(signed(acc_bits))
        Chain register of the PE below (0 at the bottom row).
    chain : Out(signed(acc_bits))
        This PE's drain chain register.

    Raises
    ------
    TypeError
        If ``config`` is not an ArrayConfig.
    """

    def __init__(self, config: ArrayConfig) -> None:
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        self._config = config
        acc = signed(config.acc_bits)
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
                "res": Out(acc),
                "cap": Out(1),
                "load": In(1),
                "chain_in": In(acc),
                "chain": Out(acc),
            }
        )

    @property
    def acc_latency(self) -> int:
        """Cycles from the last operands at the inputs to ``cap`` (``pe_pipeline + 2``)."""
        return self._config.pe_pipeline + 2

    def elaborate(self, platform) -> Module:
        cfg = self._config
        m = Module()
        m.d.sync += [
            self.a_out.eq(self.a_in),
            self.w_out.eq(self.w_in),
            self.first_out.eq(self.first_in),
            self.last_out.eq(self.last_in),
        ]
        prod = Signal(signed(cfg.product_bits))
        first = Signal()
        last = Signal()
        m.d.sync += [prod.eq(self.a_in * self.w_in), first.eq(self.first_in), last.eq(self.last_in)]
        for stage in range(cfg.pe_pipeline):
            p2 = Signal(signed(cfg.product_bits), name=f"prod_p{stage + 1}")
            f2 = Signal(name=f"first_p{stage + 1}")
            l2 = Signal(name=f"last_p{stage + 1}")
            m.d.sync += [p2.eq(prod), f2.eq(first), l2.eq(last)]
            prod, first, last = p2, f2, l2

        acc = Signal(signed(cfg.acc_bits))
        total = Signal(signed(cfg.acc_bits))
        # The generator rejects K beyond max_k, so the sum never needs more than acc_bits.
        m.d.comb += total.eq(Mux(first, 0, acc) + prod)
        m.d.sync += [acc.eq(total), self.cap.eq(last)]
        with m.If(last):
            m.d.sync += self.res.eq(total)
        m.d.sync += self.chain.eq(Mux(self.load, self.res, self.chain_in))
        return m
