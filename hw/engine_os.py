"""OSEngine: the output-stationary dataflow engine (sequencer, zero-point edge, skew, mesh, deskew).

Interface and stall rules: docs/ENGINE.md (signature ``hw.engine.engine_signature``).

Sequencing. A job is a sequence of folds, ``nb`` (column block, outer) then ``mb`` (row block,
inner). A fold reads ``K`` consecutive words from each buffer, one per cycle (activation word
``mb*K + k``, weight word ``nb*K + k``), so all ``rows x cols`` PEs do one MAC per cycle. Folds
start every ``fold_cycles(K) = max(K, rows)`` cycles: with ``K >= rows`` there is no bubble between
folds (the mesh drains a fold while it accumulates the next), with ``K < rows`` the sequencer waits
for the drain chains. The next job's first fold follows the previous job's last fold without a
bubble when its ``start`` arrives by the last cycle of that fold (``idle`` is already high then),
unless its K is smaller: the drain chains need the last words of consecutive folds at least
``rows`` cycles apart, so the first fold of a job waits up to ``rows - K`` cycles.

Datapath, from the cycle ``s`` on which a word's address is on ``a_addr``/``w_addr``::

    s      address out (read enable)
    s + 1  buffer data in (block RAM output)
    s + 2  buffer word registered
    s + 3  registered x - x_zp (zero for rows outside M) and weights (zero for columns outside N)
    s + 3 + i / + j   enters mesh row i / column j (skew)

Row ``r`` of a fold leaves on ``res_acc`` at ``s_last + out_latency + r``, where ``s_last`` is the
cycle its last word (``k = K - 1``) was addressed and ``out_latency = 3 + mesh.drain_latency + cols
- 1 = rows + cols + pe_pipeline + 4``. The tags of the row (``nb``, ``bank``, ``last``, ``lanes``)
are computed by the sequencer at ``s_last`` and delayed by the same amount; rows beyond M are not
emitted.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring

from hw.config import ArrayConfig
from hw.engine import engine_signature
from hw.mesh_os import OSMesh
from hw.skew import Skew

__all__ = ["OSEngine"]

#: Cycles from an address to the registered, zero-point-corrected operands at the skew input.
EDGE_LATENCY = 3


class OSEngine(wiring.Component):
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

    def __init__(self, config: ArrayConfig) -> None:
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        self._config = config
        super().__init__(engine_signature(config))

    @property
    def config(self) -> ArrayConfig:
        return self._config

    @property
    def sequential_reads(self) -> bool:
        """True: within a job each read index is at most the previous one + 1 (QmacTop relies on
        it to register its "word already loaded" check)."""
        return True

    @property
    def out_latency(self) -> int:
        """Cycles from addressing a fold's last word to its row 0 on ``res_acc``."""
        cfg = self._config
        return EDGE_LATENCY + (cfg.rows - 1 + cfg.pe_pipeline + 3) + cfg.cols - 1

    def fold_cycles(self, k: int) -> int:
        """Cycles between the starts of consecutive folds of a job with reduction length ``k``."""
        return max(k, self._config.rows)

    def job_cycles(self, m: int, k: int, n: int) -> int:
        """Cycles from the ``start`` cycle to the job's last result row, both included."""
        cfg = self._config
        folds = -(-m // cfg.rows) * -(-n // cfg.cols)
        last_rows = m - (-(-m // cfg.rows) - 1) * cfg.rows
        return 1 + (folds - 1) * self.fold_cycles(k) + (k - 1) + self.out_latency + last_rows

    def elaborate(self, platform) -> Module:
        cfg = self._config
        rows, cols = cfg.rows, cfg.cols
        dim = cfg.dim_bits
        a_idx_bits = (cfg.a_buf_depth - 1).bit_length()
        w_idx_bits = (cfg.w_buf_depth - 1).bit_length()
        m = Module()

        # ---- sequencer ------------------------------------------------------------------
        running = Signal()
        bank = Signal()
        job_k = Signal(dim)
        job_m = Signal(dim)
        job_n = Signal(dim)
        x_zp = Signal(signed(cfg.a_bits))
        s_last = Signal(dim)  # fold_cycles(K) - 1
        k = Signal(dim)
        m_left = Signal(dim)  # M - mb * rows
        n_left = Signal(dim)  # N - nb * cols
        nb = Signal(dim)
        a_base = Signal(dim + 1)
        w_base = Signal(dim + 1)

        # Cycles since the last word of the previous fold was addressed (saturating at rows). The
        # drain chains need fold *ends* at least rows cycles apart; within a job the fold period
        # max(K, rows) guarantees it, across jobs with different K a fold start may have to wait.
        since_end = Signal(range(rows + 1), init=rows)
        need = Signal(range(rows + 1))  # a fold may start once since_end >= rows + 1 - K
        # Registered copies of values otherwise computed from k (a_base + k, k < K, k == 0), so
        # that the read addresses and enables come straight from registers: the top compares them
        # with its loaders' progress to stall the engine, a path that ends at every enable.
        a_idx = Signal(a_idx_bits)
        w_idx = Signal(w_idx_bits)
        in_fold = Signal()
        k_zero = Signal(init=1)
        wait = Signal()
        issue = Signal()
        k_last = Signal()
        last_mb = Signal()
        last_nb = Signal()
        fold_end = Signal()
        m.d.comb += [
            wait.eq(k_zero & (since_end < need)),
            issue.eq(running & in_fold & ~wait),
            k_last.eq(k == job_k - 1),
            last_mb.eq(m_left <= rows),
            last_nb.eq(n_left <= cols),
            fold_end.eq(running & ~wait & (k == s_last)),
            self.a_en.eq(issue),
            self.w_en.eq(issue),
            self.a_addr.eq(Cat(a_idx, bank)),
            self.w_addr.eq(Cat(w_idx, bank)),
            self.released.eq(issue & k_last & last_mb & last_nb),
            self.idle.eq(~running | (fold_end & last_mb & last_nb)),
        ]
        with m.If(issue & k_last):
            m.d.sync += since_end.eq(1)
        with m.Elif(since_end != rows):
            m.d.sync += since_end.eq(since_end + 1)
        with m.If(running & ~wait):
            with m.If(k == s_last):
                m.d.sync += [k.eq(0), k_zero.eq(1), in_fold.eq(1), w_idx.eq(w_base)]
                with m.If(last_mb):
                    m.d.sync += [m_left.eq(job_m), a_base.eq(0), a_idx.eq(0)]
                    with m.If(last_nb):
                        m.d.sync += running.eq(0)
                    with m.Else():
                        m.d.sync += [
                            n_left.eq(n_left - cols),
                            nb.eq(nb + 1),
                            w_base.eq(w_base + job_k),
                            w_idx.eq(w_base + job_k),
                        ]
                with m.Else():
                    m.d.sync += [
                        m_left.eq(m_left - rows),
                        a_base.eq(a_base + job_k),
                        a_idx.eq(a_base + job_k),
                    ]
            with m.Else():
                m.d.sync += [
                    k.eq(k + 1),
                    k_zero.eq(0),
                    in_fold.eq(in_fold & ~k_last),
                    a_idx.eq(a_idx + 1),
                    w_idx.eq(w_idx + 1),
                ]
        with m.If(self.start & self.idle):
            m.d.sync += [
                running.eq(1),
                bank.eq(self.job_bank),
                job_k.eq(self.job_k),
                job_m.eq(self.job_m),
                job_n.eq(self.job_n),
                x_zp.eq(self.job_x_zp),
                s_last.eq(Mux(self.job_k > rows, self.job_k, rows) - 1),
                k.eq(0),
                m_left.eq(self.job_m),
                n_left.eq(self.job_n),
                nb.eq(0),
                a_base.eq(0),
                w_base.eq(0),
                a_idx.eq(0),
                w_idx.eq(0),
                in_fold.eq(1),
                k_zero.eq(1),
                need.eq(Mux(self.job_k > rows, 0, rows + 1 - self.job_k)),
            ]

        # ---- zero-point edge: s -> s + 1 (flags) -> s + 2 (words) -> s + 3 (operands) ------
        row_mask = Signal(rows)
        col_mask = Signal(cols)
        m.d.comb += [
            row_mask.eq(Cat(*[m_left > i for i in range(rows)])),
            col_mask.eq(Cat(*[n_left > j for j in range(cols)])),
        ]
        v1, first1, last1 = Signal(), Signal(), Signal()
        rmask1, cmask1 = Signal(rows), Signal(cols)
        xzp1 = Signal(signed(cfg.a_bits))
        m.d.sync += [
            v1.eq(issue),
            first1.eq(k == 0),
            last1.eq(k_last),
            rmask1.eq(row_mask),
            cmask1.eq(col_mask),
            xzp1.eq(x_zp),
        ]
        # Buffer words are registered before the subtraction: a block RAM's clock-to-output time
        # (ECP5 DP16KD without output register) plus the subtractor was the critical path.
        v2, first2, last2 = Signal(), Signal(), Signal()
        rmask2, cmask2 = Signal(rows), Signal(cols)
        xzp2 = Signal(signed(cfg.a_bits))
        a_word = Signal.like(self.a_data)
        w_word = Signal.like(self.w_data)
        m.d.sync += [
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
        m.submodules.a_skew = a_skew = Skew(rows, lane)
        m.submodules.w_skew = w_skew = Skew(cols, signed(cfg.w_bits))
        for i in range(rows):
            a_i = a_word[i * cfg.a_bits : (i + 1) * cfg.a_bits].as_signed()
            m.d.sync += [
                a_skew.i_data[i].d.eq(Mux(rmask2[i], a_i - xzp2, 0)),
                a_skew.i_data[i].first.eq(v2 & first2),
                a_skew.i_data[i].last.eq(v2 & last2),
            ]
        for j in range(cols):
            w_j = w_word[j * cfg.w_bits : (j + 1) * cfg.w_bits].as_signed()
            m.d.sync += w_skew.i_data[j].eq(Mux(cmask2[j], w_j, 0))

        # ---- mesh and deskew ----------------------------------------------------------------
        m.submodules.mesh = mesh = OSMesh(cfg)
        for i in range(rows):
            m.d.comb += [
                mesh.a_in[i].eq(a_skew.o_data[i].d),
                mesh.first_in[i].eq(a_skew.o_data[i].first),
                mesh.last_in[i].eq(a_skew.o_data[i].last),
            ]
        m.d.comb += mesh.w_in.eq(w_skew.o_data)
        m.submodules.deskew = deskew = Skew(cols, signed(cfg.acc_bits), reverse=True)
        m.d.comb += [deskew.i_data.eq(mesh.col_out), self.res_acc.eq(deskew.o_data)]

        # ---- row tags: fold descriptor delayed to row 0's arrival, then one row per cycle ---
        desc = data.StructLayout(
            {
                "valid": 1,
                "nb": dim,
                "bank": 1,
                "last": 1,
                "nrows": range(rows + 1),
                "lanes": cols,
            }
        )
        d_in = Signal(desc)
        m.d.comb += [
            d_in.valid.eq(issue & k_last),
            d_in.nb.eq(nb),
            d_in.bank.eq(bank),
            d_in.last.eq(last_mb & last_nb),
            d_in.nrows.eq(Mux(last_mb, m_left, rows)),
            d_in.lanes.eq(col_mask),
        ]
        prev = d_in
        for stage in range(self.out_latency - 1):
            nxt = Signal(desc, name=f"desc_d{stage + 1}")
            m.d.sync += nxt.eq(prev)
            prev = nxt
        e_active = Signal()
        e_r = Signal(range(rows + 1))
        e = Signal(desc)
        with m.If(prev.valid):
            m.d.sync += [e_active.eq(1), e_r.eq(0), e.eq(prev)]
        with m.Elif(e_active):
            m.d.sync += e_r.eq(e_r + 1)
            with m.If(e_r == rows - 1):
                m.d.sync += e_active.eq(0)
        m.d.comb += [
            self.res_valid.eq(e_active & (e_r < e.nrows)),
            self.res_last.eq(e.last & (e_r == e.nrows - 1)),
            self.res_nb.eq(e.nb),
            self.res_bank.eq(e.bank),
            self.res_lanes.eq(e.lanes),
        ]
        return m
