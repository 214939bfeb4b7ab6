"""OutFifo: the output FIFO of ``qmac_top``, whose block RAM output feeds only a register.

Structure::

    w_data ──► write register ──► storage[depth] ──► read stage (block RAM output) ──► q ──► r_data

A plain first-word-fall-through FIFO (Amaranth's ``SyncFIFOBuffered``) hands its block RAM's
output to the logic that consumes it. On ECP5 that output, without the DP16KD's own output
register, arrives 5.6 ns after the clock at speed grade -6 and was among the slowest paths of
the whole top. Here the read is a two-stage pipeline that advances as one (``adv``): the block
RAM's read register and ``q``, a register with nothing between it and the block RAM, which the
ECP5 flow moves into the DP16KD output register (``qmac.synth.bram_outreg``). ``r_data`` comes
straight from ``q``. The write is registered too (the block RAM's input setup time after the
writer's logic was a critical path); ``level`` counts a word from the cycle it is offered.

Both stages hold when the word at ``q`` waits to be read and the consumer is not reading it
(``adv = ~r_rdy | r_en``, with ``r_en`` the consumer's register in ``qmac_top``), so no word is
lost or duplicated; otherwise a word is read from the storage every cycle it holds one, and a
stream through the FIFO keeps its full rate.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.memories import unchecked_memory

__all__ = ["OutFifo", "OUT_FIFO_LATENCY"]

#: Cycles from a write (``w_en``) to its word on ``r_data`` with ``r_rdy`` (an empty FIFO).
OUT_FIFO_LATENCY = 4


class OutFifo(wiring.Component):
    """A ``depth``-entry FIFO of ``width``-bit words with a registered block RAM read.

    Parameters
    ----------
    width : int
        Bits per word (>= 1).
    depth : int
        Entries (a power of two >= 4). ``level`` counts every word held, in the storage or in
        the read stages.

    Members
    -------
    w_en, w_data : In
        Write: taken every cycle ``w_en`` is high. The writer must keep ``level < depth``
        (``qmac_top`` stalls on ``level + 3 <= depth``); a write to a full FIFO is not refused
        and is lost.
    r_rdy, r_data : Out
        The oldest word, from a register.
    r_en : In(1)
        Read: the word on ``r_data`` is taken on a cycle with ``r_en & r_rdy``.
    level : Out(range(depth + 1))
        Words held; a register.

    Raises
    ------
    ValueError
        If ``width`` is not a positive int or ``depth`` not a power of two >= 4.
    """

    def __init__(self, width: int, depth: int) -> None:
        self._MustUse__silence = True  # a rejected instance is not an unused design
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int, not {width!r}")
        is_int = isinstance(depth, int) and not isinstance(depth, bool)
        if not is_int or depth < 4 or depth & (depth - 1):
            raise ValueError(f"depth must be a power of two >= 4, not {depth!r}")
        self._MustUse__silence = False
        self._width, self._depth = width, depth
        super().__init__({
            "w_en": In(1),
            "w_data": In(width),
            "r_en": In(1),
            "r_rdy": Out(1),
            "r_data": Out(width),
            "level": Out(range(depth + 1)),
        })

    @property
    def depth(self) -> int:
        return self._depth

    def elaborate(self, platform) -> Module:
        depth = self._depth
        m = Module()
        m.submodules.storage = storage = unchecked_memory(shape=self._width, depth=depth)
        wr, rd = storage.write_port(), storage.read_port()
        produce, consume = Signal(range(depth)), Signal(range(depth))
        stored = Signal(range(depth + 1))  # words in the storage, not yet read from it
        v1, v2 = Signal(), Signal()  # a word in the read register / in q
        q = Signal(self._width, reset_less=True)
        adv, issue = Signal(), Signal()
        w_en_q = Signal()
        w_data_q = Signal(self._width, reset_less=True)
        m.d.sync += [w_en_q.eq(self.w_en), w_data_q.eq(self.w_data)]
        m.d.comb += [
            wr.addr.eq(produce),
            wr.data.eq(w_data_q),
            wr.en.eq(w_en_q),
            adv.eq(~v2 | self.r_en),
            issue.eq(adv & (stored != 0)),
            rd.addr.eq(consume),
            rd.en.eq(adv),
            self.r_rdy.eq(v2),
            self.r_data.eq(q),
        ]
        m.d.sync += produce.eq(produce + w_en_q)
        m.d.sync += consume.eq(consume + issue)
        m.d.sync += stored.eq(stored + w_en_q - issue)
        # Kept as a register of its own (stored + v1 + v2): the writer's stall decision reads it.
        m.d.sync += self.level.eq(self.level + self.w_en - (self.r_en & v2))
        with m.If(adv):
            m.d.sync += [v1.eq(issue), v2.eq(v1), q.eq(rd.data)]
        return m
