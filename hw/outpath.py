"""OutPath: the output path of ``qmac_top``: parameter lookup, requantization, output FIFO.

Structure::

    engine result row ──► param lookup (3 cycles) ──► cols x Requant ──► output FIFO
                      ──► output register + skid register ──► out_*
                              ▲ p_addr / p_data (parameter memory read port, owned by the top)

The top (hw/top.py) owns the parameter memory and the job slots; it gives this component the
memory's read port (``p_addr``/``p_en`` out, ``p_data`` in, data valid the cycle after an enabled
read) and, combinationally, the output fields (``job_y_zp``, ``job_act_min``, ``job_act_max``) of
the slot ``job_bank`` points at.

Stall. ``run`` is a register, high while the output FIFO has room for at least 3 more entries
(``level <= depth - 3``). With ``run`` registered, one more entry can enter between the sample and
the effect, so the FIFO (hw/out_fifo.py) never holds more than ``depth - 1`` entries and no write
is lost. The lookup registers and the requantizers advance only on ``run`` cycles; a row is
taken from ``res_*`` on a ``run`` cycle with ``res_valid`` high (the top clears ``res_valid`` on
cycles the engine does not advance), so nothing is lost or duplicated.

Bookkeeping. ``release`` pulses when a job's last row enters the requantizers (which register the
slot's zero point and clamp bounds with each row), so the top may free the job's slot; ``done``
pulses when the job's last beat is accepted on ``out_*``; ``pending`` is high while a released
job has not delivered its last beat. A *void* row (``res_void``, the last row of a job that holds
its sums for a K split, hw/psum.py) only releases its job: it is not requantized, makes no beat
and leaves nothing pending, and passing through the same stages keeps the releases in job order.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig
from hw.out_fifo import OUT_FIFO_LATENCY, OutFifo
from hw.requant import Requant

__all__ = ["OutPath", "PARAM_LOOKUP", "outpath_latency", "outpath_signature"]

#: Cycles of the parameter lookup: the memory read, its output register, a copy near the units.
PARAM_LOOKUP = 3


def _bits(depth: int) -> int:
    return max(1, (depth - 1).bit_length())


def outpath_latency(config: ArrayConfig) -> int:
    """Cycles from a row on ``res_*`` to its beat on ``out_*`` (no stalls, room in the FIFO).

    Parameter lookup (:data:`PARAM_LOOKUP`) + ``Requant.latency`` (``config.requant_latency``)
    + output FIFO (:data:`hw.out_fifo.OUT_FIFO_LATENCY`) + registered output stage (1).
    """
    return PARAM_LOOKUP + config.requant_latency + OUT_FIFO_LATENCY + 1


def outpath_signature(config: ArrayConfig, param_words: int) -> wiring.Signature:
    """Signature of :class:`OutPath` (see its docstring for the members)."""
    cols, ob = config.cols, config.out_bits
    param_bits = config.acc_bits + config.mult_bits + config.shift_bits
    return wiring.Signature(
        {
            "run": Out(1),
            "run_next": Out(1),
            "run2_next": Out(1),
            "res_valid": In(1),
            "res_acc": In(ArrayLayout(signed(config.acc_bits), cols)),
            "res_nb": In(config.dim_bits),
            "res_bank": In(1),
            "res_last": In(1),
            "res_lanes": In(cols),
            "res_void": In(1),
            "p_addr": Out(range(2 * param_words)),
            "p_en": Out(1),
            "p_data": In(cols * param_bits),
            "job_bank": Out(1),
            "job_y_zp": In(signed(ob)),
            "job_act_min": In(signed(ob)),
            "job_act_max": In(signed(ob)),
            "release": Out(1),
            "out_tdata": Out(cols * ob),
            "out_tvalid": Out(1),
            "out_tready": In(1),
            "out_tlast": Out(1),
            "done": Out(1),
            "pending": Out(1),
        }
    )


class OutPath(wiring.Component):
    """Parameter lookup, ``cols`` requantizers and the output FIFO of one array.

    Parameters
    ----------
    config : ArrayConfig
    param_words : int
        Words per bank of the parameter memory (a power of two >= 2; ``cols`` channels a word).
        ``p_addr = {res_bank, res_nb[:log2(param_words)]}``.
    fifo_depth : int
        Entries of the output FIFO (a power of two >= 4).

    Members
    -------
    run : Out(1)
        Registered: the engine may advance this cycle (the FIFO has room for the rows in flight).
    run_next : Out(1)
        ``run`` of the next cycle (its register's input), for a parent that registers a stall
        decision of its own a cycle ahead.
    run2_next : Out(1)
        High only if ``run`` is high on both of the next two cycles (the FIFO has room for one
        more entry than ``run_next`` asks: a cycle adds at most one), for a parent whose rows
        come a cycle after its stall decision (``Engine.back_lag``).
    res_valid, res_acc, res_nb, res_bank, res_last, res_lanes : In
        A result row as the engine gives it (docs/ENGINE.md); taken when ``run & res_valid``.
        ``res_acc`` is ArrayLayout(signed(acc_bits), cols), without bias.
    res_void : In(1)
        The row (a job's last) only releases its job: no output, nothing pending.
    p_addr, p_en : Out; p_data : In(cols * param_bits)
        Parameter memory read port; lane j of a word is channel ``nb * cols + j``:
        bias ``[0, acc_bits)``, m0 ``[acc_bits, +mult_bits)``, shift above.
    job_bank : Out(1)
        Bank (slot) of the row entering the requantizers; ``job_y_zp``, ``job_act_min`` and
        ``job_act_max`` (In, signed(out_bits)) are that slot's fields, combinationally.
    release : Out(1)
        Pulse: the last row of the job in bank ``job_bank`` entered the requantizers.
    out_tdata, out_tvalid, out_tready, out_tlast : AXI4-Stream master (cols * out_bits data).
        Lanes outside N (``res_lanes`` low) are zero.
    done : Out(1)
        Pulse: a job's last beat is accepted (``out_tvalid & out_tready & out_tlast``).
    pending : Out(1)
        A released job has not delivered its last beat yet.

    Raises
    ------
    TypeError
        If ``config`` is not an ArrayConfig.
    ValueError
        If ``param_words`` is not a power of two >= 2 or ``fifo_depth`` not a power of two >= 4.
    """

    def __init__(self, config: ArrayConfig, param_words: int, fifo_depth: int) -> None:
        self._MustUse__silence = True  # no "never used" warning for an object that fails here
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        if (
            not isinstance(param_words, int)
            or param_words < 2
            or param_words & (param_words - 1)
        ):
            raise ValueError(f"param_words must be a power of two >= 2, not {param_words!r}")
        if (
            isinstance(fifo_depth, bool)
            or not isinstance(fifo_depth, int)
            or fifo_depth < 4
            or fifo_depth & (fifo_depth - 1)
        ):
            raise ValueError(f"fifo_depth must be a power of two >= 4, not {fifo_depth!r}")
        self._MustUse__silence = False
        self._config = config
        self._param_words = param_words
        self._fifo_depth = fifo_depth
        super().__init__(outpath_signature(config, param_words))

    @property
    def latency(self) -> int:
        """Cycles from a row on ``res_*`` to its beat on ``out_*`` (see :func:`outpath_latency`)."""
        return outpath_latency(self._config)

    @property
    def fifo_depth(self) -> int:
        return self._fifo_depth

    def elaborate(self, platform) -> Module:
        cfg = self._config
        cols, ob = cfg.cols, cfg.out_bits
        param_bits = cfg.acc_bits + cfg.mult_bits + cfg.shift_bits
        p_bits_idx = _bits(self._param_words)
        run = self.run
        m = Module()

        # ---- parameter lookup (PARAM_LOOKUP cycles) --------------------------------------------
        # The memory's read, then ``p_word``, a register with nothing before it that the ECP5
        # flow moves into the block RAM output register (qmac.synth.bram_outreg), then
        # ``p_near``, a copy in the fabric that the placer can put beside each requantizer: the
        # bias adder and the multiplier inputs are far from the block RAMs. The row waits beside
        # them in as many register stages.
        m.d.comb += [
            self.p_addr.eq(Cat(self.res_nb[:p_bits_idx], self.res_bank)),
            self.p_en.eq(run),
        ]
        p_word = Signal.like(self.p_data, reset_less=True)
        p_near = Signal.like(self.p_data, reset_less=True)
        row = {"valid": self.res_valid, "last": self.res_last, "bank": self.res_bank,
               "lanes": self.res_lanes, "acc": self.res_acc, "void": self.res_void}
        for stage in range(PARAM_LOOKUP):
            regs = {name: Signal.like(v, name=f"r{stage + 1}_{name}") for name, v in row.items()}
            with m.If(run):
                m.d.sync += [regs[name].eq(v) for name, v in row.items()]
            row = regs
        with m.If(run):
            m.d.sync += [p_word.eq(self.p_data), p_near.eq(p_word)]
        r_valid, r_last, r_bank, r_void, r_lanes, r_acc = (
            row[name] for name in ("valid", "last", "bank", "void", "lanes", "acc"))
        m.d.comb += self.job_bank.eq(r_bank)

        # ---- requantization -------------------------------------------------------------------
        units = []
        for j in range(cols):
            # Each unit stalls on its own copy of ``run`` (kept apart by Yosys), so that no
            # enable net spans all units' registers.
            run_j = Signal(name=f"run_{j}", attrs={"keep": 1})
            m.d.sync += run_j.eq(self.run_next)
            rq = Requant(cfg, en=run_j)
            units.append(rq)
            m.submodules[f"requant_{j}"] = rq
            word = p_near[j * param_bits : (j + 1) * param_bits]
            m.d.comb += [
                rq.i_valid.eq(r_valid & ~r_void),
                rq.i_acc.eq(r_acc[j]),
                rq.i_bias.eq(word[: cfg.acc_bits].as_signed()),
                rq.i_m0.eq(word[cfg.acc_bits : cfg.acc_bits + cfg.mult_bits].as_signed()),
                rq.i_shift.eq(word[cfg.acc_bits + cfg.mult_bits :].as_signed()),
                rq.i_y_zp.eq(self.job_y_zp),
                rq.i_act_min.eq(self.job_act_min),
                rq.i_act_max.eq(self.job_act_max),
            ]
        tag_last, tag_lanes = r_last, r_lanes
        for stage in range(units[0].latency):
            nl, nla = (
                Signal(name=f"tag_last_d{stage + 1}"),
                Signal(cols, name=f"tag_lanes_d{stage + 1}"),
            )
            with m.If(run):
                m.d.sync += [nl.eq(tag_last), nla.eq(tag_lanes)]
            tag_last, tag_lanes = nl, nla

        # ---- output FIFO and stream ----------------------------------------------------------
        fifo = OutFifo(width=cols * ob + 1, depth=self._fifo_depth)
        m.submodules.out_fifo = fifo
        m.d.comb += [
            self.run_next.eq(fifo.level + 3 <= self._fifo_depth),
            self.run2_next.eq(fifo.level + 4 <= self._fifo_depth),
        ]
        m.d.sync += run.eq(self.run_next)
        m.d.comb += [
            fifo.w_en.eq(units[0].o_valid & run),
            fifo.w_data.eq(
                Cat(*[Mux(tag_lanes[j], units[j].o_data, 0)[:ob] for j in range(cols)], tag_last)
            ),
        ]

        # ---- registered output stage (skid buffer) ---------------------------------------------
        # ``out_*`` come from registers, and ``out_tready`` reaches only them: the FIFO's block RAM
        # output and its read logic are off the paths to and from the ports. The FIFO is read
        # whenever the skid register is empty; a word read while the output register is stalled
        # waits in the skid register (upstream then stops until it drained), so no word is lost
        # or duplicated and a full-rate stream stays full-rate.
        o_valid, s_valid = Signal(), Signal()
        o_data, s_data = Signal(cols * ob + 1), Signal(cols * ob + 1)
        take = Signal()
        m.d.comb += [
            fifo.r_en.eq(~s_valid),
            take.eq(fifo.r_rdy & ~s_valid),
        ]
        with m.If(~o_valid | self.out_tready):
            with m.If(s_valid):
                m.d.sync += [o_data.eq(s_data), o_valid.eq(1), s_valid.eq(0)]
            with m.Else():
                m.d.sync += [o_data.eq(fifo.r_data), o_valid.eq(take)]
        with m.Elif(take):
            m.d.sync += [s_data.eq(fifo.r_data), s_valid.eq(1)]
        m.d.comb += [
            self.out_tdata.eq(o_data[: cols * ob]),
            self.out_tlast.eq(o_data[cols * ob]),
            self.out_tvalid.eq(o_valid),
            self.done.eq(o_valid & self.out_tready & o_data[cols * ob]),
        ]

        # ---- release / pending ---------------------------------------------------------------
        # done_r: the count drops a cycle after ``done`` (keeps the counter's adder off the path
        # from ``out_tready``); ``pending`` subtracts it at once.
        count = Signal(range(self._fifo_depth + 64))
        done_r = Signal()
        owes = Signal()  # a released job with output beats
        m.d.comb += [
            self.release.eq(r_valid & r_last & run),
            owes.eq(self.release & ~r_void),
            self.pending.eq(count != done_r),
        ]
        m.d.sync += done_r.eq(self.done)
        with m.If(owes & ~done_r):
            m.d.sync += count.eq(count + 1)
        with m.Elif(~owes & done_r):
            m.d.sync += count.eq(count - 1)
        return m
