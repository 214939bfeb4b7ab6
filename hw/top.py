"""QmacTop: the ``qmac_top`` module: job queue, loaders, buffers, engine, requantization, output.

Ports and job semantics: docs/PROTOCOL.md (the member names below are the Verilog port names).

Structure::

    cmd ──► 2 job slots (slot = bank = job index mod 2)
    s_axis_a/w/param ──► StreamLoader ──► a / w / param memories (2 banks each)
    engine (OSEngine or WSEngine, under EnableInserter(eng_run)) ◄── buffer read ports
      └─ result rows ──► OutPath (hw/outpath.py): param lookup (2 cycles) ──► cols x Requant
                         ──► output FIFO ──► m_axis_out

Job slots. A slot is taken when its command is accepted and freed when the job's last result row
enters the requantizers (which register the slot's zero point and clamp bounds with each row); from
then until its last output beat is accepted the job is only counted as pending (``busy`` stays
high). So ``cmd_ready`` is low while both slots hold jobs, and back-pressure on ``m_axis_out`` does
not keep the next job from loading. A loader takes beats for its next slot once that slot's command
is in and the slot's data of that stream is not loaded yet.

Engine start. The engine starts a slot's job when it is ``idle``, the job's parameters are loaded
and either its a/w words are all loaded (the normal double-buffered case: job ``j + 1`` loaded
while job ``j`` computed, no bubble between them) or no earlier job is left in the engine; in the
latter case it computes while the a/w words still stream in: ``hold`` stops the engine on any cycle
whose buffer read addresses a word not written yet. The rule never lets a hold delay an earlier
job's results, so a host may send job ``j + 1``'s activations after receiving job ``j``'s outputs
(layer by layer).

Stall. ``run`` is OutPath's registered "the output FIFO has room for the rows in flight" (see
hw/outpath.py). The engine runs on ``eng_run = run & ~hold``; the parameter lookup and the
requantizers on ``run``, and they take a row from the engine only on ``eng_run`` cycles. Stalled
parts hold their state and the buffer read ports hold their data, so nothing is lost or duplicated.

Latencies (no stalls): a job's engine ``start`` follows its last parameter beat by
``start_latency`` (1) cycle when the engine is free; a result row reaches ``m_axis_out``
``output_latency`` (``2 + Requant.latency + 3``, see hw/outpath.py) cycles after it left the
engine; so a lone job whose a/w words arrive no later than the engine reads them has its last
output beat ``start_latency + engine.job_cycles(m, k, n) - 1 + output_latency`` cycles after
its last parameter beat, plus ``stream_start_penalty`` when its a/w words were still arriving at
the start.
"""

from __future__ import annotations

from amaranth.hdl import EnableInserter, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig
from hw.engine_os import OSEngine
from hw.loader import StreamLoader
from hw.outpath import OutPath, outpath_latency

__all__ = ["QmacTop", "top_signature"]


def top_signature(config: ArrayConfig) -> wiring.Signature:
    """The flat port list of ``qmac_top`` for ``config`` (docs/PROTOCOL.md)."""
    dim = config.dim_bits
    members = {
        "cmd_valid": In(1),
        "cmd_ready": Out(1),
        "cmd_m": In(dim),
        "cmd_k": In(dim),
        "cmd_n": In(dim),
        "cmd_x_zp": In(signed(config.a_bits)),
        "cmd_y_zp": In(signed(config.out_bits)),
        "cmd_act_min": In(signed(config.out_bits)),
        "cmd_act_max": In(signed(config.out_bits)),
    }
    for name, bits in (
        ("a", config.a_tdata_bits),
        ("w", config.w_tdata_bits),
        ("param", config.param_tdata_bits),
    ):
        members.update(
            {
                f"s_axis_{name}_tdata": In(bits),
                f"s_axis_{name}_tvalid": In(1),
                f"s_axis_{name}_tready": Out(1),
                f"s_axis_{name}_tlast": In(1),
            }
        )
    members.update(
        {
            "m_axis_out_tdata": Out(config.out_tdata_bits),
            "m_axis_out_tvalid": Out(1),
            "m_axis_out_tready": In(1),
            "m_axis_out_tlast": Out(1),
            "busy": Out(1),
            "done": Out(1),
            "error": Out(1),
            "cycle_count": Out(32),
        }
    )
    return wiring.Signature(members)


