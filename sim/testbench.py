"""cocotb testbench for ``qmac_top``: clock, reset, drivers, command driver, monitor, scoreboard.

Runs inside the simulator process (imported by ``sim/cocotb_jobs.py``). Each job is one frame per
input stream (tlast on the job's last beat). Per-cycle Python costs 10-50x simulation speed
(TOOLCHAIN.md), so the default drivers sleep while nothing moves:

- inputs: :class:`BeatSource` (lean; sleeps on ``tready`` rising while the design is not ready).
  With ``gaps`` the inputs go through cocotbext-axi ``AxiStreamSource`` s with random pause
  generators instead (an independent driver, and it wakes every cycle anyway to draw gaps);
- output: :class:`BeatSink` stamps every beat with ``cycle_count`` (to report the cycle a wrong
  value left the array) and sleeps on ``tvalid``; with ``backpressure`` it drives tready from a
  random pause pattern;
- commands: issued in order as soon as ``cmd_ready`` allows, so loading overlaps compute.

Fault injection (``meta["inject"]`` of the job file, :data:`FAULTS`) makes the testbench itself
misbehave in one documented way, so that tests can check that every failure the testbench detects
reaches the caller of ``sim.run_layers``. No simulation of a real layer sets it.
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import Event, ReadOnly, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamSource

from sim.jobfile import sending_jobs
from sim.packing import unpack_out

__all__ = ["BeatSink", "BeatSource", "FAULTS", "TB", "wait_high"]

PERIOD_NS = 10

#: Faults the testbench can inject (job file ``meta["inject"]``), each a failure it must report:
#: ``input_tlast`` raises tlast on the first beat of job 0's activation frame (the design's sticky
#: ``error`` must go high; the data are unchanged); ``out_padding`` sets a lane outside N in job 0's
#: received output; ``out_tlast`` ignores the tlast of job 0's last output beat, so the frames no
#: longer match the jobs' beat counts.
FAULTS = ("input_tlast", "out_padding", "out_tlast")


async def wait_high(sig, clk) -> None:
    """Return right after the first rising edge of ``clk`` at which ``sig`` was high.

    Sleeps on ``sig`` rising instead of polling every cycle (``sig`` must change only after clock
    edges, e.g. a registered ready).
    """
    while True:
        await RisingEdge(clk)
        if sig.value:
            return
        await ReadOnly()
        if not sig.value:
            await RisingEdge(sig)


def _pause_pattern(rng: random.Random, busy: float):
    """Endless pause generator: True (pause) with probability ``busy``, in short random bursts."""
    while True:
        pause = rng.random() < busy
        for _ in range(rng.randint(1, 4)):
            yield pause


class BeatSource:
    """Lean AXI4-Stream source: one frame per job, tlast on its last beat, no Python while stalled.

    Sleeps on ``tready`` rising when the design is not ready (e.g. a bank still busy with an earlier
    job) instead of waking every cycle as cocotbext-axi's source does; used when no valid gaps are
    requested (with gaps, the testbench uses cocotbext-axi's ``AxiStreamSource``).

    Parameters
    ----------
    dut : cocotb handle of ``qmac_top``
    prefix : str
        Port prefix (``s_axis_a``).
    """

    def __init__(self, dut, prefix: str):
        self.clk = dut.clk
        self.tdata = getattr(dut, f"{prefix}_tdata")
        self.tvalid = getattr(dut, f"{prefix}_tvalid")
        self.tready = getattr(dut, f"{prefix}_tready")
        self.tlast = getattr(dut, f"{prefix}_tlast")
        self.nbytes = len(self.tdata) // 8
        self.frames: list[list[int]] = []
        self.tvalid.value = 0
        self.tlast.value = 0

    def send_nowait(self, data: bytes) -> None:
        """Queue one frame (whole beats of tdata bytes, little-endian)."""
        nb = self.nbytes
        self.frames.append(
            [int.from_bytes(data[i : i + nb], "little") for i in range(0, len(data), nb)]
        )

    async def run(self) -> None:
        """Send the queued frames back to back (start after queueing them)."""
        for frame in self.frames:
            last = len(frame) - 1
            for i, word in enumerate(frame):
                self.tdata.value = word
                self.tlast.value = int(i == last)
                self.tvalid.value = 1
                await wait_high(self.tready, self.clk)
        self.tvalid.value = 0
        self.tlast.value = 0


class BeatSink:
    """AXI4-Stream sink that records (data, last, cycle) per beat and splits frames on tlast.

    Parameters
    ----------
    dut : cocotb handle of ``qmac_top``
    prefix : str
        Port prefix (``m_axis_out``).
    pause : iterator of bool or None
        Per-cycle "not ready" pattern (back-pressure); None keeps tready high.
    frames_expected : int
        ``all_done`` is set when this many frames are in.
    ignore_tlasts : int
        Fault injection: treat this many first tlast beats as not last.
    """

    def __init__(
        self, dut, prefix: str, pause=None, frames_expected: int = 1, ignore_tlasts: int = 0
    ):
        self.clk = dut.clk
        self.cycle = dut.cycle_count
        self.tdata = getattr(dut, f"{prefix}_tdata")
        self.tvalid = getattr(dut, f"{prefix}_tvalid")
        self.tready = getattr(dut, f"{prefix}_tready")
        self.tlast = getattr(dut, f"{prefix}_tlast")
        self.nbytes = len(self.tdata) // 8
        self.pause = pause
        self.frames: list[tuple[bytes, list[int]]] = []
        self.frames_expected = frames_expected
        self.all_done = Event()
        self._data = bytearray()
        self._cycles: list[int] = []
        self._ignore_tlasts = ignore_tlasts
        self.tready.value = 0 if pause is not None else 1

    @property
    def trailing_beats(self) -> int:
        """Beats received after the last tlast (a frame that has not ended)."""
        return len(self._cycles)

    async def run(self) -> None:
        """Receive forever (start with ``cocotb.start_soon``)."""
        if self.pause is None:
            await self._run_ready()
        else:
            await self._run_paused()

    def _take(self) -> None:
        self._data += self.tdata.value.to_unsigned().to_bytes(self.nbytes, "little")
        self._cycles.append(self.cycle.value.to_unsigned())
        if self.tlast.value and self._ignore_tlasts:
            self._ignore_tlasts -= 1
        elif self.tlast.value:
            self.frames.append((bytes(self._data), self._cycles))
            self._data, self._cycles = bytearray(), []
            if len(self.frames) >= self.frames_expected:
                self.all_done.set()

    async def _run_ready(self) -> None:
        while True:
            await wait_high(self.tvalid, self.clk)
            self._take()

    async def _run_paused(self) -> None:
        ready = False
        while True:
            await RisingEdge(self.clk)
            if ready and self.tvalid.value:
                self._take()
            ready = not next(self.pause)
            self.tready.value = int(ready)


class TB:
    """Testbench for one simulator run of a job file (see :mod:`sim.jobfile`).

    Parameters
    ----------
    dut : cocotb handle of ``qmac_top``
    jobs : dict
        Contents of the job file.
    """

    def __init__(self, dut, jobs: dict):
        self.dut = dut
        self.jobs = jobs
        meta = jobs["meta"]
        self.cfg = SimpleNamespace(**meta["config"])
        self.cfg.out_tdata_bits = len(dut.m_axis_out_tdata)
        self.njobs = jobs["cmd"].shape[0]
        # Jobs that hold their sums for a K split send no output frame.
        self.sends = sending_jobs(jobs)
        self.nframes = int(self.sends.sum())
        self.inject = tuple(meta.get("inject", ()))
        unknown = sorted(set(self.inject) - set(FAULTS))
        if unknown:
            raise ValueError(f"unknown fault {unknown[0]!r}; known: {', '.join(FAULTS)}")
        rng = random.Random(meta["seed"])
        self.sources = {}
        for name in ("param", "w", "a"):
            if meta["gaps"]:
                src = AxiStreamSource(
                    AxiStreamBus.from_prefix(dut, f"s_axis_{name}"),
                    dut.clk,
                    dut.rst,
                    reset_active_level=True,
                )
                src.log.setLevel("WARNING")
                src.set_pause_generator(_pause_pattern(random.Random(rng.random()), 0.3))
            else:
                src = BeatSource(dut, f"s_axis_{name}")
            self.sources[name] = src
        pause = _pause_pattern(random.Random(rng.random()), 0.4) if meta["backpressure"] else None
        self.sink = BeatSink(
            dut, "m_axis_out", pause, self.nframes, ignore_tlasts=int("out_tlast" in self.inject)
        )
        self.cmd_cycle = np.full(self.njobs, -1, dtype=np.int64)
        self.first_mismatch: list[tuple] = []

    async def reset(self) -> None:
        """Start the clock and hold ``rst`` for 4 cycles, command inputs idle."""
        dut = self.dut
        Clock(dut.clk, PERIOD_NS, unit="ns").start()
        dut.cmd_valid.value = 0
        dut.rst.value = 1
        for _ in range(4):
            await RisingEdge(dut.clk)
        dut.rst.value = 0
        await RisingEdge(dut.clk)

    def queue_streams(self) -> None:
        """Queue every job's param / w / a frame at once; the sources follow tready."""
        for name, src in self.sources.items():
            data, off = self.jobs[name], self.jobs[f"{name}_off"]
            frames = [data[off[j] : off[j + 1]].tobytes() for j in range(self.njobs)]
            if name == "a" and "input_tlast" in self.inject:
                frames = self._early_tlast(frames, len(self.dut.s_axis_a_tdata) // 8)
            for frame in frames:
                src.send_nowait(frame)
            if isinstance(src, BeatSource):
                cocotb.start_soon(src.run())

    @staticmethod
    def _early_tlast(frames: list[bytes], beat_bytes: int) -> list[bytes]:
        """Job 0's frame split after its first beat: the same beats, one tlast too early."""
        first = frames[0]
        if len(first) < 2 * beat_bytes:
            raise ValueError("fault input_tlast needs a first activation frame of 2 beats or more")
        return [first[:beat_bytes], first[beat_bytes:], *frames[1:]]

    def _corrupt_padding(self, data: bytes, m: int, n: int) -> bytes:
        """Job output ``data`` with lane ``n % cols`` of the last column block's 1st beat set."""
        cols, bits = self.cfg.cols, self.cfg.out_bits
        if n % cols == 0:
            raise ValueError("fault out_padding needs a job 0 whose N is not a multiple of cols")
        beat = (-(-n // cols) - 1) * m
        bit = beat * self.cfg.out_tdata_bits + (n % cols) * bits
        out = bytearray(data)
        out[bit // 8] |= 1 << (bit % 8)
        return bytes(out)

    async def drive_commands(self) -> None:
        """Issue the commands in order, each as soon as ``cmd_ready`` allows; stamp acceptance."""
        dut = self.dut
        ports = [getattr(dut, f"cmd_{name}") for name in self.jobs["meta"]["cmd_fields"]]
        for j, values in enumerate(self.jobs["cmd"].tolist()):
            for port, value in zip(ports, values, strict=True):
                port.value = value
            dut.cmd_valid.value = 1
            await wait_high(dut.cmd_ready, dut.clk)
            self.cmd_cycle[j] = dut.cycle_count.value.to_unsigned()
            dut.cmd_valid.value = 0

    def score(self) -> dict:
        """Decode the received frames and compare with the expected outputs, integer for integer.

        A job that holds its sums (K split) has a ``(0, n)`` output and counts as finished once
        the frame of the job after it has arrived.
        """
        cmd = self.jobs["cmd"]
        exp_data, exp_off = self.jobs["expected"], self.jobs["expected_off"]
        outs, cycles = [], []
        mism = np.zeros(self.njobs, dtype=np.int64)
        bad_pad = np.zeros(self.njobs, dtype=np.int64)
        finished = np.zeros(self.njobs, dtype=bool)
        beats = np.zeros(self.njobs, dtype=np.int64)
        fields = self.jobs["meta"]["cmd_fields"]
        col_m, col_n = fields.index("m"), fields.index("n")
        frame = np.cumsum(self.sends) - 1  # frame index of each sending job
        for j in range(self.njobs):
            m, n = int(cmd[j, col_m]), int(cmd[j, col_n])
            if not self.sends[j]:
                outs.append(np.zeros((0, n), dtype=np.int64))
                cycles.append(np.zeros(0, dtype=np.int64))
                finished[j] = frame[j] + 1 < len(self.sink.frames)
                continue
            want = exp_data[exp_off[j] : exp_off[j + 1]].reshape(m, n)
            got = np.zeros((m, n), dtype=np.int64)
            beat_cycles = []
            if frame[j] < len(self.sink.frames):
                data, beat_cycles = self.sink.frames[frame[j]]
                beats[j] = len(beat_cycles)
                if frame[j] == 0 and "out_padding" in self.inject:
                    data = self._corrupt_padding(data, m, n)
                try:
                    got, bad_pad[j] = unpack_out(data, SimpleNamespace(m=m, n=n), self.cfg)
                    finished[j] = True
                except ValueError:  # wrong beat count for this job (a tlast in the wrong place)
                    pass
                mism[j] = np.count_nonzero(got != want) if finished[j] else m * n
            else:
                mism[j] = m * n
            outs.append(got)
            cycles.append(np.asarray(beat_cycles, dtype=np.int64))
        return {
            "outs": outs,
            "beat_cycles": cycles,
            "mismatches": mism,
            "bad_padding": bad_pad,
            "finished": finished,
            "beats": beats,
            "trailing_beats": self.sink.trailing_beats,
        }
