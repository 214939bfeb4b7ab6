"""cocotb test module: run a job file through ``qmac_top`` and write a result file.

Not collected by pytest (no ``test_`` prefix); ``sim.layer_runner`` runs it through
``sim.runner.run_cocotb`` with ``QMAC_JOB_FILE`` and ``QMAC_RESULT_FILE`` in the environment.
File formats: :mod:`sim.jobfile`. The test fails on any mismatch, missing output, output frame
of the wrong length, non-zero padding lane, sticky ``error`` or timeout
(:func:`sim.jobfile.protocol_failures`, which the layer runner applies to the result file too),
after writing the result file.
"""

from __future__ import annotations

import os
import time

import cocotb
import numpy as np
from cocotb.triggers import First, Timer

from sim.jobfile import concat, protocol_failures, read_job_file
from sim.testbench import PERIOD_NS, TB


@cocotb.test()
async def run_jobs(dut):
    jobs = read_job_file(os.environ["QMAC_JOB_FILE"])
    tb = TB(dut, jobs)
    t0 = time.perf_counter()
    await tb.reset()
    cocotb.start_soon(tb.sink.run())
    tb.queue_streams()
    cocotb.start_soon(tb.drive_commands())
    timeout = jobs["meta"]["timeout_cycles"]
    # a Timer is one callback; ClockCycles would wake Python every cycle
    await First(tb.sink.all_done.wait(), Timer(timeout * PERIOD_NS, unit="ns"))
    timed_out = len(tb.sink.frames) < tb.nframes
    wall = time.perf_counter() - t0
    res = tb.score()
    out, out_off = concat(res["outs"])
    stamps, stamp_off = concat(res["beat_cycles"])
    np.savez(
        os.environ["QMAC_RESULT_FILE"],
        out=out.astype(np.int64),
        out_off=out_off,
        beat_cycles=stamps.astype(np.int64),
        beat_off=stamp_off,
        cmd_cycle=tb.cmd_cycle,
        mismatches=res["mismatches"],
        bad_padding=res["bad_padding"],
        finished=res["finished"],
        beats=res["beats"],
        trailing_beats=np.int64(res["trailing_beats"]),
        error=np.int64(int(dut.error.value)),
        timeout=np.int64(timed_out),
        wall_seconds=np.float64(wall),
    )
    failures = protocol_failures(
        jobs, timeout=timed_out, error=int(dut.error.value), beats=res["beats"],
        bad_padding=res["bad_padding"], trailing_beats=res["trailing_beats"],
    )
    if res["mismatches"].sum():
        failures.append(f"{int(res['mismatches'].sum())} output values differ")
    assert not failures, "; ".join(failures)