def _bits(depth: int) -> int:
    return max(1, (depth - 1).bit_length())


def _make_engine(config: ArrayConfig):
    if config.dataflow == "os":
        return OSEngine(config)
    from hw.engine_ws import WSEngine  # written separately; imported only when used

    return WSEngine(config)


class QmacTop(wiring.Component):
    """The whole accelerator for one :class:`~hw.config.ArrayConfig`.

    Parameters
    ----------
    config : ArrayConfig

    Members
    -------
    See docs/PROTOCOL.md; ``top_signature(config)`` lists them with their shapes.

    Raises
    ------
    TypeError
        If ``config`` is not an ArrayConfig.
    """

    def __init__(self, config: ArrayConfig) -> None:
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        self._config = config
        super().__init__(top_signature(config))

    @property
    def config(self) -> ArrayConfig:
        return self._config

    @property
    def fifo_depth(self) -> int:
        """Entries of the output FIFO (``out_fifo_depth``, at least 4 for the stall margin)."""
        return max(4, self._config.out_fifo_depth)

    @property
    def start_latency(self) -> int:
        """Cycles from the last parameter beat of a job to its engine ``start`` (idle engine)."""
        return 1

    @property
    def stream_start_penalty(self) -> int:
        """Extra cycles of a job started while its a/w words are still arriving (OS engine: the
        registered "word loaded" check holds the first read one cycle; 0 for other engines)."""
        return 1 if self._config.dataflow == "os" else 0

    @property
    def output_latency(self) -> int:
        """Cycles from a result row on the engine's ``res_*`` to its beat on ``m_axis_out``.

        Parameter lookup (2) + ``Requant.latency`` + output FIFO (2) + registered output
        stage (1), with room in the FIFO (``hw.outpath.outpath_latency``).
        """
        return outpath_latency(self._config)

    @property
    def param_words(self) -> int:
        """Words per bank of the parameter memory (``cols`` channels a word; power of two >= 2)."""
        # At least 2 so that the bank bit sits above a non-empty word index.
        return 1 << _bits(-(-self._config.param_depth // self._config.cols))

    def elaborate(self, platform) -> Module:
        cfg = self._config
        rows, cols, dim = cfg.rows, cfg.cols, cfg.dim_bits
        m = Module()
        out = OutPath(cfg, self.param_words, self.fifo_depth)  # output path, wired below

        # ---- job slots --------------------------------------------------------------------
        fields = {
            "m": dim,
            "k": dim,
            "n": dim,
            "x_zp": signed(cfg.a_bits),
            "y_zp": signed(cfg.out_bits),
            "act_min": signed(cfg.out_bits),
            "act_max": signed(cfg.out_bits),
        }
        slot = [{f: Signal(s, name=f"slot{b}_{f}") for f, s in fields.items()} for b in range(2)]
        valid = [Signal(name=f"slot{b}_valid") for b in range(2)]
        loaded = {
            x: [Signal(name=f"slot{b}_{x}_loaded") for b in range(2)] for x in ("a", "w", "p")
        }
        started = [Signal(name=f"slot{b}_started") for b in range(2)]
        cmd_ptr, eng_ptr, rel_ptr = Signal(), Signal(), Signal()

        cmd_take = Signal()
        m.d.comb += [
            self.cmd_ready.eq(~Mux(cmd_ptr, valid[1], valid[0])),
            cmd_take.eq(self.cmd_valid & self.cmd_ready),
            # ``pending``: jobs whose slot is free again but whose last beat is not accepted yet.
            self.busy.eq(valid[0] | valid[1] | out.pending),
        ]
        for b in range(2):
            with m.If(cmd_take & (cmd_ptr == b)):
                m.d.sync += [slot[b][f].eq(getattr(self, f"cmd_{f}")) for f in fields]
        with m.If(cmd_take):
            m.d.sync += cmd_ptr.eq(~cmd_ptr)

        # ---- loaders and memories ------------------------------------------------------------
        a_bits_idx, w_bits_idx = _bits(cfg.a_buf_depth), _bits(cfg.w_buf_depth)
        p_bits_idx = _bits(self.param_words)
        param_bits = cfg.acc_bits + cfg.mult_bits + cfg.shift_bits
        loaders = {
            "a": StreamLoader(
                tdata_bits=cfg.a_tdata_bits,
                payload_bits=rows * cfg.a_bits,
                addr_bits=a_bits_idx,
                step=rows,
            ),
            "w": StreamLoader(
                tdata_bits=cfg.w_tdata_bits,
                payload_bits=cols * cfg.w_bits,
                addr_bits=w_bits_idx,
                step=cols,
            ),
            "p": StreamLoader(
                tdata_bits=cfg.param_tdata_bits,
                payload_bits=param_bits,
                addr_bits=p_bits_idx,
                step=1,
                lanes=cols,
            ),
        }
        a_mem = Memory(shape=rows * cfg.a_bits, depth=2 * cfg.a_buf_depth, init=[])
        w_mem = Memory(shape=cols * cfg.w_bits, depth=2 * cfg.w_buf_depth, init=[])
        p_mem = Memory(shape=cols * param_bits, depth=2 * self.param_words, init=[])
        m.submodules.a_mem, m.submodules.w_mem, m.submodules.p_mem = a_mem, w_mem, p_mem
        mems = {"a": a_mem, "w": w_mem, "p": p_mem}
        stream = {"a": "a", "w": "w", "p": "param"}
        if cfg.dataflow == "os":
            geometry = {"a": ("k", "m"), "w": ("k", "n"), "p": ("n", None)}
        else:
            geometry = {"a": ("m", "k"), "w": ("k", "n"), "p": ("n", None)}
        error = Signal()
        for x, ld in loaders.items():
            m.submodules[f"{x}_loader"] = ld
            s = stream[x]
            m.d.comb += [
                ld.tdata.eq(getattr(self, f"s_axis_{s}_tdata")),
                ld.tvalid.eq(getattr(self, f"s_axis_{s}_tvalid")),
                ld.tlast.eq(getattr(self, f"s_axis_{s}_tlast")),
                getattr(self, f"s_axis_{s}_tready").eq(ld.tready),
            ]
            inner, outer = geometry[x]
            flags = loaded[x]
            m.d.comb += [
                ld.go.eq(Mux(ld.bank, valid[1] & ~flags[1], valid[0] & ~flags[0])),
                ld.inner.eq(Mux(ld.bank, slot[1][inner], slot[0][inner])),
                ld.outer.eq(1 if outer is None else Mux(ld.bank, slot[1][outer], slot[0][outer])),
            ]
            wr = mems[x].write_port(granularity=param_bits) if x == "p" else mems[x].write_port()
            m.d.comb += [wr.addr.eq(ld.w_addr), wr.data.eq(ld.w_data)]
            m.d.comb += wr.en.eq(ld.w_lanes & ld.w_en.replicate(cols) if x == "p" else ld.w_en)
            for b in range(2):
                with m.If(ld.loaded & (ld.bank == b)):
                    m.d.sync += flags[b].eq(1)
            with m.If(ld.error):
                m.d.sync += error.eq(1)
        m.d.comb += self.error.eq(error)

        # ---- engine -------------------------------------------------------------------------
        # The engine runs when the output path can take its rows (``run``) and the buffer words it
        # addresses this cycle have been written (``hold`` low), so a job may start as soon as its
        # parameters are in and compute while its a/w words still stream in. It does so only when
        # no earlier job is left in the engine: a hold then never delays earlier results (a host
        # may send job j+1's activations only after it received job j's outputs).
        run, eng_run, hold = Signal(), Signal(), Signal()
        engine = _make_engine(cfg)
        m.submodules.engine = EnableInserter(eng_run)(engine)
        a_rd, w_rd = a_mem.read_port(), w_mem.read_port()
        m.d.comb += [
            a_rd.addr.eq(engine.a_addr),
            a_rd.en.eq(engine.a_en & eng_run),
            engine.a_data.eq(a_rd.data),
            w_rd.addr.eq(engine.w_addr),
            w_rd.en.eq(engine.w_en & eng_run),
            engine.w_data.eq(w_rd.data),
        ]

        def written(x: str, addr, idx_bits: int, ahead: int = 0):
            ld, bank, idx = loaders[x], addr[idx_bits], addr[:idx_bits]
            done = Mux(bank, loaded[x][1], loaded[x][0])
            return done | ((ld.bank == bank) & (idx + ahead < ld.w_addr[:idx_bits]))

        if getattr(engine, "sequential_reads", False):
            # The engine's read index grows by at most 1 per enabled cycle within a job (it may
            # jump back), so "index + 1 written" now means "next index written" next cycle: the
            # check is registered, keeping the comparators off the path into every enable.
            # On a start the next addresses are word 0 of the new bank.
            a_ok, w_ok = Signal(), Signal()
            new_bank = engine.job_bank
            with m.If(engine.start & eng_run):
                m.d.sync += [
                    a_ok.eq(Mux(new_bank, loaded["a"][1], loaded["a"][0])),
                    w_ok.eq(Mux(new_bank, loaded["w"][1], loaded["w"][0])),
                ]
            with m.Else():
                m.d.sync += [
                    a_ok.eq(written("a", engine.a_addr, a_bits_idx, ahead=1)),
                    w_ok.eq(written("w", engine.w_addr, w_bits_idx, ahead=1)),
                ]
        else:
            a_ok = written("a", engine.a_addr, a_bits_idx)
            w_ok = written("w", engine.w_addr, w_bits_idx)
        m.d.comb += [
            hold.eq((engine.a_en & ~a_ok) | (engine.w_en & ~w_ok)),
            eng_run.eq(run & ~hold),
        ]
        # Jobs started in the engine whose last result row has not left it yet (0..2).
        in_engine = Signal(range(3))
        ready = [
            valid[b]
            & loaded["p"][b]
            & ~started[b]
            & ((loaded["a"][b] & loaded["w"][b]) | (in_engine == 0))
            for b in range(2)
        ]
        m.d.comb += [
            engine.start.eq(Mux(eng_ptr, ready[1], ready[0]) & engine.idle),
            engine.job_bank.eq(eng_ptr),
        ]
        for f in ("m", "k", "n", "x_zp"):
            m.d.comb += getattr(engine, f"job_{f}").eq(Mux(eng_ptr, slot[1][f], slot[0][f]))
        started_now = Signal()
        finished_now = Signal()
        m.d.comb += [
            started_now.eq(engine.start & eng_run),
            finished_now.eq(engine.res_valid & engine.res_last & eng_run),
        ]
        with m.If(started_now):
            m.d.sync += eng_ptr.eq(~eng_ptr)
            for b in range(2):
                with m.If(eng_ptr == b):
                    m.d.sync += started[b].eq(1)
        with m.If(started_now & ~finished_now):
            m.d.sync += in_engine.eq(in_engine + 1)
        with m.Elif(~started_now & finished_now):
            m.d.sync += in_engine.eq(in_engine - 1)

        # ---- output path (hw/outpath.py) -------------------------------------------------------
        m.submodules.outpath = out
        p_rd = p_mem.read_port()
        m.d.comb += [
            run.eq(out.run),
            p_rd.addr.eq(out.p_addr),
            p_rd.en.eq(out.p_en),
            out.p_data.eq(p_rd.data),
            out.res_valid.eq(engine.res_valid & ~hold),
            out.res_acc.eq(engine.res_acc),
            out.res_nb.eq(engine.res_nb),
            out.res_bank.eq(engine.res_bank),
            out.res_last.eq(engine.res_last),
            out.res_lanes.eq(engine.res_lanes),
            self.m_axis_out_tdata.eq(out.out_tdata),
            self.m_axis_out_tvalid.eq(out.out_tvalid),
            self.m_axis_out_tlast.eq(out.out_tlast),
            out.out_tready.eq(self.m_axis_out_tready),
            self.done.eq(out.done),
        ]
        for f in ("y_zp", "act_min", "act_max"):
            m.d.comb += getattr(out, f"job_{f}").eq(Mux(out.job_bank, slot[1][f], slot[0][f]))

        # ---- slot release ----------------------------------------------------------------------
        # A job's slot (command fields, parameter bank) is free once its last row has entered the
        # requantizers, which register everything they need from it; its a/w banks were released by
        # then. The job then counts as pending until its last output beat is accepted (``done``).
        with m.If(out.release):
            m.d.sync += rel_ptr.eq(~rel_ptr)
            for b in range(2):
                with m.If(rel_ptr == b):
                    m.d.sync += [valid[b].eq(0), started[b].eq(0)]
                    m.d.sync += [loaded[x][b].eq(0) for x in loaded]
        for b in range(2):
            with m.If(cmd_take & (cmd_ptr == b)):
                m.d.sync += valid[b].eq(1)

        m.d.sync += self.cycle_count.eq(self.cycle_count + 1)
        return m
