"""PartialSums: the partial-sum memory of ``qmac_top``, which carries sums across a K split.

A K longer than one buffer bank is cut into chunks, one job each (docs/PROTOCOL.md, "K split").
The engine computes every job's raw sums as usual; this stage, between the engine's ``res_*`` and
the output path, adds them to what the previous job held and either holds the result for the next
job or passes it on to requantization::

    engine row ──► S0: read psum[row] ──► S1 ──► S2: + held sum ──► S3: write psum[row] ──► OutPath

Per row, with ``cont`` and ``hold`` the ``acc_cont`` / ``acc_hold`` fields of the row's job:

- ``sum = acc + (psum[row] if cont else 0)``;
- ``hold``: ``psum[row] = sum``, and the row goes on as a *void* row (``o_void``) if it is the
  job's last (so that the output path frees the job's slot in order with the other jobs), else
  not at all;
- otherwise the row goes on with ``sum``, to be requantized.

``row`` is the row's index within its job, counted here (rows leave the engine in output-stream
order, so it is ``nb * M + m``; it restarts after each job's last row). Only jobs of a K split
use the memory, so only their ``ceil(N/cols) * M`` must fit ``psum_depth``
(``ArrayConfig.check_job(..., split=True)``); the count of a whole job may wrap harmlessly.

Timing. Every state element is in the ``sync`` domain; the top stalls the stage with
``EnableInserter(run)`` together with the output path, so a row advances one stage per ``run``
cycle and nothing is lost. The memory's output goes into a register (``rd_q``, S1 -> S2) and
nowhere else, which the ECP5 flow moves into the DP16KD output register
(``qmac.synth.bram_outreg``), and the memory is written from registers (S3): a block RAM's
clock-to-output time followed by logic, and logic followed by its setup time, were critical
paths. For the same reason the read port is not transparent (a transparent read is a bypass
multiplexer after the block RAM) and a read on the edge of a write to its entry may return
anything (``no_rw_check``, hw/memories.py). Instead, a row whose entry one of the three rows
ahead of it has not written by the edge of its read gets that row's sum from the S3, S4 or S5
register of every sum (``o_acc``, ``acc4``, ``acc5``); the choice is registered with the read, as
one-hot selects (``cont`` folded in) copied per lane, so the held sum is one AND-OR level before
each lane's adder.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig
from hw.memories import unchecked_memory

__all__ = ["PartialSums", "PSUM_LATENCY", "psum_signature"]

#: Cycles from a row on ``i_*`` to the same row on ``o_*`` (S0 -> S1 -> S2 -> S3).
PSUM_LATENCY = 3


def _row_members(config: ArrayConfig, flow) -> dict:
    return {
        "valid": flow(1),
        "acc": flow(data.ArrayLayout(signed(config.acc_bits), config.cols)),
        "nb": flow(config.dim_bits),
        "bank": flow(1),
        "last": flow(1),
        "lanes": flow(config.cols),
    }


def psum_signature(config: ArrayConfig) -> wiring.Signature:
    """Signature of :class:`PartialSums` (see its docstring for the members)."""
    members = {f"i_{k}": v for k, v in _row_members(config, In).items()}
    members.update({"i_cont": In(1), "i_hold": In(1)})
    members.update({f"o_{k}": v for k, v in _row_members(config, Out).items()})
    members["o_void"] = Out(1)
    return wiring.Signature(members)


class PartialSums(wiring.Component):
    """Read-modify-write of job sums in a ``psum_depth`` x ``cols`` accumulator memory.

    Parameters
    ----------
    config : ArrayConfig
        Supplies ``cols``, ``acc_bits``, ``dim_bits`` and ``psum_depth``.

    Members
    -------
    i_valid, i_acc, i_nb, i_bank, i_last, i_lanes : In
        A result row as the engine gives it (docs/ENGINE.md), taken on each (enabled) cycle with
        ``i_valid`` high; ``i_acc`` is ArrayLayout(signed(acc_bits), cols).
    i_cont, i_hold : In(1)
        ``acc_cont`` and ``acc_hold`` of the row's job (its slot's command), with the row.
    o_valid, o_acc, o_nb, o_bank, o_last, o_lanes : Out
        The row ``PSUM_LATENCY`` cycles later with ``o_acc`` the sum; registers. A held job's
        rows do not appear, except its last row with ``o_void`` high.
    o_void : Out(1)
        The row carries no output (the last row of a job with ``acc_hold``).

    Raises
    ------
    TypeError
        If ``config`` is not an ArrayConfig.
    """

    def __init__(self, config: ArrayConfig) -> None:
        self._MustUse__silence = True  # a rejected instance is not an unused design
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        self._MustUse__silence = False
        self._config = config
        super().__init__(psum_signature(config))

    @property
    def latency(self) -> int:
        """Cycles from ``i_*`` to ``o_*`` (:data:`PSUM_LATENCY`)."""
        return PSUM_LATENCY

    def elaborate(self, platform) -> Module:
        cfg = self._config
        cols = cfg.cols
        idx_bits = max(1, (cfg.psum_depth - 1).bit_length())
        row_layout = data.ArrayLayout(signed(cfg.acc_bits), cols)
        tags = data.StructLayout({
            "valid": 1, "nb": cfg.dim_bits, "bank": 1, "last": 1, "lanes": cols,
            "cont": 1, "hold": 1, "row": idx_bits,
        })
        m = Module()
        m.submodules.mem = mem = unchecked_memory(shape=row_layout, depth=cfg.psum_depth)
        wr = mem.write_port()
        rd = mem.read_port()

        # S0: the row's index within its job; the read of its held sum.
        row = Signal(idx_bits)
        with m.If(self.i_valid):
            m.d.sync += row.eq(Mux(self.i_last, 0, row + 1))
        m.d.comb += [rd.addr.eq(row), rd.en.eq(1)]
        t0 = Signal(tags)
        m.d.comb += [
            t0.valid.eq(self.i_valid), t0.nb.eq(self.i_nb), t0.bank.eq(self.i_bank),
            t0.last.eq(self.i_last), t0.lanes.eq(self.i_lanes), t0.cont.eq(self.i_cont),
            t0.hold.eq(self.i_hold), t0.row.eq(row),
        ]

        # S1 -> S2: the memory word registered, and which sum is the row's latest. A sum is
        # written from S3 (``o_acc``), so the rows one, two and three ahead of this one may not
        # have written theirs when it reads: the row at S2 (its sum is ``o_acc`` next cycle), the
        # row at S3 (``acc4`` then) and the row at S4, which writes on the edge of this row's read
        # (``acc5`` then); the newest wins, else the memory's word.
        t1, t2 = Signal(tags), Signal(tags)
        acc1, acc2 = Signal(row_layout), Signal(row_layout)
        rd_q = Signal(row_layout, reset_less=True)
        acc4, acc5 = Signal(row_layout), Signal(row_layout)
        from_s3, from_s4, from_s5 = Signal(), Signal(), Signal()
        wrote, wrote_row = Signal(), Signal(idx_bits)  # the S3 row's write
        held = Signal(row_layout)
        total = Signal(row_layout)
        writes = Signal()
        m.d.comb += writes.eq(t2.valid & t2.hold)
        # from_s3 = writes & (t2.row == t1.row), from_s4 = wrote & (wrote_row == t1.row) and
        # from_s5 = "the S4 row wrote, to t1.row", registered a stage early from the same rows
        # one stage back (every register here advances on the same cycles).
        m.d.sync += [
            from_s3.eq(t1.valid & t1.hold & (t1.row == t0.row)),
            from_s4.eq(writes & (t2.row == t0.row)),
            from_s5.eq(wrote & (wrote_row == t0.row)),
        ]
        # The choice as one-hot selects with ``cont`` folded in (none for a fresh job), a copy
        # per lane (kept apart by Yosys): one flag driving every bit of every lane's multiplexer
        # was a long net before the adders. Newest first: S3, S4, S5, else the memory's word.
        choices = (
            t1.cont & from_s3,
            t1.cont & ~from_s3 & from_s4,
            t1.cont & ~from_s3 & ~from_s4 & from_s5,
            t1.cont & ~from_s3 & ~from_s4 & ~from_s5,
        )
        for j in range(cols):  # sums stay in acc_bits: ArrayConfig.check_k bounds the whole K
            sel = Signal(4, name=f"held_sel{j}", attrs={"keep": 1})
            m.d.sync += sel.eq(Cat(*choices))
            terms = (self.o_acc[j], acc4[j], acc5[j], rd_q[j])
            width = cfg.acc_bits
            m.d.comb += [
                held[j].eq(
                    (terms[0].as_unsigned() & sel[0].replicate(width))
                    | (terms[1].as_unsigned() & sel[1].replicate(width))
                    | (terms[2].as_unsigned() & sel[2].replicate(width))
                    | (terms[3].as_unsigned() & sel[3].replicate(width))
                ),
                total[j].eq(acc2[j] + held[j]),
            ]
        m.d.sync += [
            t1.eq(t0), acc1.eq(self.i_acc),
            t2.eq(t1), acc2.eq(acc1),
            rd_q.eq(rd.data),
            wrote.eq(writes), wrote_row.eq(t2.row),
            acc4.eq(self.o_acc), acc5.eq(acc4),
        ]

        # S2: the sum; S3: the output registers, and the write of a held job's sum from them.
        m.d.sync += [
            self.o_valid.eq(t2.valid & (~t2.hold | t2.last)),
            self.o_void.eq(t2.hold),
            self.o_acc.eq(total),
            self.o_nb.eq(t2.nb),
            self.o_bank.eq(t2.bank),
            self.o_last.eq(t2.last),
            self.o_lanes.eq(t2.lanes),
        ]
        m.d.comb += [wr.addr.eq(wrote_row), wr.data.eq(self.o_acc), wr.en.eq(wrote)]
        return m
