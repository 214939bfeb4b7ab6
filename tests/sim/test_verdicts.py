"""Every failure the testbench detects reaches the caller of ``sim.run_layers`` as a SimError.

Each kind of failure is injected on purpose (``sim.testbench.FAULTS``, or by patching the packed
streams) into a run whose output values are still right, so that only the verdict can tell: before
these checks, such runs returned success.
"""

from __future__ import annotations

import numpy as np
import pytest

import golden
import sim.layer_runner as runner
from hw.config import ArrayConfig
from sim import SimError, run_layer, run_layers
from sim.jobfile import protocol_failures
from sim.testbench import FAULTS

CONFIG = ArrayConfig()  # the 4x4 default: its build is shared with most simulation tests


def _layer(seed: int, n: int = 3) -> golden.Layer:
    """A one-job matmul whose N is not a multiple of cols (so the output has padding lanes)."""
    return golden.make_random_layer("matmul", rng=np.random.default_rng(seed), m=5, k=6, n=n)


def test_clean_run_passes():
    out, stats = run_layer(CONFIG, _layer(0))
    assert stats["mismatch"] is None and stats["bad_padding"] == 0 and stats["error_port"] == 0
    np.testing.assert_array_equal(out, _layer(0).output())


@pytest.mark.parametrize(
    "fault,message",
    [
        (
            "input_tlast",
            r"the sticky error port is set: an input stream's tlast disagreed with the beat count "
            r"of its job",
        ),
        ("out_padding", r"^1 output lanes outside N were not zero \(jobs 0\)$"),
        (
            "out_tlast",
            r"^output tlast disagrees with the job's beat count: job 0 ended after 10 beats, "
            r"expected 5 \(jobs 0\); timeout: 1 of 2 jobs delivered an output frame within \d+ "
            r"cycles \(jobs without one: 1\)$",
        ),
    ],
)
def test_injected_fault_raises(fault, message):
    assert fault in FAULTS
    layers = [_layer(1), _layer(2)]  # two jobs: job 0's frame can run into job 1's
    with pytest.raises(SimError, match=message) as exc:
        run_layers(CONFIG, layers, inject=(fault,))
    assert exc.value.failures and "; ".join(exc.value.failures) == str(exc.value)


def test_lost_tlast_of_a_lone_job(monkeypatch):
    """One job whose output tlast never comes: a timeout with the beats that did arrive."""
    with pytest.raises(
        SimError,
        match=r"^timeout: 0 of 1 jobs delivered an output frame within \d+ cycles \(jobs without "
        r"one: 0\); 5 output beats arrived after the last tlast \(a frame that never ended\)$",
    ):
        run_layer(CONFIG, _layer(5), inject=("out_tlast",))


def test_missing_input_beat_is_a_timeout(monkeypatch):
    """A weight stream one beat short: the job waits for it forever; the run times out."""
    real = runner.job_streams

    def short_w(job, config, rng=None):
        streams = dict(real(job, config, rng=rng))
        streams["w"] = streams["w"][: -(config.w_tdata_bits // 8)]
        return streams

    monkeypatch.setattr(runner, "job_streams", short_w)
    with pytest.raises(SimError, match=r"^timeout: 0 of 1 jobs delivered an output frame"):
        run_layer(CONFIG, _layer(3))


def test_job_mismatch_with_a_matching_layer_is_not_passed(monkeypatch):
    """Wrong job references (the scoreboard's) with a right layer: a defect, never a pass."""
    real = runner.run_jobs_reference

    def off_by_one(jobs, **kw):
        return [e + 1 for e in real(jobs, **kw)]

    monkeypatch.setattr(runner, "run_jobs_reference", off_by_one)
    with pytest.raises(SimError, match=r"job output values differ from the job reference"):
        run_layer(CONFIG, _layer(4))


def test_protocol_failures_reads_each_field():
    """The verdict function on hand-made result fields (no simulator)."""
    jobs = {
        "meta": {"cmd_fields": ["m", "k", "n"], "config": {"cols": 4}, "timeout_cycles": 99},
        "cmd": np.array([[5, 6, 3], [2, 2, 8]]),
    }
    clean = dict(timeout=False, error=0, beats=np.array([5, 4]), bad_padding=np.zeros(2, int))
    assert protocol_failures(jobs, **clean) == []
    assert protocol_failures(jobs, **{**clean, "error": 1})[0].startswith("the sticky error")
    assert protocol_failures(jobs, **{**clean, "bad_padding": np.array([0, 2])}) == [
        "2 output lanes outside N were not zero (jobs 1)"
    ]
    got = protocol_failures(
        jobs, **{**clean, "beats": np.array([9, 0]), "timeout": True}, trailing_beats=3
    )
    assert got == [
        "output tlast disagrees with the job's beat count: job 0 ended after 9 beats, expected 5 "
        "(jobs 0)",
        "timeout: 1 of 2 jobs delivered an output frame within 99 cycles (jobs without one: 1)",
        "3 output beats arrived after the last tlast (a frame that never ended)",
    ]
