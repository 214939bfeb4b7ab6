"""WSEngine: the weight-stationary dataflow engine (fold sequencing, skew, mesh, accumulator).

A job ``M x K x N`` is cut into folds ``(nb, kb)``, ``nb`` outer, ``kb`` inner: fold ``(nb, kb)``
keeps the weight tile ``W[kb*R:(kb+1)*R, nb*C:(nb+1)*C]`` (zeros outside K and N) in the mesh
while the ``M`` activation words ``kb*M + m`` stream through it, one per cycle. Column ``j``'s
bottom emits the partial sum ``sum_i W[kb*R+i, nb*C+j] * (A[m, kb*R+i] - x_zp)`` for each ``m``;
the deskew realigns the columns into rows, and the accumulator memory sums the rows over ``kb``
(``kb == 0`` writes, later ``kb`` add); at the last ``kb`` the sum leaves as result row ``m`` of
column block ``nb``.

Two units share the fold sequence (of this job and the next one):

- the *preload* unit reads the ``R`` weight rows of a fold (one per cycle) and sends them down the
  columns (lane ``j`` skewed by ``j`` cycles) into the PEs' shadow registers;
- the *stream* unit reads the fold's ``M`` activation words; the switch flag travelling with the
  first word's wave makes each PE adopt its shadow weight exactly for that word.

The preload of a fold may start on the cycle the stream unit starts the previous fold, and the
stream of a fold may start ``R`` cycles after its preload started, so folds follow each other
every ``max(M, R)`` cycles: no bubble when ``M >= R``. The first fold of the next job is preloaded
while the last fold of the current job streams, so jobs follow each other without a bubble too
when ``start`` arrives while ``idle`` is high.

Timing (all in enabled cycles of the ``sync`` domain; the top stalls the engine with
``EnableInserter(run)`` and gates the buffer read ports with ``run``):

- ``start`` is taken on a cycle with ``idle`` high; the first weight row is read on the next cycle;
- activation word read on cycle ``c`` -> its deskewed partial-sum row on cycle
  ``c + row_latency`` -> its result row (if its fold is the last ``kb``) on ``res_*`` at
  ``c + result_latency``;
- ``res_*`` are registers: a row is delivered on each enabled cycle with ``res_valid`` high;
- ``released`` pulses on the cycle after the job's last activation read.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory

from hw.config import ArrayConfig
from hw.engine import engine_signature
from hw.mesh_ws import WSMesh
from hw.pe_ws import row_index_shape
from hw.skew import Skew

__all__ = ["WSEngine"]


class WSEngine(wiring.Component):
    """Weight-stationary engine with the signature of ``hw.engine.engine_signature(config)``.

    Parameters
    ----------
    config : ArrayConfig
        A ``dataflow="ws"`` configuration. Uses ``rows``, ``cols``, widths, ``pe_pipeline``,
        ``a_buf_depth``, ``w_buf_depth`` and ``acc_depth`` (accumulator rows, i.e. the largest M).

    Members
    -------
    See ``docs/ENGINE.md``; timing as in the module docstring.

    Raises
    ------
    TypeError
        If ``config`` is not an ArrayConfig.
    ValueError
        If ``config.dataflow`` is not ``"ws"``.
    """

    def __init__(self, config: ArrayConfig) -> None:
        self._MustUse__silence = True   # a rejected instance is not an unused design
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        if config.dataflow != "ws":
            raise ValueError(f"config.dataflow must be 'ws', not {config.dataflow!r}")
        self._MustUse__silence = False
        self._config = config
        super().__init__(engine_signature(config))

    @property
    def config(self) -> ArrayConfig:
        return self._config

    @property
    def preload_cycles(self) -> int:
        """Cycles the preload unit spends on one fold (one weight row per cycle): ``rows``."""
        return self._config.rows

    @property
    def row_latency(self) -> int:
        """Cycles from an activation read (``a_en``) to its deskewed partial-sum row.

        1 (buffer read) + ``rows + cols - 1 + pe_pipeline + 1`` (mesh and deskew).
        """
        cfg = self._config
        return cfg.rows + cfg.cols + cfg.pe_pipeline + 1

    @property
    def result_latency(self) -> int:
        """Cycles from an activation read to its result row on ``res_*`` (accumulator: 2 more)."""
        return self.row_latency + 2

    def fold_period(self, m: int) -> int:
        """Cycles between the starts of consecutive folds of a job with ``M = m``.

        ``max(m, rows)``: a fold streams ``m`` words, and the next fold's ``rows`` weight rows are
        read while it streams.
        """
        return max(m, self._config.rows)

    def job_cycles(self, m: int, k: int, n: int) -> int:
        """Enabled cycles from the cycle ``start`` is taken to the last result row of a lone job.

        ``rows + 1`` (first preload) + ``(folds - 1) * fold_period(m) + m - 1`` (streams)
        + ``result_latency``, with ``folds = ceil(n / cols) * ceil(k / rows)``.
        """
        self._config.check_job(m, k, n)
        cfg = self._config
        folds = -(-n // cfg.cols) * -(-k // cfg.rows)
        return cfg.rows + 1 + (folds - 1) * self.fold_period(m) + m - 1 + self.result_latency

    def elaborate(self, platform) -> Module:
        m = Module()
        cfg = self._config
        R, C, dim = cfg.rows, cfg.cols, cfg.dim_bits
        a_lo = cfg.a_buf_depth.bit_length() - 1
        w_lo = cfg.w_buf_depth.bit_length() - 1

        # ---- preload unit: the fold (nb, kb) being preloaded, or preloaded and waiting ---------
        w_busy = Signal()            # holds a fold
        w_loaded = Signal()          # all R weight rows of the fold have been read
        w_row = Signal(row_index_shape(cfg))
        j_m, j_k, j_n = Signal(dim), Signal(dim), Signal(dim)
        j_zp = Signal(signed(cfg.a_bits))
        j_bank = Signal()
        nb = Signal(dim)
        nb_c = Signal(dim + 8)       # nb * C
        nb_k = Signal(2 * dim)       # nb * K, weight word base of the column block
        kb_r = Signal(dim + 8)       # kb * R, first k of the fold
        kb_m = Signal(2 * dim)       # kb * M, activation word base of the fold

        k_left = Signal(dim + 1)     # K - kb*R >= 1
        n_left = Signal(dim + 1)     # N - nb*C >= 1
        m.d.comb += [k_left.eq(j_k - kb_r), n_left.eq(j_n - nb_c)]
        lanes = Signal(C)            # lane j of the tile is inside N
        m.d.comb += [lanes[j].eq(n_left > j) for j in range(C)]
        kb_last = k_left <= R
        fold_last = kb_last & (n_left <= C)

        w_reading = w_busy & ~w_loaded
        w_row_last = w_row == R - 1
        w_ready = w_busy & (w_loaded | (w_reading & w_row_last))
        m.d.comb += [
            self.w_en.eq(w_reading & (k_left > w_row)),
            self.w_addr.eq(Cat((nb_k + kb_r + w_row)[:w_lo], j_bank)),
        ]
        with m.If(w_reading):
            m.d.sync += w_row.eq(w_row + 1)
            with m.If(w_row_last):
                m.d.sync += [w_row.eq(0), w_loaded.eq(1)]

        # ---- stream unit: the fold whose activations are being read ------------------------
        a_busy = Signal()
        a_m = Signal(dim)
        a_mm = Signal(dim)
        a_base = Signal(2 * dim)
        a_bank = Signal()
        a_zp = Signal(signed(cfg.a_bits))
        a_lanes = Signal(C)
        a_nb = Signal(dim)
        a_kfirst = Signal()
        a_klast = Signal()
        a_flast = Signal()           # last fold of its job

        a_last_read = a_busy & (a_m == a_mm - 1)
        take = w_ready & (~a_busy | a_last_read)
        m.d.comb += [
            self.a_en.eq(a_busy),
            self.a_addr.eq(Cat((a_base + a_m)[:a_lo], a_bank)),
            self.idle.eq(~w_busy | (take & fold_last)),
        ]
        m.d.sync += self.released.eq(a_last_read & a_flast)
        with m.If(a_busy):
            m.d.sync += a_m.eq(a_m + 1)
            with m.If(a_last_read):
                m.d.sync += a_busy.eq(0)

        with m.If(take):
            m.d.sync += [
                a_busy.eq(1), a_m.eq(0), a_mm.eq(j_m), a_base.eq(kb_m), a_bank.eq(j_bank),
                a_zp.eq(j_zp), a_lanes.eq(lanes), a_nb.eq(nb),
                a_kfirst.eq(kb_r == 0), a_klast.eq(kb_last), a_flast.eq(fold_last),
                w_loaded.eq(0), w_row.eq(0),
            ]
            with m.If(fold_last):
                m.d.sync += w_busy.eq(0)
            with m.Elif(kb_last):
                m.d.sync += [
                    kb_r.eq(0), kb_m.eq(0),
                    nb.eq(nb + 1), nb_c.eq(nb_c + C), nb_k.eq(nb_k + j_k),
                ]
            with m.Else():
                m.d.sync += [kb_r.eq(kb_r + R), kb_m.eq(kb_m + j_m)]

        with m.If(self.start & self.idle):
            m.d.sync += [
                w_busy.eq(1), w_loaded.eq(0), w_row.eq(0),
                j_m.eq(self.job_m), j_k.eq(self.job_k), j_n.eq(self.job_n),
                j_zp.eq(self.job_x_zp), j_bank.eq(self.job_bank),
                nb.eq(0), nb_c.eq(0), nb_k.eq(0), kb_r.eq(0), kb_m.eq(0),
            ]

        # ---- weights: read data -> mask -> column skew -> mesh top ----------------------------
        m.submodules.mesh = mesh = WSMesh(cfg)
        w_lane = data.StructLayout({"w": signed(cfg.w_bits), "v": 1, "idx": row_index_shape(cfg)})
        m.submodules.w_skew = w_skew = Skew(C, w_lane)
        wv1 = Signal()
        widx1 = Signal(row_index_shape(cfg))
        wok1 = Signal(C)
        m.d.sync += [wv1.eq(w_reading), widx1.eq(w_row)]
        m.d.sync += [wok1[j].eq(lanes[j] & (k_left > w_row)) for j in range(C)]
        w_words = data.ArrayLayout(signed(cfg.w_bits), C)(self.w_data)
        for j in range(C):
            m.d.comb += [
                w_skew.i_data[j].w.eq(Mux(wok1[j], w_words[j], 0)),
                w_skew.i_data[j].v.eq(wv1),
                w_skew.i_data[j].idx.eq(widx1),
                mesh.w_in[j].eq(w_skew.o_data[j].w),
                mesh.wv_in[j].eq(w_skew.o_data[j].v),
                mesh.widx_in[j].eq(w_skew.o_data[j].idx),
            ]

        # ---- activations: read data -> x - x_zp -> row skew -> mesh left ----------------------
        # Lanes outside K need no masking: their weights in the mesh are 0.
        x_lane = data.StructLayout({"x": signed(cfg.diff_bits), "sw": 1})
        m.submodules.x_skew = x_skew = Skew(R, x_lane)
        sw1 = Signal()
        zp1 = Signal(signed(cfg.a_bits))
        m.d.sync += [sw1.eq(a_busy & (a_m == 0)), zp1.eq(a_zp)]
        a_words = data.ArrayLayout(signed(cfg.a_bits), R)(self.a_data)
        for i in range(R):
            m.d.comb += [
                x_skew.i_data[i].x.eq(a_words[i] - zp1),
                x_skew.i_data[i].sw.eq(sw1),
                mesh.x_in[i].eq(x_skew.o_data[i].x),
                mesh.sw_in[i].eq(x_skew.o_data[i].sw),
            ]

        # ---- row bookkeeping travels beside the mesh: row_latency registers ---------------------
        meta_layout = data.StructLayout({
            "valid": 1, "m": dim, "nb": dim, "bank": 1, "kfirst": 1, "klast": 1, "last": 1,
            "lanes": C,
        })
        meta = Signal(meta_layout)
        m.d.comb += [
            meta.valid.eq(a_busy), meta.m.eq(a_m), meta.nb.eq(a_nb), meta.bank.eq(a_bank),
            meta.kfirst.eq(a_kfirst), meta.klast.eq(a_klast), meta.last.eq(a_last_read & a_flast),
            meta.lanes.eq(a_lanes),
        ]
        for stage in range(self.row_latency):
            nxt = Signal(meta_layout, name=f"meta_d{stage + 1}")
            m.d.sync += nxt.eq(meta)
            meta = nxt

        # ---- deskew the column sums into rows --------------------------------------------------
        m.submodules.deskew = deskew = Skew(C, signed(cfg.acc_bits), reverse=True)
        m.d.comb += deskew.i_data.eq(mesh.psum_out)
        psum_row = deskew.o_data

        # ---- accumulator: read-modify-write over kb, one row per cycle -------------------------
        row_layout = data.ArrayLayout(signed(cfg.acc_bits), C)
        m.submodules.acc_mem = acc_mem = Memory(shape=row_layout, depth=cfg.acc_depth, init=[])
        acc_wr = acc_mem.write_port()
        acc_rd = acc_mem.read_port(transparent_for=(acc_wr,))
        acc_lo = max(cfg.acc_depth.bit_length() - 1, 1)
        m.d.comb += [acc_rd.addr.eq(meta.m[:acc_lo]), acc_rd.en.eq(1)]
        psum2 = Signal(row_layout)
        meta2 = Signal(meta_layout)
        m.d.sync += [psum2.eq(psum_row), meta2.eq(meta)]
        total = Signal(row_layout)
        for j in range(C):
            m.d.comb += total[j].eq(psum2[j] + Mux(meta2.kfirst, 0, acc_rd.data[j]))
        m.d.comb += [
            acc_wr.addr.eq(meta2.m[:acc_lo]),
            acc_wr.data.eq(total),
            acc_wr.en.eq(meta2.valid & ~meta2.klast),
        ]
        m.d.sync += [
            self.res_valid.eq(meta2.valid & meta2.klast),
            self.res_acc.eq(total),
            self.res_nb.eq(meta2.nb),
            self.res_bank.eq(meta2.bank),
            self.res_last.eq(meta2.valid & meta2.last),
            self.res_lanes.eq(meta2.lanes),
        ]
        return m
