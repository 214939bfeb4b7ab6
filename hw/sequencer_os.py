"""OSSequencer: the fold sequencer of the output-stationary engine (addresses, flags, fold tags).

A job is a sequence of folds, ``nb`` (column block, outer) then ``mb`` (row block, inner). A fold
reads ``K`` consecutive words from each buffer, one per enabled cycle (activation word
``mb*K + k``, weight word ``nb*K + k``). Folds start every ``max(K, rows)`` cycles: with
``K >= rows`` there is no bubble between folds (the mesh drains a fold while it accumulates the
next); with ``K < rows`` the sequencer waits for the drain chains. The next job's first fold
follows the previous job's last fold without a bubble when its ``start`` arrives by the last cycle
of that fold (``idle`` is already high then), unless its K is smaller: the drain chains need the
last words of consecutive folds at least ``rows`` cycles apart, so the first fold of a job waits up
to ``rows - K`` cycles.

All outputs describe the word addressed on the current cycle (``issue`` high); ``fold`` is valid on
the cycle of a fold's last word (``k = K - 1``) and describes the result rows that fold makes.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig
from hw.engine import job_members

__all__ = ["OSSequencer", "fold_layout", "job_plan"]


def job_plan(config: ArrayConfig) -> dict:
    """What the sequencer sets up when a job starts, as functions of the job's ``m``, ``k``, ``n``.

    ``{name: (shape, function)}`` (:attr:`hw.engine.Engine.job_plan_fields`): the fold's last
    step ``s_last = max(K, rows) - 1``, ``s_m1 = s_last - 1``, ``k_m2 = K - 2``, the wait
    ``need = rows + 1 - K`` (0 for ``K > rows``) for the drain chains as ``need - 1`` and
    ``need <= 1``, and the comparisons of a fresh job (``K == 1``, ``s_last == 0``, ``M <= rows``,
    ``N <= cols``). ``qmac_top`` computes them when it takes the command, so that
    a job's start loads registers from its slot through a multiplexer and nothing else.
    """
    rows, cols, dim = config.rows, config.cols, config.dim_bits

    def s_last(f):
        return Mux(f["k"] > rows, f["k"], rows) - 1

    def need(f):
        return Mux(f["k"] > rows, 0, rows + 1 - f["k"])

    return {
        "need_m1": (range(-1, rows + 1), lambda f: need(f) - 1),
        "need_le1": (1, lambda f: need(f) <= 1),
        "s_last": (dim, s_last),
        "s_m1": (signed(dim + 2), lambda f: s_last(f) - 1),
        "k_m2": (signed(dim + 2), lambda f: f["k"] - 2),
        "k_one": (1, lambda f: f["k"] == 1),
        # s_last = max(K, rows) - 1 is 0 only for rows == 1 and K <= 1.
        "s_zero": (1, lambda f: (f["k"] <= 1) if rows == 1 else Const(0)),
        "m_single": (1, lambda f: f["m"] <= rows),
        "n_single": (1, lambda f: f["n"] <= cols),
    }


def plan_layout(config: ArrayConfig) -> data.StructLayout:
    """Layout of the sequencer's ``job_plan`` input (:func:`job_plan`)."""
    return data.StructLayout({name: shape for name, (shape, _) in job_plan(config).items()})


def fold_layout(config: ArrayConfig) -> data.StructLayout:
    """Tags of one fold's result rows: ``valid``, ``nb``, ``bank``, ``last`` (the job's last fold),
    ``nrows`` (rows of the fold inside M), ``lanes`` (columns inside N)."""
    return data.StructLayout({
        "valid": 1,
        "nb": config.dim_bits,
        "bank": 1,
        "last": 1,
        "nrows": range(config.rows + 1),
        "lanes": config.cols,
    })


