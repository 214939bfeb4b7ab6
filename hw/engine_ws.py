"""WSEngine: the weight-stationary dataflow engine (fold sequencing, skew, mesh, accumulator).

A job ``M x K x N`` is cut into folds ``(nb, kb)``, ``nb`` outer, ``kb`` inner: fold ``(nb, kb)``
keeps the weight tile ``W[kb*R:(kb+1)*R, nb*C:(nb+1)*C]`` (zeros outside K and N) in the mesh
while the ``M`` activation words ``kb*M + m`` stream through it, one per cycle. Column ``j``'s
bottom emits the partial sum ``sum_i W[kb*R+i, nb*C+j] * (A[m, kb*R+i] - x_zp)`` for each ``m``;
the deskew realigns the columns into rows, and the accumulator memory sums the rows over ``kb``
(``kb == 0`` writes, later ``kb`` add); at the last ``kb`` the sum leaves as result row ``m`` of
column block ``nb``.

The fold sequence comes from ``hw.sequencer_ws.WSSequencer``: its *preload* unit reads the ``R``
weight rows of a fold (one per cycle), which go down the columns (lane ``j`` skewed by ``j``
cycles) into the PEs' shadow registers; its *stream* unit reads the fold's ``M`` activation words,
and the switch flag travelling with the first word's wave makes each PE adopt its shadow weight
exactly for that word. Folds follow each other every ``max(M, R)`` cycles (no bubble when
``M >= R``), and jobs follow each other without a bubble when ``start`` arrives while ``idle`` is
high.

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

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data
from amaranth.lib.memory import Memory

from hw.config import ArrayConfig
from hw.engine import Engine
from hw.mesh_ws import WSMesh
from hw.pe_ws import row_index_shape
from hw.sequencer_ws import WSSequencer, row_meta_layout
from hw.skew import Skew

__all__ = ["WSEngine"]


class WSEngine(Engine):
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

    def _check_config(self, config: ArrayConfig) -> None:
        if config.dataflow != "ws":
            raise ValueError(f"config.dataflow must be 'ws', not {config.dataflow!r}")

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

    def fold_period(self, m: int, k: int) -> int:
        """Cycles between the starts of consecutive folds of a job with ``M = m`` (any K).

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
        return cfg.rows + 1 + (folds - 1) * self.fold_period(m, k) + m - 1 + self.result_latency

    @property
    def latencies(self) -> dict[str, int]:
        return {
            "preload_cycles": self.preload_cycles,
            "row": self.row_latency,
            "result": self.result_latency,
        }

    def elaborate(self, platform) -> Module:
        m = Module()
        cfg = self._config
        m.submodules.seq = seq = WSSequencer(cfg)
        self._connect_job(m, seq)
        m.d.comb += [self.w_en.eq(seq.w_en), self.a_en.eq(seq.a_en)]
        m.submodules.mesh = mesh = WSMesh(cfg, en=self._en)
        self._weights(m, seq, mesh)
        self._activations(m, seq, mesh)
        self._accumulate(m, seq, mesh)
        return m

    def _weights(self, m: Module, seq: WSSequencer, mesh: WSMesh) -> None:
        """Weight rows: read data -> lane mask -> column skew -> mesh top (preload)."""
        cfg = self._config
        C = cfg.cols
        w_lane = data.StructLayout({"w": signed(cfg.w_bits), "v": 1, "idx": row_index_shape(cfg)})
        m.submodules.w_skew = w_skew = Skew(C, w_lane)
        wv1 = Signal()
        widx1 = Signal(row_index_shape(cfg))
        wok1 = Signal(C)
        m.d.sync += [wv1.eq(seq.w_row_valid), widx1.eq(seq.w_row), wok1.eq(seq.w_lanes)]
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

    def _activations(self, m: Module, seq: WSSequencer, mesh: WSMesh) -> None:
        """Activations: read data -> x - x_zp -> row skew -> mesh left.

        Lanes outside K need no masking: their weights in the mesh are 0.
        """
        cfg = self._config
        R = cfg.rows
        x_lane = data.StructLayout({"x": signed(cfg.diff_bits), "sw": 1})
        m.submodules.x_skew = x_skew = Skew(R, x_lane)
        sw1 = Signal()
        zp1 = Signal(signed(cfg.a_bits))
        m.d.sync += [sw1.eq(seq.switch), zp1.eq(seq.x_zp)]
        a_words = data.ArrayLayout(signed(cfg.a_bits), R)(self.a_data)
        for i in range(R):
            m.d.comb += [
                x_skew.i_data[i].x.eq(a_words[i] - zp1),
                x_skew.i_data[i].sw.eq(sw1),
                mesh.x_in[i].eq(x_skew.o_data[i].x),
                mesh.sw_in[i].eq(x_skew.o_data[i].sw),
            ]

    def _accumulate(self, m: Module, seq: WSSequencer, mesh: WSMesh) -> None:
        """Deskewed partial-sum rows summed over kb in the accumulator memory, then ``res_*``."""
        cfg = self._config
        C = cfg.cols
        # Row bookkeeping travels beside the mesh: row_latency registers.
        meta_layout = row_meta_layout(cfg)
        meta = seq.meta
        for stage in range(self.row_latency):
            nxt = Signal(meta_layout, name=f"meta_d{stage + 1}")
            m.d.sync += nxt.eq(meta)
            meta = nxt

        m.submodules.deskew = deskew = Skew(C, signed(cfg.acc_bits), reverse=True)
        m.d.comb += deskew.i_data.eq(mesh.psum_out)
        psum_row = deskew.o_data

        # Read-modify-write over kb, one row per cycle.
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
