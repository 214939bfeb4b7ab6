"""QmacTop: the ``qmac_top`` module: job queue, loaders, buffers, engine, requantization, output.

Ports and job semantics: docs/PROTOCOL.md (the member names below are the Verilog port names).

Structure::

    cmd ──► JobSlots (hw/slots.py: 2 slots, slot = bank = job index mod 2)
    s_axis_a/w/param ──► StreamLoader ──► a / w / param memories (2 banks each)
    engine (OSEngine or WSEngine, stalled by eng_run) ◄── buffer read ports
      └─ result rows ──► PartialSums (hw/psum.py: partial sums of a K split, 3 cycles)
                         ──► OutPath (hw/outpath.py): param lookup (3 cycles) ──► cols x Requant
                         ──► output FIFO ──► m_axis_out

Job slots. A slot is taken when its command is accepted and freed when the job's last result row
enters the requantizers (which register the slot's zero point and clamp bounds with each row; for a
job that holds its sums, its last row passes there as a void row that only frees the slot); from
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

K split. The jobs of a K split (``acc_cont`` / ``acc_hold``, docs/PROTOCOL.md) are ordinary jobs
to the loaders and the engine; PartialSums adds each row to the sums the previous job held and
either holds the result (the job then sends no output) or passes it on to requantization.

Stall. ``run`` is OutPath's registered "the output FIFO has room for the rows in flight" (see
hw/outpath.py). The engine runs on ``eng_run = run & ~hold``, for the "os" engine a flip-flop
computed a cycle ahead from the next values of its terms (docs/ENGINE.md, "Stall"), where ``run``
is ``run2``, "the output path runs this cycle and the next": the "os" engine's mesh runs a cycle
behind its sequencer (``Engine.back_lag``), so its rows come a cycle after the enabled cycle that
made them (``res_en``), and the output path must take them then. PartialSums, the parameter
lookup and the requantizers run on ``run`` (each requantizer on its own copy), and they take a row
from the engine only on ``res_en`` cycles, which are all ``run`` cycles.
Stalled parts hold their state and the buffer read ports hold their data, so nothing is lost or
duplicated.

Latencies (no stalls): a job's engine ``start`` follows its last parameter beat by
``start_latency`` (2) cycles when the engine is free; a result row reaches ``m_axis_out``
``output_latency`` (hw/psum.py and hw/outpath.py) cycles after it left the engine; so a lone
job whose a/w words arrive no later than the engine reads them has its last output beat
``start_latency + engine.job_cycles(m, k, n) - 1 + output_latency`` cycles after its last
parameter beat, plus ``stream_start_penalty`` (the engine's) when its a/w words were still
arriving at the start.
"""

from __future__ import annotations

from amaranth.hdl import EnableInserter, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.command import command_fields, command_layout
from hw.config import ArrayConfig
from hw.engine import Engine
from hw.engine_os import OSEngine
from hw.engine_ws import WSEngine
from hw.loader import StreamLoader
from hw.memories import unchecked_memory
from hw.outpath import OutPath, outpath_latency
from hw.psum import PSUM_LATENCY, PartialSums
from hw.slots import STREAMS, JobSlots

__all__ = ["QmacTop", "top_signature", "ENGINES"]

#: The engine class of each dataflow.
ENGINES: dict[str, type[Engine]] = {"os": OSEngine, "ws": WSEngine}

#: Port name prefix of each input stream of :data:`hw.slots.STREAMS`.
_PORT = {"a": "s_axis_a", "w": "s_axis_w", "p": "s_axis_param"}


