"""StreamLoader: takes one job's beats from an AXI4-Stream input and writes them to a banked memory.

Beats of a job are written in stream order to consecutive addresses of the job's bank (bank = job
index mod 2, toggled after each job), ``lanes`` beats per memory word when the memory word holds
several entries (the parameter memory: one channel per lane). A job has
``ceil(outer / step) * inner`` beats (e.g. activations of an "os" job: ``ceil(M / rows) * K``); the
count is kept without a divider by counting ``inner`` beats per block and ``step`` per block.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["StreamLoader"]


class StreamLoader(wiring.Component):
    """Beat counter and memory write port driver of one input stream.

    Parameters
    ----------
    tdata_bits : int
        Width of ``tdata``.
    payload_bits : int
        Low bits of ``tdata`` stored per beat (per lane).
    addr_bits : int
        Address bits of one bank (the bank is the address MSB above them).
    step : int
        Amount by which ``outer`` is consumed per block of ``inner`` beats.
    lanes : int
        Beats per memory word; ``w_lanes`` is the one-hot lane written by a beat and ``w_data``
        repeats the payload in every lane.

    Members
    -------
    tdata, tvalid, tlast : In; tready : Out
        The stream. ``tready = go``.
    go : In(1)
        The job of bank ``bank`` has been commanded and not fully loaded: beats may be taken.
    inner_last : In(16); outer_last : In(signed(18))
        Job geometry as the counters meet it, ``inner - 1`` and ``outer - step`` (the block whose
        ``outer`` count reaches ``outer_last`` is the last). The parent computes them when it
        takes the command (hw/slots.py, ``derived``), so that no subtraction lies on the path
        from the geometry to the counters' enables. The loader compares them with its counters'
        next values into registers (``inner_end``, ``outer_end``), so they must be stable while
        ``go`` is high and on the cycle before ``go`` rises.
    bank : Out(1)
        Bank of the job being loaded (toggles after its last beat).
    loaded : Out(1)
        Pulse: the last beat of the job of ``bank`` is being accepted this cycle.
    error : Out(1)
        Pulse: the beat accepted this cycle has ``tlast`` different from "last beat of the job".
    w_addr : Out(addr_bits + 1); w_en : Out(1); w_lanes : Out(lanes)
    w_data : Out(lanes * payload_bits)
        Memory write port: written on the cycle the beat is accepted.
    word_m1 : Out(signed(addr_bits + 1))
        ``w_addr``'s word index minus 1 (-1 before a bank's first word), a register of its own:
        "index + 1 < word" is "index < word_m1" without an adder on the parent's path.
    word_m1_next : Out(signed(addr_bits + 1))
        ``word_m1`` of the next cycle (its register's input), for a parent that compares it with
        an index a cycle ahead. The bank of the next cycle is ``bank ^ loaded``.

    Raises
    ------
    ValueError
        If a width is not positive or ``payload_bits > tdata_bits``.
    """

    def __init__(
        self, *, tdata_bits: int, payload_bits: int, addr_bits: int, step: int, lanes: int = 1
    ) -> None:
        for name, value in (
            ("tdata_bits", tdata_bits),
            ("payload_bits", payload_bits),
            ("addr_bits", addr_bits),
            ("step", step),
            ("lanes", lanes),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        if payload_bits > tdata_bits:
            raise ValueError(
                f"payload_bits must be at most tdata_bits = {tdata_bits}, not {payload_bits!r}"
            )
        self._payload, self._addr_bits, self._step, self._lanes = (
            payload_bits,
            addr_bits,
            step,
            lanes,
        )
        super().__init__(
            {
                "tdata": In(tdata_bits),
                "tvalid": In(1),
                "tready": Out(1),
                "tlast": In(1),
                "go": In(1),
                "inner_last": In(16),
                "outer_last": In(signed(18)),
                "bank": Out(1),
                "loaded": Out(1),
                "error": Out(1),
                "w_addr": Out(addr_bits + 1),
                "word_m1": Out(signed(addr_bits + 1), init=-1),
                "word_m1_next": Out(signed(addr_bits + 1)),
                "w_en": Out(1),
                "w_lanes": Out(lanes),
                "w_data": Out(lanes * payload_bits),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        inner_cnt, inner_n = Signal(16, name="inner_cnt"), Signal(16, name="inner_n")
        outer_cnt, outer_n = Signal(17, name="outer_cnt"), Signal(17, name="outer_n")
        word = Signal(self._addr_bits, name="word")
        lane = Signal(range(self._lanes)) if self._lanes > 1 else None
        beat = Signal()
        last = Signal()
        # Registered from the counters' next values: the end of a block / of the job's blocks,
        # so that a beat's "last" is one gate from flip-flops.
        inner_end, outer_end = Signal(), Signal()
        m.d.comb += [
            self.tready.eq(self.go),
            beat.eq(self.tvalid & self.go),
            last.eq(inner_end & outer_end),
            self.loaded.eq(beat & last),
            self.error.eq(beat & (self.tlast != last)),
            self.w_en.eq(beat),
            self.w_addr.eq(Cat(word, self.bank)),
            self.w_lanes.eq(1 if lane is None else 1 << lane),
            self.w_data.eq(Cat(*[self.tdata[: self._payload]] * self._lanes)),
            inner_n.eq(inner_cnt),
            outer_n.eq(outer_cnt),
            self.word_m1_next.eq(self.word_m1),
        ]
        # word_m1 + 1 as a register of its own, so that word_m1_next (which the parent compares
        # with its read index) is a choice of registers with no adder before the comparison.
        word_p1 = Signal(signed(self._addr_bits + 1), init=0)
        m.d.sync += [self.word_m1.eq(self.word_m1_next), word_p1.eq(self.word_m1_next + 1)]
        # The geometry's derived bounds, registered on every cycle: valid from the cycle ``go``
        # rises (the geometry is stable the cycle before), so that each comparison below is
        # of two registers, with no adder before it.
        inner_m1 = Signal(17, name="inner_m1")  # inner_last - 1 (a block's next-to-last beat)
        outer_m_step = Signal(signed(19), name="outer_m_step")  # outer_last - step
        inner_zero = Signal(name="inner_zero")  # inner_last == 0
        outer_le0 = Signal(name="outer_le0")  # outer_last <= 0
        m.d.sync += [
            inner_m1.eq(self.inner_last - 1),
            outer_m_step.eq(self.outer_last - self._step),
            inner_zero.eq(self.inner_last == 0),
            outer_le0.eq(self.outer_last <= 0),
        ]
        # The flags' next values for a beat and for no beat, each from registers only, so that
        # the late ``beat`` (tvalid from outside) only picks one of them.
        inner_if_beat = Mux(last | inner_end, inner_zero, inner_cnt == inner_m1)
        outer_if_beat = Mux(last, outer_le0,
                            Mux(inner_end, outer_cnt >= outer_m_step,
                                outer_cnt >= self.outer_last))
        m.d.sync += [
            inner_cnt.eq(inner_n),
            outer_cnt.eq(outer_n),
            inner_end.eq(Mux(beat, inner_if_beat, inner_cnt == self.inner_last)),
            outer_end.eq(Mux(beat, outer_if_beat, outer_cnt >= self.outer_last)),
        ]
        with m.If(beat):
            with m.If(last):
                m.d.comb += [inner_n.eq(0), outer_n.eq(0)]
                m.d.sync += [word.eq(0), self.bank.eq(~self.bank)]
                m.d.comb += self.word_m1_next.eq(-1)
                if lane is not None:
                    m.d.sync += lane.eq(0)
            with m.Else():
                with m.If(inner_end):
                    m.d.comb += [inner_n.eq(0), outer_n.eq(outer_cnt + self._step)]
                with m.Else():
                    m.d.comb += inner_n.eq(inner_cnt + 1)
                if self._lanes == 1:
                    m.d.sync += word.eq(word + 1)
                    m.d.comb += self.word_m1_next.eq(word_p1)
                else:
                    with m.If(lane == self._lanes - 1):
                        m.d.sync += [lane.eq(0), word.eq(word + 1)]
                        m.d.comb += self.word_m1_next.eq(word_p1)
                    with m.Else():
                        m.d.sync += lane.eq(lane + 1)
        return m
