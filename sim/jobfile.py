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
finished : (J,) bool, error : int (the sticky ``error`` port), timeout : int, wall_seconds : float.
"""

from __future__ import annotations

import json

import numpy as np

__all__ = ["concat", "read_job_file", "split", "write_job_file"]


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
