"""WSSequencer: the fold sequencer of the weight-stationary engine (preload and stream units).

A job ``M x K x N`` is cut into folds ``(nb, kb)``, ``nb`` outer, ``kb`` inner: fold ``(nb, kb)``
keeps the weight tile ``W[kb*R:(kb+1)*R, nb*C:(nb+1)*C]`` in the mesh while the ``M`` activation
words ``kb*M + m`` stream through it, one per cycle. Two units share the fold sequence (of this job
and the next one):

- the *preload* unit reads the ``R`` weight rows of a fold (one per cycle: word
  ``nb*K + kb*R + row``, read only for rows inside K);
- the *stream* unit reads the fold's ``M`` activation words; ``switch`` marks the first, for the
  PEs to adopt the preloaded (shadow) weights exactly for that word.

The preload of a fold may start on the cycle the stream unit starts the previous fold, and the
stream of a fold may start ``R`` cycles after its preload started, so folds follow each other every
``max(M, R)`` cycles, and the first fold of the next job is preloaded while the last fold of the
current one streams.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import Out

from hw.config import ArrayConfig
from hw.engine import job_members
from hw.pe_ws import row_index_shape

__all__ = ["WSSequencer", "row_meta_layout"]


def row_meta_layout(config: ArrayConfig) -> data.StructLayout:
    """Bookkeeping of one streamed activation word (one partial-sum row): ``valid``, row ``m``,
    column block ``nb``, ``bank``, first / last ``kb`` of its column block (``kfirst``,
    ``klast``), ``last`` row of the job, ``lanes`` (columns inside N)."""
    dim = config.dim_bits
    return data.StructLayout({
        "valid": 1, "m": dim, "nb": dim, "bank": 1, "kfirst": 1, "klast": 1, "last": 1,
        "lanes": config.cols,
    })


class WSSequencer(wiring.Component):
    """Read addresses, preload indices and row bookkeeping of a weight-stationary job.

    Parameters
    ----------
    config : ArrayConfig

    Members
    -------
    start : In(1); job_m, job_k, job_n : In(dim_bits); job_x_zp : In(signed(a_bits));
    job_bank : In(1)
        A job, taken on a cycle with ``start`` and ``idle`` high (docs/ENGINE.md).
    idle : Out(1)
        A job may start (no fold is being preloaded, or the last one is handed to the stream unit).
    w_addr : Out(range(2 * w_buf_depth)); w_en : Out(1)
        Weight read port (``w_en`` only for rows inside K).
    w_row_valid : Out(1); w_row : Out(row_index_shape)
        A weight row of the fold is read this cycle, and its index (for the PEs' preload).
    w_lanes : Out(cols)
        Lanes of that row inside N and K (the others are loaded as zero).
    a_addr : Out(range(2 * a_buf_depth)); a_en : Out(1)
        Activation read port.
    switch : Out(1)
        The word read is the first of its fold.
    x_zp : Out(signed(a_bits))
        Zero point of the streaming fold's job.
    meta : Out(:func:`row_meta_layout`)
        Bookkeeping of the word read this cycle (``meta.valid = a_en``).
    released : Out(1)
        Registered: the job's last activation word was read on the previous cycle.
    """

    def __init__(self, config: ArrayConfig) -> None:
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        self._config = config
        super().__init__({
            **job_members(config),
            "w_addr": Out(range(2 * config.w_buf_depth)),
            "w_en": Out(1),
            "w_row_valid": Out(1),
            "w_row": Out(row_index_shape(config)),
            "w_lanes": Out(config.cols),
            "a_addr": Out(range(2 * config.a_buf_depth)),
            "a_en": Out(1),
            "switch": Out(1),
            "x_zp": Out(signed(config.a_bits)),
            "meta": Out(row_meta_layout(config)),
            "released": Out(1),
        })

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
            self.w_row_valid.eq(w_reading),
            self.w_row.eq(w_row),
            self.w_lanes.eq(Cat(*[lanes[j] & (k_left > w_row) for j in range(C)])),
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
            self.switch.eq(a_busy & (a_m == 0)),
            self.meta.valid.eq(a_busy),
            self.meta.m.eq(a_m),
            self.meta.nb.eq(a_nb),
            self.meta.bank.eq(a_bank),
            self.meta.kfirst.eq(a_kfirst),
            self.meta.klast.eq(a_klast),
            self.meta.last.eq(a_last_read & a_flast),
            self.meta.lanes.eq(a_lanes),
        ]
        m.d.sync += self.released.eq(a_last_read & a_flast)
        with m.If(a_busy):
            m.d.sync += a_m.eq(a_m + 1)
            with m.If(a_last_read):
                m.d.sync += a_busy.eq(0)

        with m.If(take):
            m.d.sync += [
                a_busy.eq(1), a_m.eq(0), a_mm.eq(j_m), a_base.eq(kb_m), a_bank.eq(j_bank),
                self.x_zp.eq(j_zp), a_lanes.eq(lanes), a_nb.eq(nb),
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
        return m
