"""The files that carry jobs into the cocotb test and results back out (``.npz``, NumPy only).

The Python side packs every job's streams once (vectorized) and writes them with the expected
outputs and the testbench switches; the simulator process reads them, so no per-element work
happens inside the simulation. Ragged per-job arrays are stored concatenated with offsets.

Job file keys
-------------
meta : JSON string
    ``{"config": ArrayConfig.to_dict(), "cmd_fields": [...], "gaps": bool, "backpressure": bool,
    "seed": int, "timeout_cycles": int}``.
cmd : (J, F) int64
    Per job the command fields ``meta["cmd_fields"]`` (``hw.command.command_fields``: ``m, k, n,
    x_zp, y_zp, act_min, act_max, acc_cont, acc_hold``), the attributes of the same names of each
    job.
a, w, param : uint8 concatenations of each job's stream bytes, with ``<name>_off`` (J+1,) offsets.
expected : int64 concatenation of each job's expected outputs (``job.out_shape``: (m, n), or
    (0, n) for a job that holds its sums for a K split), row-major, ``expected_off``.

Result file keys
----------------
out, out_off : the outputs received per job (``job.out_shape``; zeros where a job never finished).
beat_cycles, beat_off : ``cycle_count`` at the handshake of each output beat, per job.
cmd_cycle : (J,) ``cycle_count`` at the handshake of each command (-1 if never accepted).
mismatches, bad_padding : (J,) per-job counts from the scoreboard.
beats : (J,) output beats received per job (its frame, up to tlast; 0 if it never ended).
trailing_beats : int, beats received after the last tlast (a frame that never ended).
finished : (J,) bool, error : int (the sticky ``error`` port), timeout : int, wall_seconds : float.

:func:`protocol_failures` turns a job file and the result fields into the list of failures the
testbench detected besides wrong values; the cocotb test and the layer runner both use it, so a
failure the testbench flags cannot pass unnoticed on the Python side.
"""

from __future__ import annotations

import json

import numpy as np

__all__ = [
    "sending_jobs",
    "concat",
    "expected_beats",
    "protocol_failures",
    "read_job_file",
    "split",
    "write_job_file",
]

#: Jobs named one by one in a failure message before the rest are counted.
_LIST = 3