class OSSequencer(wiring.Component):
    """Read addresses and fold flags of an output-stationary job.

    Parameters
    ----------
    config : ArrayConfig

    Members
    -------
    start : In(1); job_m, job_k, job_n : In(dim_bits); job_x_zp : In(signed(a_bits));
    job_bank : In(1)
        A job, taken on a cycle with ``start`` and ``idle`` high (docs/ENGINE.md).
    job_plan : In(:func:`plan_layout`)
        The job's :func:`job_plan` values, with the job.
    idle : Out(1)
        A job may start (the previous job's last fold is on its last word, or no job runs).
    issue : Out(1)
        A word pair is addressed this cycle (``a_addr``/``w_addr``); the read enable.
    issue_next : Out(1)
        ``issue`` of the next cycle if this cycle is enabled (its value from this cycle's next
        state; an unenabled cycle keeps ``issue``).
    a_addr : Out(range(2 * a_buf_depth)); w_addr : Out(range(2 * w_buf_depth))
        Buffer addresses, bank in the MSB; straight from registers.
    a_addr_next, w_addr_next : Out
        ``a_addr``/``w_addr`` of the next cycle if this cycle is enabled (their registers' next
        values), for a parent that compares them with its loaders a cycle ahead.
    first, last : Out(1)
        The word is the first (``k = 0``) / last (``k = K - 1``) of its fold.
    row_mask : Out(rows); col_mask : Out(cols)
        Rows of the fold inside M, columns inside N.
    x_zp : Out(signed(a_bits))
        The running job's activation zero point.
    fold : Out(:func:`fold_layout`)
        On the last word of a fold (``fold.valid = issue & last``): its result rows' tags.
    released : Out(1)
        The job's last word is addressed (its banks may be reloaded after this cycle).
    """

    def __init__(self, config: ArrayConfig) -> None:
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        self._config = config
        super().__init__({
            **job_members(config),
            "job_plan": In(plan_layout(config)),
            "issue": Out(1),
            "issue_next": Out(1),
            "a_addr": Out(range(2 * config.a_buf_depth)),
            "w_addr": Out(range(2 * config.w_buf_depth)),
            "a_addr_next": Out(range(2 * config.a_buf_depth)),
            "w_addr_next": Out(range(2 * config.w_buf_depth)),
            "first": Out(1),
            "last": Out(1),
            "row_mask": Out(config.rows),
            "col_mask": Out(config.cols),
            "x_zp": Out(signed(config.a_bits)),
            "fold": Out(fold_layout(config)),
            "released": Out(1),
        })

    def elaborate(self, platform) -> Module:
        cfg = self._config
        rows, cols = cfg.rows, cfg.cols
        dim = cfg.dim_bits
        a_idx_bits = (cfg.a_buf_depth - 1).bit_length()
        w_idx_bits = (cfg.w_buf_depth - 1).bit_length()
        m = Module()

        running = Signal()
        bank = Signal()
        job_k = Signal(dim)
        job_m = Signal(dim)
        job_n = Signal(dim)
        s_last = Signal(dim)  # fold_period(K) - 1
        k = Signal(dim)
        m_left = Signal(dim)  # M - mb * rows
        n_left = Signal(dim)  # N - nb * cols
        nb = Signal(dim)
        w_base = Signal(dim + 1)
        # The first word of the next row block (mb + 1) and column block (nb + 1), registers of
        # their own: the next fold's first address is then a register, not an adder, on the way
        # to the top's registered comparisons.
        a_base_k = Signal(dim + 1)  # (mb + 1) * K
        w_base_k = Signal(dim + 1)  # (nb + 1) * K

        # Cycles since the last word of the previous fold was addressed (saturating at rows). The
        # drain chains need fold *ends* at least rows cycles apart; within a job the fold period
        # max(K, rows) guarantees it, across jobs with different K a fold start may have to wait.
        since_end = Signal(range(rows + 1), init=rows)
        # A fold may start once since_end >= need = rows + 1 - K (0 for K > rows); need is kept
        # as the two registers its comparisons need:
        need_m1 = Signal(range(-1, rows + 1))  # need - 1: since_end + 1 >= need
        need_le1 = Signal(init=1)  # need <= 1: a fold may start right after a fold's last word
        # Registered copies of values otherwise computed from k (block start + k, k < K, k == 0), so
        # that the read addresses and enables come straight from registers: the top compares them
        # with its loaders' progress to stall the engine, a path that ends at every enable.
        a_idx = Signal(a_idx_bits)
        w_idx = Signal(w_idx_bits)
        # a_idx + 1 and w_idx + 1 as registers of their own: the next address within a fold is
        # then a register, with no adder before the top's comparison of it.
        a_idx_p1 = Signal(a_idx_bits, init=1)
        w_idx_p1 = Signal(w_idx_bits, init=1)
        in_fold = Signal()
        k_zero = Signal(init=1)
        # Comparisons of the state, registered from its next value (``*_n`` below), so that the
        # sequencer's decisions (issue, fold end, idle) are a few gates from flip-flops:
        ready = Signal(init=1)  # since_end >= need
        k_last = Signal()  # k == job_k - 1
        k_end = Signal(init=1)  # k == s_last
        last_mb = Signal(init=1)  # m_left <= rows
        last_nb = Signal(init=1)  # n_left <= cols
        # idle = ~running | (fold_end & last_mb & last_nb), registered from the next values of
        # its terms: ``start & idle`` selects the next value of every register here, so it
        # must be a gate from flip-flops.
        idle = Signal(init=1)
        wait = Signal()
        issue = Signal()
        fold_end = Signal()
        m.d.comb += [
            wait.eq(k_zero & ~ready),
            issue.eq(running & in_fold & ~wait),
            fold_end.eq(running & ~wait & k_end),
            self.issue.eq(issue),
            self.a_addr.eq(Cat(a_idx, bank)),
            self.w_addr.eq(Cat(w_idx, bank)),
            self.first.eq(k_zero),
            self.last.eq(k_last),
            self.row_mask.eq(Cat(*[m_left > i for i in range(rows)])),
            self.col_mask.eq(Cat(*[n_left > j for j in range(cols)])),
            self.released.eq(issue & k_last & last_mb & last_nb),
            self.idle.eq(idle),
            self.fold.valid.eq(issue & k_last),
            self.fold.nb.eq(nb),
            self.fold.bank.eq(bank),
            self.fold.last.eq(last_mb & last_nb),
            self.fold.nrows.eq(Mux(last_mb, m_left, rows)),
            self.fold.lanes.eq(self.col_mask),
        ]
        # Next values of the registers that the comparisons above are made of, and of those whose
        # next value the engine reports (``issue_next``: whether it reads on the next enabled
        # cycle, for a parent that registers its stall decision a cycle ahead).
        state = {"running": running, "in_fold": in_fold, "k_zero": k_zero,
                 "since_end": since_end, "k": k, "job_k": job_k, "s_last": s_last,
                 "m_left": m_left, "n_left": n_left, "a_idx": a_idx, "w_idx": w_idx, "bank": bank}
        nxt = {name: Signal.like(reg, name=f"{name}_n") for name, reg in state.items()}
        m.d.comb += [nxt[name].eq(reg) for name, reg in state.items()]
        m.d.sync += [reg.eq(nxt[name]) for name, reg in state.items()]
        with m.If(issue & k_last):
            m.d.comb += nxt["since_end"].eq(1)
        with m.Elif(since_end != rows):
            m.d.comb += nxt["since_end"].eq(since_end + 1)
        with m.If(running & ~wait):
            with m.If(k_end):
                m.d.comb += [nxt["k"].eq(0), nxt["k_zero"].eq(1), nxt["in_fold"].eq(1)]
                m.d.comb += nxt["w_idx"].eq(w_base)
                with m.If(last_mb):
                    m.d.comb += [nxt["m_left"].eq(job_m), nxt["a_idx"].eq(0)]
                    m.d.sync += a_base_k.eq(job_k)
                    with m.If(last_nb):
                        m.d.comb += nxt["running"].eq(0)
                    with m.Else():
                        m.d.comb += nxt["n_left"].eq(n_left - cols)
                        m.d.comb += nxt["w_idx"].eq(w_base_k)
                        m.d.sync += [nb.eq(nb + 1), w_base.eq(w_base_k),
                                     w_base_k.eq(w_base_k + job_k)]
                with m.Else():
                    m.d.comb += [nxt["m_left"].eq(m_left - rows), nxt["a_idx"].eq(a_base_k)]
                    m.d.sync += a_base_k.eq(a_base_k + job_k)
            with m.Else():
                m.d.comb += [
                    nxt["k"].eq(k + 1),
                    nxt["k_zero"].eq(0),
                    nxt["in_fold"].eq(in_fold & ~k_last),
                ]
                m.d.comb += [nxt["a_idx"].eq(a_idx_p1), nxt["w_idx"].eq(w_idx_p1)]
        with m.If(self.start & self.idle):
            m.d.comb += [
                nxt["running"].eq(1),
                nxt["in_fold"].eq(1),
                nxt["k_zero"].eq(1),
                nxt["k"].eq(0),
                nxt["job_k"].eq(self.job_k),
                nxt["s_last"].eq(self.job_plan.s_last),
                nxt["m_left"].eq(self.job_m),
                nxt["n_left"].eq(self.job_n),
                nxt["bank"].eq(self.job_bank),
                nxt["a_idx"].eq(0),
                nxt["w_idx"].eq(0),
            ]
            m.d.sync += [
                job_m.eq(self.job_m),
                job_n.eq(self.job_n),
                self.x_zp.eq(self.job_x_zp),
                nb.eq(0),
                w_base.eq(0),
                a_base_k.eq(self.job_k),
                w_base_k.eq(self.job_k),
            ]
        # The next values that the top's stall register and this module's own decisions are
        # made of, case by case (a start, a step of a running fold, a fold end, nothing), so that
        # each case is a comparison of registers (or of a new job's need from its slot) and the
        # decisions (start, advance = running & ~wait) only pick one: a fold that waits is on
        # its first word, so wait's two flip-flops are two LUT levels from these registers.
        starting = self.start & self.idle
        advance = running & ~wait
        fold_ends = issue & k_last  # under advance: in_fold & k_last
        # ready_n = since_end_n >= need_n: since_end_n is 1 after a fold's last word and
        # since_end + 1 otherwise (saturating at rows, where since_end + 1 >= need holds either
        # way); need_n is the new job's at a start.
        plan = self.job_plan
        with m.If(starting):
            m.d.sync += [need_m1.eq(plan.need_m1), need_le1.eq(plan.need_le1)]
        ready_inc = since_end >= need_m1
        ready_n = Signal()
        ready_n_start = Mux(fold_ends, plan.need_le1, since_end >= plan.need_m1)
        ready_n_run = Mux(fold_ends, need_le1, ready_inc)
        m.d.comb += ready_n.eq(Mux(starting, ready_n_start, ready_n_run))
        # issue_next = running_n & in_fold_n & ~(k_zero_n & ~ready_n): a start or a new fold
        # issues if ready; within a fold the next word is in it unless this one is its last; a
        # held fold keeps waiting on its first word until ready.
        with m.If(starting):
            m.d.comb += self.issue_next.eq(ready_n_start)
        with m.Elif(advance & k_end):
            m.d.comb += self.issue_next.eq(~(last_mb & last_nb) & ready_n_run)
        with m.Elif(advance):
            m.d.comb += self.issue_next.eq(in_fold & ~k_last)
        with m.Else():
            m.d.comb += self.issue_next.eq(running & in_fold & (~k_zero | ready_inc))
        m.d.comb += [
            self.a_addr_next.eq(Cat(nxt["a_idx"], nxt["bank"])),
            self.w_addr_next.eq(Cat(nxt["w_idx"], nxt["bank"])),
        ]
        m.d.sync += [
            ready.eq(ready_n),
            a_idx_p1.eq(nxt["a_idx"] + 1),
            w_idx_p1.eq(nxt["w_idx"] + 1),
        ]
        flags_n = self._flags(m, k=k, m_left=m_left, n_left=n_left, advance=advance,
                              flags=(k_last, k_end, last_mb, last_nb))
        _, k_end_n, last_mb_n, last_nb_n, k_pre_end = flags_n
        if rows == 1:
            # A fold may wait on a word that is also its last (s_last = 0): the general form.
            wait_n = nxt["k_zero"] & ~ready_n
            m.d.sync += idle.eq(~nxt["running"] | (~wait_n & k_end_n & last_mb_n & last_nb_n))
        else:
            # With more rows a fold that waits (on its first word) is never on its last, so
            # idle = ~running | (k_end & last_mb & last_nb): a start clears it (s_last > 0), a
            # step sets it if the job's last fold reaches its last word (k + 1 == s_last) or
            # ends (running falls), and nothing else changes its terms.
            job_ends = last_mb & last_nb & (k_end | k_pre_end)
            m.d.sync += idle.eq(~starting & Mux(advance, job_ends, idle))
        return m

    def _flags(self, m: Module, *, k, m_left, n_left, advance, flags) -> tuple:
        """``k_last``, ``k_end``, ``last_mb``, ``last_nb`` for the next cycle, case by case; returns
        their next values (the registers' inputs), in that order, and ``k == s_last - 1``.

        Each case compares registers only (or a new job's fields with constants): within a fold
        ``k + 1 == job_k - 1`` is ``k == job_k - 2``, at a fold end ``k`` restarts at 0, and a
        block's ``m_left - rows <= rows`` is ``m_left <= 2 * rows``; ``job_k - 2``,
        ``s_last - 1`` and the new job's own flags come with it (:func:`job_plan`).
        """
        cfg = self._config
        rows, cols, dim = cfg.rows, cfg.cols, cfg.dim_bits
        k_last, k_end, last_mb, last_nb = flags
        k_one = Signal()  # job_k == 1
        k_m2 = Signal(signed(dim + 2))  # job_k - 2
        s_zero = Signal()  # s_last == 0
        s_m1 = Signal(signed(dim + 2))  # s_last - 1
        m_single = Signal()  # job_m <= rows
        k_pre_end = Signal()  # k == s_last - 1: the next step is the fold's last
        m.d.comb += k_pre_end.eq(k == s_m1)
        plan = self.job_plan
        starting = self.start & self.idle
        k_last_n, k_end_n, last_mb_n, last_nb_n = (
            Signal(name=f"{name}_n") for name in ("k_last", "k_end", "last_mb", "last_nb"))
        m.d.comb += [
            k_last_n.eq(k_last), k_end_n.eq(k_end), last_mb_n.eq(last_mb), last_nb_n.eq(last_nb),
        ]
        m.d.sync += [
            k_last.eq(k_last_n), k_end.eq(k_end_n), last_mb.eq(last_mb_n), last_nb.eq(last_nb_n),
        ]
        with m.If(starting):
            m.d.sync += [
                k_one.eq(plan.k_one),
                k_m2.eq(plan.k_m2),
                s_zero.eq(plan.s_zero),
                s_m1.eq(plan.s_m1),
                m_single.eq(plan.m_single),
            ]
            m.d.comb += [
                k_last_n.eq(plan.k_one),
                k_end_n.eq(plan.s_zero),
                last_mb_n.eq(plan.m_single),
                last_nb_n.eq(plan.n_single),
            ]
        with m.Elif(advance):
            with m.If(k_end):
                m.d.comb += [k_last_n.eq(k_one), k_end_n.eq(s_zero)]
                with m.If(last_mb):
                    m.d.comb += last_mb_n.eq(m_single)
                    with m.If(~last_nb):
                        m.d.comb += last_nb_n.eq(n_left <= 2 * cols)
                with m.Else():
                    m.d.comb += last_mb_n.eq(m_left <= 2 * rows)
            with m.Else():
                m.d.comb += [k_last_n.eq(k == k_m2), k_end_n.eq(k_pre_end)]
        return k_last_n, k_end_n, last_mb_n, last_nb_n, k_pre_end
