"""OSEngine: the output-stationary dataflow engine (sequencer, zero-point edge, skew, mesh, deskew).

Interface and stall rules: docs/ENGINE.md (signature ``hw.engine.engine_signature``).

Sequencing (``hw.sequencer_os.OSSequencer``). A job is a sequence of folds, ``nb`` (column block,
outer) then ``mb`` (row block, inner). A fold reads ``K`` consecutive words from each buffer, one
per cycle, so all ``rows x cols`` PEs do one MAC per cycle; folds start every
``fold_period(M, K) = max(K, rows)`` cycles.

Datapath, from the cycle ``s`` on which a word's address is on ``a_addr``/``w_addr``::

    s      address out (read enable)
    s + 1  buffer data in (block RAM output)
    s + 2  buffer word registered
    s + 3  registered x - x_zp (zero for rows outside M) and weights (zero for columns outside N)
    s + 3 + i / + j   leaves the skew for row i / column j
    s + 4 + i / + j   enters mesh row i / column j (the back's input stage, below)

Row ``r`` of a fold leaves on ``res_acc`` at ``s_last + result_latency + r``, where ``s_last`` is
the cycle its last word (``k = K - 1``) was addressed and ``result_latency = 3 + BACK_LAG +
mesh.drain_latency + cols - 1 = rows + cols + pe_pipeline + 5``. The tags of the row (``nb``,
``bank``, ``last``, ``lanes``) are computed by the sequencer at ``s_last`` and delayed by the same
amount; rows beyond M are not emitted.

Two enables. The engine is not wrapped in an ``EnableInserter`` by its parent: it applies its
stall enable ``en`` itself, in two halves. The front (sequencer, zero-point edge, skews) runs on
``en``. The back (mesh, deskew, row tags) runs ``BACK_LAG = 1`` cycle behind, on ``en_back``, a
register copy of ``en``, and takes its inputs through one register stage that loads on every cycle
(``back_*``). So the back's state on cycle ``t + 1`` is what it would have been on cycle ``t``
with one enable: its rows are the same, one cycle later, and are taken on the cycles ``en`` was
high one cycle before (``Engine.back_lag``). The back is most of the engine's flip-flops (the
mesh's, and the clock enables of its DSP blocks), so its enable is a flip-flop one short hop from
``en``, and ``en``'s own next-state logic, which the parent computes from the front's state, drives
only the front.
"""

from __future__ import annotations

from amaranth.hdl import Const, EnableInserter, Module, Mux, Signal, signed
from amaranth.lib import data

from hw.engine import Engine
from hw.mesh_os import OSMesh
from hw.sequencer_os import OSSequencer, fold_layout, job_plan
from hw.skew import Skew

__all__ = ["OSEngine"]

#: Cycles from an address to the registered, zero-point-corrected operands at the skew input.
EDGE_LATENCY = 3
#: Cycles by which the back (mesh, deskew, row tags) follows the front (module docstring).
BACK_LAG = 1


