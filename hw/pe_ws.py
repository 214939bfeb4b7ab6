"""WSPE: one weight-stationary processing element.

The PE holds a weight ``w`` (the *active* weight) and a *shadow* weight that the next fold's tile
is preloaded into while the current fold streams. Activations (the difference ``x - x_zp``)
travel right, partial sums travel down, both registered::

    cycle t          : x_in, sw_in                 (sw_in: first activation of a new fold)
                       at the end of t: x <= x_in; if sw_in: w <= shadow
    cycle t + 1      : product = w * x             (x_out, sw_out valid for the right neighbour)
    cycle t + 1 + P  : psum <= psum_in + product   (after P = pe_pipeline product registers)
    cycle t + 2 + P  : psum_out valid

so a PE one row down sees its activation one cycle later and the partial sum from above exactly when
it needs it: the wavefront is consistent for any ``P``. The multiplier's operand registers are the
activation register and the active weight; on ECP5 they and the product registers are the
MULT18X18D's own (:mod:`hw.dsp`; the active weight is its B input register, loaded from the shadow
through the block's second clock enable).

Stalls: ``en`` is the clock enable of every register of the PE (EnableInserter for the fabric
registers, the DSP block's CE pins for its own); a parent that stalls the PE must drive it.

Weight preload: ``w_in`` / ``wv_in`` / ``widx_in`` come from the PE above (or the top of the column)
and go on down, registered. When ``wv_in`` is high and ``widx_in`` equals this PE's ``row``, the
value is written into the shadow register. A shadow write on the same edge as a switch is fine (the
switch takes the old shadow value).
"""

from __future__ import annotations

from amaranth.hdl import EnableInserter, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig
from hw.dsp import registered_product
from hw.target import target_of

__all__ = ["WSPE", "row_index_shape"]


def row_index_shape(config: ArrayConfig) -> range:
    """Shape of the row index travelling with a preloaded weight (at least one bit wide)."""
    return range(max(config.rows, 2))


class WSPE(wiring.Component):
    """Weight-stationary multiply-accumulate element.

    Parameters
    ----------
    config : ArrayConfig
        Supplies ``a_bits`` (the activation operand is the ``a_bits + 1``-bit difference
        ``x - x_zp``), ``w_bits``, ``acc_bits``, ``pe_pipeline`` and ``rows``.
    row : int
        This PE's row in the mesh (0..rows-1): the preload index it answers to.

    Members
    -------
    x_in : In(signed(a_bits + 1))
        Activation difference from the left neighbour (or the array's left edge).
    sw_in : In(1)
        ``x_in`` is the first activation of a new fold: switch to the shadow weight for it.
    x_out, sw_out : Out
        ``x_in`` / ``sw_in`` registered (one cycle later), to the right neighbour.
    w_in : In(signed(w_bits))
        Preload weight from the PE above (or the top of the column).
    wv_in : In(1)
        ``w_in`` is valid.
    widx_in : In(range(max(rows, 2)))
        Row whose shadow register ``w_in`` is meant for.
    w_out, wv_out, widx_out : Out
        The preload inputs, registered, to the PE below.
    psum_in : In(signed(acc_bits))
        Partial sum from the PE above (0 at the top row).
    psum_out : Out(signed(acc_bits))
        ``psum_in + w * x``, ``P + 2`` cycles after the ``x_in`` it belongs to (wraps at acc_bits;
        ``ArrayConfig.check_job`` keeps every sum in range).
    en : In(1, init=1)
        Clock enable of every register (stall when low).

    Raises
    ------
    TypeError
        If ``config`` is not an ArrayConfig or ``row`` is not an integer.
    ValueError
        If ``row`` is outside ``[0, rows)``.
    """

    def __init__(self, config: ArrayConfig, row: int = 0) -> None:
        self._MustUse__silence = True   # a rejected instance is not an unused design
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        if isinstance(row, bool) or not isinstance(row, int):
            raise TypeError(f"row must be an integer, not {row!r}")
        if not 0 <= row < config.rows:
            raise ValueError(f"row must be in [0, {config.rows - 1}], not {row!r}")
        self._MustUse__silence = False
        self._config = config
        self._row = row
        idx = row_index_shape(config)
        super().__init__({
            "x_in": In(signed(config.diff_bits)),
            "sw_in": In(1),
            "x_out": Out(signed(config.diff_bits)),
            "sw_out": Out(1),
            "w_in": In(signed(config.w_bits)),
            "wv_in": In(1),
            "widx_in": In(idx),
            "w_out": Out(signed(config.w_bits)),
            "wv_out": Out(1),
            "widx_out": Out(idx),
            "psum_in": In(signed(config.acc_bits)),
            "psum_out": Out(signed(config.acc_bits)),
            "en": In(1, init=1),
        })

    @property
    def config(self) -> ArrayConfig:
        return self._config

    @property
    def row(self) -> int:
        return self._row

    @property
    def latency(self) -> int:
        """Cycles from ``x_in`` to the ``psum_out`` holding its product (``pe_pipeline + 2``)."""
        return self._config.pe_pipeline + 2

    def elaborate(self, platform) -> Module:
        m = Module()
        cfg = self._config
        x = Signal(signed(cfg.diff_bits), reset_less=True)
        shadow = Signal(signed(cfg.w_bits), reset_less=True)
        psum = Signal(signed(cfg.acc_bits), reset_less=True)

        m.d.sync += [
            x.eq(self.x_in),
            self.sw_out.eq(self.sw_in),
            self.w_out.eq(self.w_in),
            self.wv_out.eq(self.wv_in),
            self.widx_out.eq(self.widx_in),
        ]
        m.d.comb += self.x_out.eq(x)
        with m.If(self.wv_in & (self.widx_in == self._row)):
            m.d.sync += shadow.eq(self.w_in)
        # Operand registers: x (equal to the x register above) and the active weight w, which
        # takes the shadow on a switch; then pe_pipeline product registers.
        product = registered_product(
            m, self.x_in, shadow, stages=cfg.pe_pipeline + 1, en=self.en,
            target=target_of(platform), name="mul", b_load=self.sw_in,
        )
        m.d.sync += psum.eq(self.psum_in + product)
        m.d.comb += self.psum_out.eq(psum)
        return EnableInserter(self.en)(m)