def concat(parts) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate flattened arrays; returns (data, offsets[len(parts) + 1])."""
    parts = [np.asarray(p).reshape(-1) for p in parts]
    off = np.zeros(len(parts) + 1, dtype=np.int64)
    off[1:] = np.cumsum([p.size for p in parts])
    data = np.concatenate(parts) if parts else np.zeros(0)
    return data, off


def split(data: np.ndarray, off: np.ndarray) -> list[np.ndarray]:
    """Inverse of :func:`concat` (flat pieces)."""
    return [data[off[i] : off[i + 1]] for i in range(len(off) - 1)]


def write_job_file(
    path,
    config,
    jobs,
    streams,
    expected,
    *,
    gaps: bool,
    backpressure: bool,
    seed: int,
    timeout_cycles: int,
    inject: tuple[str, ...] = (),
) -> None:
    """Write the job file read by ``sim/cocotb_jobs.py``.

    Parameters
    ----------
    path : path-like
    config : hw.config.ArrayConfig
    jobs : sequence of golden.lowering.Job
    streams : sequence of dict
        ``sim.packing.job_streams`` of each job.
    expected : sequence of (m, n) int arrays
    gaps, backpressure : bool
        Random valid gaps on the input streams; random ready back-pressure on the output.
    seed : int
        Seed of the gap / back-pressure patterns.
    timeout_cycles : int
        The test fails if the outputs are not all in after this many cycles.
    inject : tuple of str
        Faults the testbench injects (``sim.testbench.FAULTS``), for tests of the verdict path.
    """
    # Deferred: the simulator process reads job files and needs no Amaranth.
    from hw.command import command_fields

    fields = command_fields(config)
    meta = {
        "config": config.to_dict(),
        "cmd_fields": list(fields),
        "gaps": bool(gaps),
        "backpressure": bool(backpressure),
        "seed": int(seed),
        "timeout_cycles": int(timeout_cycles),
        "inject": list(inject),
    }
    arrays = {
        "meta": np.array(json.dumps(meta)),
        "cmd": np.array(
            [[getattr(j, f) for f in fields] for j in jobs], dtype=np.int64
        ).reshape(-1, len(fields)),
    }
    for name in ("a", "w", "param"):
        data, off = concat([np.frombuffer(s[name], dtype=np.uint8) for s in streams])
        arrays[name], arrays[f"{name}_off"] = data.astype(np.uint8), off
    data, off = concat([np.asarray(e, dtype=np.int64) for e in expected])
    arrays["expected"], arrays["expected_off"] = data.astype(np.int64), off
    np.savez(path, **arrays)


def read_job_file(path) -> dict:
    """Read a job file: ``meta`` as a dict, the rest as arrays (see the module docstring)."""
    with np.load(path) as f:
        out = {k: f[k] for k in f.files}
    out["meta"] = json.loads(str(out["meta"]))
    return out


def sending_jobs(jobs: dict) -> np.ndarray:
    """(J,) bool: the job sends an output frame (every job but those holding a K split's sums)."""
    fields = jobs["meta"]["cmd_fields"]
    cmd = jobs["cmd"]
    if "acc_hold" not in fields:
        return np.ones(cmd.shape[0], dtype=bool)
    return cmd[:, fields.index("acc_hold")] == 0


def expected_beats(jobs: dict) -> np.ndarray:
    """(J,) output beats of each job of a job file: ``ceil(N / cols) * M``, 0 for a holding job."""
    fields = jobs["meta"]["cmd_fields"]
    cmd = jobs["cmd"]
    m, n = cmd[:, fields.index("m")], cmd[:, fields.index("n")]
    cols = int(jobs["meta"]["config"]["cols"])
    return np.where(sending_jobs(jobs), -(-n // cols) * m, 0).astype(np.int64)


def _jobs(indices) -> str:
    idx = [int(i) for i in indices]
    named = ", ".join(str(i) for i in idx[:_LIST])
    return named + (f" and {len(idx) - _LIST} more" if len(idx) > _LIST else "")


def protocol_failures(
    jobs: dict,
    *,
    timeout: bool,
    error: int,
    beats: np.ndarray,
    bad_padding: np.ndarray,
    trailing_beats: int = 0,
) -> list[str]:
    """What the testbench flagged in a run besides wrong output values, one sentence per kind.

    Parameters
    ----------
    jobs : dict
        The job file (:func:`read_job_file`).
    timeout : bool
        Not every job delivered its output frame within ``meta["timeout_cycles"]``.
    error : int
        The design's sticky ``error`` port at the end of the run.
    beats : (J,) int array
        Output beats received per job (0: its frame never ended).
    bad_padding : (J,) int array
        Output lanes outside N that were not zero, per job.
    trailing_beats : int
        Output beats received after the last tlast (a frame without its tlast).

    Returns
    -------
    list of str
        Empty when the run is clean.
    """
    want = expected_beats(jobs)
    sends = sending_jobs(jobs)
    beats = np.asarray(beats)
    njobs = int(sends.sum())
    failures = []
    wrong = np.flatnonzero((beats != want) & (beats > 0))
    if wrong.size:
        j = int(wrong[0])
        failures.append(
            f"output tlast disagrees with the job's beat count: job {j} ended after {beats[j]} "
            f"beats, expected {want[j]} (jobs {_jobs(wrong)})"
        )
    if timeout:
        done = int(np.count_nonzero(beats[sends] > 0))
        failures.append(
            f"timeout: {done} of {njobs} jobs delivered an output frame within "
            f"{jobs['meta']['timeout_cycles']} cycles (jobs without one: "
            f"{_jobs(np.flatnonzero((beats == 0) & sends))})"
        )
    if trailing_beats:
        failures.append(
            f"{trailing_beats} output beats arrived after the last tlast (a frame that never ended)"
        )
    if error:
        failures.append(
            "the sticky error port is set: an input stream's tlast disagreed with the beat "
            "count of its job"
        )
    bad = np.flatnonzero(np.asarray(bad_padding) != 0)
    if bad.size:
        failures.append(
            f"{int(np.asarray(bad_padding).sum())} output lanes outside N were not zero "
            f"(jobs {_jobs(bad)})"
        )
    return failures