def top_signature(config: ArrayConfig) -> wiring.Signature:
    """The flat port list of ``qmac_top`` for ``config`` (docs/PROTOCOL.md)."""
    members = {"cmd_valid": In(1), "cmd_ready": Out(1)}
    members.update({f"cmd_{name}": In(f.shape) for name, f in command_layout(config)})
    for x, bits in (
        ("a", config.a_tdata_bits),
        ("w", config.w_tdata_bits),
        ("p", config.param_tdata_bits),
    ):
        members.update(
            {
                f"{_PORT[x]}_tdata": In(bits),
                f"{_PORT[x]}_tvalid": In(1),
                f"{_PORT[x]}_tready": Out(1),
                f"{_PORT[x]}_tlast": In(1),
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


def _loader_bounds(config: ArrayConfig) -> dict:
    """The loaders' ``inner_last``/``outer_last`` of each stream as :class:`JobSlots` ``derived``.

    A stream's job has ``ceil(outer / step) * inner`` beats with (inner, outer) = (K, M) for
    activations ("os"; (M, K) for "ws"), (K, N) for weights, (N, 1) for parameters, and ``step``
    the rows (activations), cols (weights) or 1 (parameters) that one block of ``inner`` beats
    covers.
    """
    a_geometry = ("k", "m") if config.dataflow == "os" else ("m", "k")
    geometry = {"a": (*a_geometry, config.rows), "w": ("k", "n", config.cols), "p": ("n", None, 1)}
    bounds = {}
    for x, (inner, outer, step) in geometry.items():
        bounds[f"{x}_inner_last"] = (16, lambda cmd, f=inner: cmd[f] - 1)
        bounds[f"{x}_outer_last"] = (
            signed(18), lambda cmd, f=outer, s=step: (1 if f is None else cmd[f]) - s
        )
    return bounds


def _bits(depth: int) -> int:
    return max(1, (depth - 1).bit_length())


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
        # The engine's stall enable: made here so that the engine can hand it to the parts an
        # EnableInserter does not reach (the DSP blocks of the ECP5 target).
        self._eng_run = Signal(name="eng_run")
        self._engine = ENGINES[config.dataflow](config, en=self._eng_run)
        self._engine._MustUse__silence = True  # used when the top is; the top warns if not
        super().__init__(top_signature(config))

    @property
    def config(self) -> ArrayConfig:
        return self._config

    @property
    def engine(self) -> Engine:
        """The dataflow engine this top instantiates (``ENGINES[config.dataflow]``)."""
        return self._engine

    @property
    def fifo_depth(self) -> int:
        """Entries of the output FIFO (``out_fifo_depth``, at least 4 for the stall margin)."""
        return max(4, self._config.out_fifo_depth)

    @property
    def start_latency(self) -> int:
        """Cycles from the last parameter beat of a job to its engine ``start`` (idle engine):
        the slot's ``p_loaded`` flag, then its registered readiness."""
        return 2

    @property
    def stream_start_penalty(self) -> int:
        """Extra cycles of a job started while its a/w words are still arriving (the engine's)."""
        return self._engine.stream_start_penalty

    @property
    def output_latency(self) -> int:
        """Cycles from a result row on the engine's ``res_*`` to its beat on ``m_axis_out``.

        Partial sums (``hw.psum.PSUM_LATENCY``) + the output path with room in its FIFO
        (``hw.outpath.outpath_latency``: parameter lookup, ``Requant.latency``, output FIFO,
        registered output stage).
        """
        return PSUM_LATENCY + outpath_latency(self._config)

    @property
    def param_words(self) -> int:
        """Words per bank of the parameter memory (``cols`` channels a word; power of two >= 2)."""
        # At least 2 so that the bank bit sits above a non-empty word index.
        return 1 << _bits(-(-self._config.param_depth // self._config.cols))

    def elaborate(self, platform) -> Module:
        m = Module()
        # The engine's start-time values are computed beside the loaders' bounds as each command
        # is taken: no arithmetic on a job's fields between its slot and the engine's registers.
        plan = {f"plan_{name}": v for name, v in self._engine.job_plan_fields.items()}
        derived = {**_loader_bounds(self._config), **plan}
        m.submodules.slots = slots = JobSlots(self._config, derived=derived)
        m.submodules.outpath = out = OutPath(self._config, self.param_words, self.fifo_depth)
        m.d.comb += [
            slots.cmd_valid.eq(self.cmd_valid),
            self.cmd_ready.eq(slots.cmd_ready),
            slots.release.eq(out.release),
            # ``pending``: jobs whose slot is free again but whose last beat is not accepted yet.
            self.busy.eq(slots.valid.any() | out.pending),
        ]
        fields = command_fields(self._config)
        m.d.comb += [slots.cmd[name].eq(getattr(self, f"cmd_{name}")) for name in fields]
        loaders, mems = self._loaders(m, slots)
        self._engine_feed(m, slots, loaders, mems, out)
        self._output(m, slots, out, mems["p"])
        m.d.sync += self.cycle_count.eq(self.cycle_count + 1)
        return m

    def _memories(self) -> dict[str, Memory]:
        """The double-banked activation, weight and parameter memories."""
        cfg = self._config
        param_bits = cfg.acc_bits + cfg.mult_bits + cfg.shift_bits
        return {
            "a": unchecked_memory(shape=cfg.rows * cfg.a_bits, depth=2 * cfg.a_buf_depth),
            "w": unchecked_memory(shape=cfg.cols * cfg.w_bits, depth=2 * cfg.w_buf_depth),
            "p": unchecked_memory(shape=cfg.cols * param_bits, depth=2 * self.param_words),
        }

    def _loaders(self, m: Module, slots: JobSlots) -> tuple[dict, dict]:
        """Stream loaders writing the memories, each told its slot's geometry; sticky ``error``."""
        cfg = self._config
        param_bits = cfg.acc_bits + cfg.mult_bits + cfg.shift_bits
        loaders = {
            "a": StreamLoader(
                tdata_bits=cfg.a_tdata_bits,
                payload_bits=cfg.rows * cfg.a_bits,
                addr_bits=_bits(cfg.a_buf_depth),
                step=cfg.rows,
            ),
            "w": StreamLoader(
                tdata_bits=cfg.w_tdata_bits,
                payload_bits=cfg.cols * cfg.w_bits,
                addr_bits=_bits(cfg.w_buf_depth),
                step=cfg.cols,
            ),
            "p": StreamLoader(
                tdata_bits=cfg.param_tdata_bits,
                payload_bits=param_bits,
                addr_bits=_bits(self.param_words),
                step=1,
                lanes=cfg.cols,
            ),
        }
        mems = self._memories()
        for x, mem in mems.items():
            m.submodules[f"{x}_mem"] = mem
        error = Signal()
        for x in STREAMS:
            ld, port = loaders[x], _PORT[x]
            m.submodules[f"{x}_loader"] = ld
            m.d.comb += [
                ld.tdata.eq(getattr(self, f"{port}_tdata")),
                ld.tvalid.eq(getattr(self, f"{port}_tvalid")),
                ld.tlast.eq(getattr(self, f"{port}_tlast")),
            ]
            loaded = getattr(slots, f"{x}_loaded")
            bounds = slots.derived
            # The loader's ``go`` (its ``tready``) and its job's geometry are registered from the
            # slots of the bank it fills, and ``go`` rises a cycle after the geometry settles (the
            # loader registers its end flags from it): ``go`` is low on the two cycles after a
            # job's last beat (the bank has just toggled) and rises two cycles after a new
            # command. Nothing else changes the geometry while ``go`` is high (a slot is
            # rewritten only once free).
            fill = Mux(ld.bank, slots.valid[1] & ~loaded[1], slots.valid[0] & ~loaded[0])
            # ``go`` twice, equal registers kept apart: one drives the loader's counters, the
            # other only the ``tready`` port, wherever the placer puts the port.
            settled = Signal(name=f"{x}_settled")
            go = Signal(name=f"{x}_go", attrs={"keep": 1})
            go_port = Signal(name=f"{x}_go_port", attrs={"keep": 1})
            inner_last = Signal.like(ld.inner_last, name=f"{x}_inner_last")
            outer_last = Signal.like(ld.outer_last, name=f"{x}_outer_last")
            m.d.sync += [
                settled.eq(fill & ~ld.loaded),
                go.eq(settled & fill & ~ld.loaded),
                go_port.eq(settled & fill & ~ld.loaded),
                inner_last.eq(Mux(ld.bank, bounds[1][f"{x}_inner_last"],
                                  bounds[0][f"{x}_inner_last"])),
                outer_last.eq(Mux(ld.bank, bounds[1][f"{x}_outer_last"],
                                  bounds[0][f"{x}_outer_last"])),
            ]
            m.d.comb += [
                ld.go.eq(go),
                getattr(self, f"{port}_tready").eq(go_port),
                ld.inner_last.eq(inner_last),
                ld.outer_last.eq(outer_last),
                getattr(slots, f"{x}_done").eq(ld.loaded),
                getattr(slots, f"{x}_bank").eq(ld.bank),
            ]
            wr = mems[x].write_port(granularity=param_bits) if x == "p" else mems[x].write_port()
            m.d.comb += [wr.addr.eq(ld.w_addr), wr.data.eq(ld.w_data)]
            m.d.comb += wr.en.eq(ld.w_lanes & ld.w_en.replicate(cfg.cols) if x == "p" else ld.w_en)
            with m.If(ld.error):
                m.d.sync += error.eq(1)
        m.d.comb += self.error.eq(error)
        return loaders, mems

    def _engine_feed(self, m: Module, slots: JobSlots, loaders: dict, mems: dict, out) -> None:
        """The engine under ``EnableInserter(eng_run)``, its buffer reads, ``hold`` and ``start``.

        The engine runs when the output path can take its rows (``run``) and the buffer words it
        addresses this cycle have been written (``hold`` low), so a job may start as soon as its
        parameters are in and compute while its a/w words still stream in. It does so only when
        no earlier job is left in the engine: a hold then never delays earlier results (a host
        may send job j+1's activations only after it received job j's outputs).
        """
        cfg = self._config
        engine = self._engine
        eng_run, hold = self._eng_run, Signal()
        # An engine with a back lag applies eng_run itself (docs/ENGINE.md).
        m.submodules.engine = engine if engine.back_lag else EnableInserter(eng_run)(engine)
        a_rd, w_rd = mems["a"].read_port(), mems["w"].read_port()
        m.d.comb += [
            a_rd.addr.eq(engine.a_addr),
            a_rd.en.eq(engine.a_en & eng_run),
            engine.a_data.eq(a_rd.data),
            w_rd.addr.eq(engine.w_addr),
            w_rd.en.eq(engine.w_en & eng_run),
            engine.w_data.eq(w_rd.data),
        ]
        idx_bits = {"a": _bits(cfg.a_buf_depth), "w": _bits(cfg.w_buf_depth)}

        def written(x: str, addr, ahead: bool = False):
            """Word ``addr`` (``ahead``: the one after it) of stream ``x`` has been written."""
            ld, n = loaders[x], idx_bits[x]
            bank, idx = addr[n], addr[:n]
            done = Mux(bank, getattr(slots, f"{x}_loaded")[1], getattr(slots, f"{x}_loaded")[0])
            if not ahead:
                return done | ((ld.bank == bank) & (idx < ld.w_addr[:n]))
            if not engine.reads_ahead:
                return done | ((ld.bank == bank) & (idx < ld.word_m1))
            # With the engine's next address, the comparisons are registered a cycle early from
            # the next values of both sides (the engine's registers move only when enabled).
            # Both sides are compared before eng_run picks one, so that the comparators start
            # from the engine's next values, not from a multiplexer after them.
            addr_n = Mux(eng_run, getattr(engine, f"{x}_addr_next"), addr)
            below = Signal(name=f"{x}_next_below")  # idx < word_m1
            same = Signal(name=f"{x}_next_same")  # ld.bank == bank
            m.d.sync += [
                below.eq(Mux(eng_run, getattr(engine, f"{x}_addr_next")[:n] < ld.word_m1_next,
                             addr[:n] < ld.word_m1_next)),
                same.eq((ld.bank ^ ld.loaded) == addr_n[n]),
            ]
            return done | (same & below)

        if engine.sequential_reads:
            # The engine's read index grows by at most 1 per enabled cycle within a job (it may
            # jump back), so "index + 1 written" now means "next index written" next cycle: the
            # check is registered, keeping the comparators off the path into every enable.
            # On a start the next addresses are word 0 of the new bank.
            a_ok, w_ok = Signal(), Signal()
            a_ok_n, w_ok_n = Signal(), Signal()
            new_bank = engine.job_bank
            with m.If(engine.start & eng_run):
                m.d.comb += [
                    a_ok_n.eq(Mux(new_bank, slots.a_loaded[1], slots.a_loaded[0])),
                    w_ok_n.eq(Mux(new_bank, slots.w_loaded[1], slots.w_loaded[0])),
                ]
            with m.Else():
                m.d.comb += [
                    a_ok_n.eq(written("a", engine.a_addr, ahead=True)),
                    w_ok_n.eq(written("w", engine.w_addr, ahead=True)),
                ]
            m.d.sync += [a_ok.eq(a_ok_n), w_ok.eq(w_ok_n)]
        else:
            a_ok = written("a", engine.a_addr)
            w_ok = written("w", engine.w_addr)
        m.d.comb += hold.eq((engine.a_en & ~a_ok) | (engine.w_en & ~w_ok))
        # With a back lag the rows of an enabled cycle reach the output path back_lag cycles
        # later, so the output path must run then too (run2_next; a lag of one cycle).
        if engine.back_lag:
            assert engine.back_lag == 1, "OutPath guarantees run for one cycle ahead"
            run_n, run = out.run2_next, Signal(name="run2")
            m.d.sync += run.eq(run_n)
        else:
            run_n, run = out.run_next, out.run
        if engine.sequential_reads and engine.reads_ahead:
            # eng_run as a register: next cycle's "out.run & ~hold" from the next values of its
            # terms (the read enables after this cycle, enabled or not, and the checks above), so
            # the enable of every engine register comes straight from a flip-flop.
            a_en_n = Mux(eng_run, engine.a_en_next, engine.a_en)
            w_en_n = Mux(eng_run, engine.w_en_next, engine.w_en)
            run_r = Signal(name="eng_run_r")
            m.d.sync += run_r.eq(run_n & ~((a_en_n & ~a_ok_n) | (w_en_n & ~w_ok_n)))
            m.d.comb += eng_run.eq(run_r)
        else:
            m.d.comb += eng_run.eq(run & ~hold)
        # The cycles whose result rows (res_*) are taken: eng_run, back_lag cycles late.
        res_en = eng_run
        for stage in range(engine.back_lag):
            res_en_d = Signal(name=f"res_en_d{stage + 1}")
            m.d.sync += res_en_d.eq(res_en)
            res_en = res_en_d
        # For tests: the terms whose relation eng_run == run & ~hold the register must keep, and
        # the output path's run, which must be high whenever rows are taken (res_en).
        self.stall_terms = (eng_run, run, hold)
        self.take_terms = (res_en, out.run)
        # Jobs started in the engine whose last result row has not left it yet (0..2).
        in_engine = Signal(range(3))
        # The readiness of the slot that ``eng_ptr`` points at is registered (``can_start``), so
        # that the start, and through it the enables of the sequencer's registers, comes from
        # flip-flops. Its terms only rise until the job starts, so a value one cycle old only
        # delays a start by that cycle; right after a start ``in_engine == 0`` is stale, so no
        # start follows a start at once.
        ready = [
            slots.valid[b]
            & slots.p_loaded[b]
            & ~slots.started[b]
            & ((slots.a_loaded[b] & slots.w_loaded[b]) | (in_engine == 0))
            for b in range(2)
        ]
        can_start = Signal()
        started_now = Signal()
        ptr, slot = slots.eng_ptr, slots.slot
        ptr_next = ptr ^ started_now  # JobSlots moves eng_ptr on with each start
        m.d.sync += can_start.eq(Mux(ptr_next, ready[1], ready[0]) & ~started_now)
        m.d.comb += [
            engine.start.eq(can_start & engine.idle),
            engine.job_bank.eq(ptr),
        ]
        for f in ("m", "k", "n", "x_zp"):
            m.d.comb += getattr(engine, f"job_{f}").eq(Mux(ptr, slot[1][f], slot[0][f]))
        for name in engine.job_plan_fields:
            ours = [slots.derived[b][f"plan_{name}"] for b in range(2)]
            m.d.comb += engine.job_plan[name].eq(Mux(ptr, ours[1], ours[0]))
        finished_now = Signal()
        m.d.comb += [
            started_now.eq(engine.start & eng_run),
            finished_now.eq(engine.res_valid & engine.res_last & res_en),
            slots.start.eq(started_now),
        ]
        with m.If(started_now & ~finished_now):
            m.d.sync += in_engine.eq(in_engine + 1)
        with m.Elif(~started_now & finished_now):
            m.d.sync += in_engine.eq(in_engine - 1)
        # Rows reach the partial sums (and the output path) only on the cycles they are taken
        # (res_en), which are all ``run`` cycles of the output path.
        psum = PartialSums(cfg)
        m.submodules.psum = EnableInserter(out.run)(psum)
        bank = engine.res_bank
        m.d.comb += [
            psum.i_valid.eq(engine.res_valid & res_en),
            psum.i_acc.eq(engine.res_acc),
            psum.i_nb.eq(engine.res_nb),
            psum.i_bank.eq(bank),
            psum.i_last.eq(engine.res_last),
            psum.i_lanes.eq(engine.res_lanes),
            psum.i_cont.eq(Mux(bank, slot[1].acc_cont, slot[0].acc_cont)),
            psum.i_hold.eq(Mux(bank, slot[1].acc_hold, slot[0].acc_hold)),
            out.res_valid.eq(psum.o_valid),
            out.res_acc.eq(psum.o_acc),
            out.res_nb.eq(psum.o_nb),
            out.res_bank.eq(psum.o_bank),
            out.res_last.eq(psum.o_last),
            out.res_lanes.eq(psum.o_lanes),
            out.res_void.eq(psum.o_void),
        ]

    def _output(self, m: Module, slots: JobSlots, out: OutPath, p_mem: Memory) -> None:
        """The output path's parameter reads, its job fields, and the output stream ports.

        A job's slot (command fields, parameter bank) is free once its last row has entered the
        requantizers, which register everything they need from it (``out.release``); the job then
        counts as pending until its last output beat is accepted (``done``).
        """
        p_rd = p_mem.read_port()
        slot = slots.slot
        m.d.comb += [
            p_rd.addr.eq(out.p_addr),
            p_rd.en.eq(out.p_en),
            out.p_data.eq(p_rd.data),
            self.m_axis_out_tdata.eq(out.out_tdata),
            self.m_axis_out_tvalid.eq(out.out_tvalid),
            self.m_axis_out_tlast.eq(out.out_tlast),
            out.out_tready.eq(self.m_axis_out_tready),
            self.done.eq(out.done),
        ]
        for f in ("y_zp", "act_min", "act_max"):
            m.d.comb += getattr(out, f"job_{f}").eq(Mux(out.job_bank, slot[1][f], slot[0][f]))