class OSEngine(Engine):
    """Output-stationary engine: reads a job's words from the buffers, emits result rows in order.

    Parameters
    ----------
    config : ArrayConfig
        The array (``dataflow`` is not checked, so tests may build either engine for one config).

    Members
    -------
    See docs/ENGINE.md (``hw.engine.engine_signature(config)``).

    Raises
    ------
    TypeError
        If ``config`` is not an ArrayConfig.
    """

    sequential_reads = True
    reads_ahead = True
    back_lag = BACK_LAG

    @property
    def stream_start_penalty(self) -> int:
        """1: the top's registered "word loaded" check holds a streaming job's first read."""
        return 1

    @property
    def result_latency(self) -> int:
        """Cycles from addressing a fold's last word to its row 0 on ``res_acc``."""
        cfg = self._config
        return EDGE_LATENCY + BACK_LAG + (cfg.rows - 1 + cfg.pe_pipeline + 3) + cfg.cols - 1

    @property
    def job_plan_fields(self) -> dict:
        """The sequencer's start-time values (:func:`hw.sequencer_os.job_plan`)."""
        return job_plan(self._config)

    def fold_period(self, m: int, k: int) -> int:
        """Cycles between the starts of consecutive folds: ``max(k, rows)`` (M does not matter)."""
        return max(k, self._config.rows)

    def job_cycles(self, m: int, k: int, n: int) -> int:
        """Cycles from the ``start`` cycle to the job's last result row, both included."""
        cfg = self._config
        folds = -(-m // cfg.rows) * -(-n // cfg.cols)
        last_rows = m - (-(-m // cfg.rows) - 1) * cfg.rows
        return 1 + (folds - 1) * self.fold_period(m, k) + (k - 1) + self.result_latency + last_rows

    @property
    def latencies(self) -> dict[str, int]:
        return {"result": self.result_latency}

    def elaborate(self, platform) -> Module:
        m = Module()
        en = Const(1) if self._en is None else self._en
        # The back's enable: a copy of en one cycle late, kept apart from any equal register.
        en_back = Signal(name="en_back", attrs={"keep": 1})
        m.d.sync += en_back.eq(en)
        seq = OSSequencer(self._config)
        m.submodules.seq = EnableInserter(en)(seq)
        self._connect_job(m, seq)
        m.d.comb += [
            self.a_en.eq(seq.issue),
            self.w_en.eq(seq.issue),
            self.a_en_next.eq(seq.issue_next),
            self.w_en_next.eq(seq.issue_next),
            self.a_addr_next.eq(seq.a_addr_next),
            self.w_addr_next.eq(seq.w_addr_next),
        ]
        a_skew, w_skew = self._edge(m, seq, en)
        self._mesh(m, a_skew, w_skew, en_back)
        self._row_tags(m, seq, en_back)
        return m

    def _edge(self, m: Module, seq: OSSequencer, en) -> tuple[Skew, Skew]:
        """Zero-point edge: s -> s + 1 (flags) -> s + 2 (words) -> s + 3 (operands), then skew.

        All of it runs on ``en`` (the front)."""
        cfg = self._config
        rows, cols = cfg.rows, cfg.cols
        edge = Module()
        m.submodules.edge = EnableInserter(en)(edge)
        v1, first1, last1 = Signal(), Signal(), Signal()
        rmask1, cmask1 = Signal(rows), Signal(cols)
        xzp1 = Signal(signed(cfg.a_bits))
        edge.d.sync += [
            v1.eq(seq.issue),
            first1.eq(seq.first),
            last1.eq(seq.last),
            rmask1.eq(seq.row_mask),
            cmask1.eq(seq.col_mask),
            xzp1.eq(seq.x_zp),
        ]
        # Buffer words are registered before the subtraction, with nothing between the block RAM
        # and the register: on ECP5 that register becomes the DP16KD's own output register
        # (qmac.synth.bram_outreg), whose clock-to-output time is 0.97 ns instead of 5.6 ns.
        v2, first2, last2 = Signal(), Signal(), Signal()
        rmask2, cmask2 = Signal(rows), Signal(cols)
        xzp2 = Signal(signed(cfg.a_bits))
        a_word = Signal.like(self.a_data, reset_less=True)
        w_word = Signal.like(self.w_data, reset_less=True)
        edge.d.sync += [
            v2.eq(v1),
            first2.eq(first1),
            last2.eq(last1),
            rmask2.eq(rmask1),
            cmask2.eq(cmask1),
            xzp2.eq(xzp1),
            a_word.eq(self.a_data),
            w_word.eq(self.w_data),
        ]
        lane = data.StructLayout({"d": signed(cfg.diff_bits), "first": 1, "last": 1})
        a_skew = Skew(rows, lane)
        w_skew = Skew(cols, signed(cfg.w_bits))
        m.submodules.a_skew = EnableInserter(en)(a_skew)
        m.submodules.w_skew = EnableInserter(en)(w_skew)
        for i in range(rows):
            a_i = a_word[i * cfg.a_bits : (i + 1) * cfg.a_bits].as_signed()
            edge.d.sync += [
                a_skew.i_data[i].d.eq(Mux(rmask2[i], a_i - xzp2, 0)),
                a_skew.i_data[i].first.eq(v2 & first2),
                a_skew.i_data[i].last.eq(v2 & last2),
            ]
        for j in range(cols):
            w_j = w_word[j * cfg.w_bits : (j + 1) * cfg.w_bits].as_signed()
            edge.d.sync += w_skew.i_data[j].eq(Mux(cmask2[j], w_j, 0))
        return a_skew, w_skew

    def _mesh(self, m: Module, a_skew: Skew, w_skew: Skew, en_back) -> None:
        """Mesh fed by the skews through the back's input stage, its column outputs deskewed into
        rows on ``res_acc``; the mesh and the deskew run on ``en_back``."""
        cfg = self._config
        # The back's input stage loads on every cycle (the engine's own module has no enable).
        a_in = Signal.like(a_skew.o_data, name="back_a", reset_less=True)
        w_in = Signal.like(w_skew.o_data, name="back_w", reset_less=True)
        m.d.sync += [a_in.eq(a_skew.o_data), w_in.eq(w_skew.o_data)]
        m.submodules.mesh = mesh = OSMesh(cfg, en=en_back)
        for i in range(cfg.rows):
            m.d.comb += [
                mesh.a_in[i].eq(a_in[i].d),
                mesh.first_in[i].eq(a_in[i].first),
                mesh.last_in[i].eq(a_in[i].last),
            ]
        m.d.comb += mesh.w_in.eq(w_in)
        deskew = Skew(cfg.cols, signed(cfg.acc_bits), reverse=True)
        m.submodules.deskew = EnableInserter(en_back)(deskew)
        m.d.comb += [deskew.i_data.eq(mesh.col_out), self.res_acc.eq(deskew.o_data)]

    def _row_tags(self, m: Module, seq: OSSequencer, en_back) -> None:
        """Fold tags delayed to row 0's arrival, then one result row per cycle.

        The fold descriptor enters the back through a register that loads on every cycle, like
        the mesh's operands; the rest runs on ``en_back``."""
        cfg = self._config
        desc = fold_layout(cfg)
        tags = Module()
        m.submodules.tags = EnableInserter(en_back)(tags)
        prev = Signal(desc, name="back_fold")
        m.d.sync += prev.eq(seq.fold)
        for stage in range(self.result_latency - 1 - BACK_LAG):
            nxt = Signal(desc, name=f"desc_d{stage + 1}")
            tags.d.sync += nxt.eq(prev)
            prev = nxt
        e_active = Signal()
        e_r = Signal(range(cfg.rows + 1))
        e = Signal(desc)
        # res_valid = e_active & (e_r < e.nrows) and res_last = e.last & (e_r == e.nrows - 1),
        # registered from the next values of their terms: the row flags feed the top's counters.
        valid, last = Signal(name="row_valid"), Signal(name="row_last")
        with tags.If(prev.valid):
            tags.d.sync += [
                e_active.eq(1), e_r.eq(0), e.eq(prev),
                valid.eq(prev.nrows > 0), last.eq(prev.last & (prev.nrows == 1)),
            ]
        with tags.Elif(e_active):
            tags.d.sync += [
                e_r.eq(e_r + 1),
                valid.eq((e_r != cfg.rows - 1) & (e_r + 1 < e.nrows)),
                last.eq(e.last & (e_r + 2 == e.nrows)),
            ]
            with tags.If(e_r == cfg.rows - 1):
                tags.d.sync += e_active.eq(0)
        m.d.comb += [
            self.res_valid.eq(valid),
            self.res_last.eq(last),
            self.res_nb.eq(e.nb),
            self.res_bank.eq(e.bank),
            self.res_lanes.eq(e.lanes),
        ]
