"""What a K split costs: stream beats and modelled cycles of a plan against an unsplit ideal.

A layer whose K does not fit one buffer bank is lowered into chains of K-chunk jobs
(``golden.lowering``); the array keeps the partial sums on chip, so the split adds no arithmetic
and no partial-sum traffic. What it can add:

- **beats**: every job of a chain sends its own N parameter beats (and on "ws" a chunk that is not
  a multiple of ``rows`` rounds its activation words up);
- **cycles**: the jobs of a chain follow each other like any jobs (the next chunk loads into the
  other bank while the current one computes), so a split costs cycles only where a chunk's loads
  take longer than its compute, and through the per-job pipeline figures.

The reference is the **unsplit ideal**: the same output blocks, each computed by one job over the
whole K (:func:`merge_chains`), as on the same array with banks deep enough to hold them
(:func:`unsplit_config`). ``split_extra_beats`` is the difference of the input beats
(activations, weights, parameters; the outputs are the same) of the two, exact.
``split_extra_cycles`` is the difference of their modelled cycles (:func:`plan_model_cycles`, a
throughput model: per job the slowest of its compute, its loads and its output, one beat per
cycle per stream); ``scripts/bench_ksplit.py`` measures both on the RTL.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from golden.lowering import Plan
from hw.config import ArrayConfig
from hw.top import QmacTop

__all__ = [
    "job_beats", "merge_chains", "plan_beats", "plan_model_cycles", "split_cost", "unsplit_config"
]

_DEPTH_LIMIT = 1 << 16


def job_beats(job, config: ArrayConfig) -> dict[str, int]:
    """Beats of one job on each stream (docs/PROTOCOL.md, "Stream formats")."""
    r, c = config.rows, config.cols
    nb = -(-job.n // c)
    a = -(-job.m // r) * job.k if config.dataflow == "os" else -(-job.k // r) * job.m
    return {
        "a": a,
        "w": nb * job.k,
        "param": job.n,
        "out": 0 if job.acc_hold else nb * job.m,
    }


def plan_beats(jobs, config: ArrayConfig) -> dict[str, int]:
    """Beats of a job sequence per stream, and ``inputs`` (a + w + param)."""
    total = {"a": 0, "w": 0, "param": 0, "out": 0}
    for job in jobs:
        for key, value in job_beats(job, config).items():
            total[key] += value
    total["inputs"] = total["a"] + total["w"] + total["param"]
    return total


def _compute_cycles(job, top: QmacTop) -> int:
    """Cycles the engine spends issuing a job's folds (its share of a stream of jobs)."""
    cfg = top.config
    if cfg.dataflow == "os":
        folds = -(-job.m // cfg.rows) * -(-job.n // cfg.cols)
    else:
        folds = -(-job.n // cfg.cols) * -(-job.k // cfg.rows)
    return folds * top.engine.fold_period(job.m, job.k)


def plan_model_cycles(jobs, config: ArrayConfig) -> int:
    """Modelled cycles from the first command to the last output beat of a job sequence.

    The first job's parameter beats, then per job ``max(compute, a, w, param, out beats)`` (the
    next job loads while this one computes; each stream moves one beat per cycle), then the
    engine's result latency and the top's output latency of the last rows.
    """
    top = QmacTop(config)
    top._MustUse__silence = True  # built only for its figures
    jobs = list(jobs)
    total = job_beats(jobs[0], config)["param"]
    for job in jobs:
        beats = job_beats(job, config)
        loads = max(beats["a"], beats["w"], beats["param"], beats["out"])
        total += max(_compute_cycles(job, top), loads)
    return total + top.engine.result_latency + top.output_latency


def merge_chains(jobs) -> list:
    """The unsplit ideal of a job sequence: each K-split chain as one job over its whole K."""
    merged, chain = [], []
    for job in jobs:
        chain.append(job)
        if job.acc_hold:
            continue
        first = chain[0]
        merged.append(dataclasses.replace(
            job,
            k=sum(j.k for j in chain),
            a=np.concatenate([j.a for j in chain], axis=1),
            w=np.concatenate([j.w for j in chain], axis=0),
            acc_cont=False,
            acc_hold=False,
            k0=first.k0,
        ))
        chain = []
    return merged


def unsplit_config(config: ArrayConfig, jobs) -> ArrayConfig | None:
    """``config`` with banks just deep enough (powers of two) for every job, or None.

    None when a job needs more than the 65536 words ArrayConfig allows per bank, or a K beyond
    the ``cmd_k`` port.
    """
    need = {"a_buf_depth": 1, "w_buf_depth": 1}
    for job in jobs:
        beats = job_beats(job, config)
        need["a_buf_depth"] = max(need["a_buf_depth"], beats["a"])
        need["w_buf_depth"] = max(need["w_buf_depth"], beats["w"])
        if job.k >= 1 << config.dim_bits:
            return None
    if max(need.values()) > _DEPTH_LIMIT:
        return None
    deep = {
        name: max(getattr(config, name), 1 << max(0, (words - 1).bit_length()))
        for name, words in need.items()
    }
    return config.replace(**deep)


def split_cost(plan: Plan, config: ArrayConfig) -> dict:
    """The split's figures for ``run_layer``'s stats (see the module docstring).

    Returns
    -------
    dict
        ``k_chunks``, ``beats`` (:func:`plan_beats`), ``model_cycles``, and for the unsplit ideal
        ``unsplit_beats``, ``unsplit_model_cycles``, ``split_extra_beats``,
        ``split_extra_cycles`` (0 when K is not split).
    """
    beats = plan_beats(plan.jobs, config)
    model = plan_model_cycles(plan.jobs, config)
    if plan.k_chunks == 1:
        ideal, ideal_cycles = beats, model
    else:
        merged = merge_chains(plan.jobs)
        ideal, ideal_cycles = plan_beats(merged, config), plan_model_cycles(merged, config)
    return {
        "k_chunks": plan.k_chunks,
        "beats": beats,
        "model_cycles": model,
        "unsplit_beats": ideal,
        "unsplit_model_cycles": ideal_cycles,
        "split_extra_beats": beats["inputs"] - ideal["inputs"],
        "split_extra_cycles": model - ideal_cycles,
    }
