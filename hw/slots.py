"""JobSlots: the two job slots of ``qmac_top``: command intake, load flags, start and release.

A slot holds one accepted command (:func:`hw.command.command_layout`) from its acceptance until the
job's last result row has entered the requantizers (``release``). Slot ``b`` is also bank ``b`` of
every buffer: jobs take slots in turn (job index mod 2), so three pointers walk the slots in order:
the command pointer (next slot to fill), the engine pointer (next slot to start) and the release
pointer (next slot to free).

Per slot the component keeps ``valid`` (a command is held), one ``loaded`` flag per input stream
(all of the job's words of that stream are in its bank) and ``started`` (the engine took the job).
On one cycle the updates apply in this order, later ones winning: a loader's completion, the
engine's start, the release (a slot's flags are clear once it is free). A freed slot takes a new
command from the next cycle on (``cmd_ready`` follows the registered ``valid``).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.command import command_layout
from hw.config import ArrayConfig

__all__ = ["JobSlots", "STREAMS"]

#: The input streams whose completion each slot tracks: activations, weights, parameters.
STREAMS = ("a", "w", "p")


class JobSlots(wiring.Component):
    """Two job slots with their command handshake and bookkeeping.

    Parameters
    ----------
    config : ArrayConfig

    Members
    -------
    cmd_valid : In(1); cmd_ready : Out(1); cmd : In(command_layout(config))
        Command handshake: a command is taken on a cycle with both high, into slot ``cmd_ptr``.
        ``cmd_ready`` is low while that slot still holds a job.
    slot : Out(ArrayLayout(command_layout(config), 2))
        The commands held (registers).
    valid : Out(2)
        Slot b holds a command.
    a_done, w_done, p_done : In(1); a_bank, w_bank, p_bank : In(1)
        Pulse from a stream's loader: the last word of the job in bank ``<x>_bank`` is written.
    a_loaded, w_loaded, p_loaded : Out(2)
        Slot b's words of that stream are all written.
    start : In(1)
        The engine takes the job of slot ``eng_ptr`` this cycle.
    eng_ptr : Out(1)
        The next slot to start.
    started : Out(2)
        Slot b's job has been started.
    release : In(1)
        The oldest held job has entered the requantizers: free its slot.
    derived : Out(ArrayLayout(StructLayout, 2))
        With ``derived``: values computed from each command as it is taken, held beside it.

    Parameters
    ----------
    config : ArrayConfig
    derived : dict, optional
        ``{name: (shape, function)}``: ``function(cmd)`` (a view of :func:`command_layout`) gives
        a Value registered with the command, so that its consumers do not compute it on their
        paths (e.g. a loader's ``K - 1``).
    """

    def __init__(self, config: ArrayConfig, *, derived: dict | None = None) -> None:
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        self._config = config
        self._derived = dict(derived or {})
        layout = command_layout(config)
        members = {
            "cmd_valid": In(1),
            "cmd_ready": Out(1),
            "cmd": In(layout),
            "slot": Out(data.ArrayLayout(layout, 2)),
            "valid": Out(2),
            "start": In(1),
            "eng_ptr": Out(1),
            "started": Out(2),
            "release": In(1),
        }
        for x in STREAMS:
            members.update({f"{x}_done": In(1), f"{x}_bank": In(1), f"{x}_loaded": Out(2)})
        if self._derived:
            fields = data.StructLayout({k: shape for k, (shape, _) in self._derived.items()})
            members["derived"] = Out(data.ArrayLayout(fields, 2))
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        cmd_ptr, rel_ptr = Signal(), Signal()
        take = Signal()
        m.d.comb += [
            self.cmd_ready.eq(~Mux(cmd_ptr, self.valid[1], self.valid[0])),
            take.eq(self.cmd_valid & self.cmd_ready),
        ]
        for b in range(2):
            with m.If(take & (cmd_ptr == b)):
                m.d.sync += self.slot[b].eq(self.cmd)
                for name, (_, function) in self._derived.items():
                    m.d.sync += self.derived[b][name].eq(function(self.cmd))
        with m.If(take):
            m.d.sync += cmd_ptr.eq(~cmd_ptr)

        for x in STREAMS:
            done, bank, loaded = (getattr(self, f"{x}_{s}") for s in ("done", "bank", "loaded"))
            for b in range(2):
                with m.If(done & (bank == b)):
                    m.d.sync += loaded[b].eq(1)

        with m.If(self.start):
            m.d.sync += self.eng_ptr.eq(~self.eng_ptr)
            for b in range(2):
                with m.If(self.eng_ptr == b):
                    m.d.sync += self.started[b].eq(1)

        with m.If(self.release):
            m.d.sync += rel_ptr.eq(~rel_ptr)
            for b in range(2):
                with m.If(rel_ptr == b):
                    m.d.sync += [self.valid[b].eq(0), self.started[b].eq(0)]
                    m.d.sync += [getattr(self, f"{x}_loaded")[b].eq(0) for x in STREAMS]
        for b in range(2):
            with m.If(take & (cmd_ptr == b)):
                m.d.sync += self.valid[b].eq(1)
        return m
