"""What a K split costs: stream beats and modelled cycles of a plan against an unsplit ideal.

A layer whose K does not fit one buffer bank is lowered into K chunks (``golden.lowering``); the
array keeps the partial sums on chip, so the split adds no arithmetic. What it can add:

- **beats**: every chunk job sends its own N parameter beats, and the M and N blocks the banks
  allow with a chunk may differ from those of a whole-K job, so activations or weights may be
  streamed more often;
- **cycles**: the jobs of a split follow each other like any jobs (the next chunk loads into the
  other bank while the current one computes), so a split costs cycles only where a job's loads
  take longer than its compute, and where more jobs mean more of the per-job pipeline fill.

The reference is the **unsplit ideal**: the same layer lowered for the same array with banks just
deep enough (powers of two) that its whole K fits one job (:func:`unsplit_config`), which has the
same arithmetic and the same stream formats. ``split_extra_beats`` is the difference of the input
beats (activations, weights, parameters; the output beats are the same) of the two plans, exact.
``split_extra_cycles`` is the difference of their modelled cycles (:func:`plan_model_cycles`, a
throughput model: per job the slowest of its compute, its loads and its output, one beat per
cycle per stream); ``scripts/bench_ksplit.py`` measures both plans on the RTL instead.
"""

from __future__ import annotations

from golden.lowering import Plan, lower
from hw.config import ArrayConfig
from hw.top import QmacTop

__all__ = ["job_beats", "plan_beats", "plan_model_cycles", "split_cost", "unsplit_config"]

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


def plan_beats(plan: Plan, config: ArrayConfig) -> dict[str, int]:
    """Beats of all the jobs of a plan per stream, and ``inputs`` (a + w + param)."""
    total = {"a": 0, "w": 0, "param": 0, "out": 0}
    for job in plan.jobs:
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


def plan_model_cycles(plan: Plan, config: ArrayConfig) -> int:
    """Modelled cycles from the first command to the last output beat of a plan's jobs.

    The first job's parameter beats, then per job ``max(compute, a, w, param, out beats)`` (the
    next job loads while this one computes; each stream moves one beat per cycle), then the
    engine's result latency and the top's output latency of the last rows.
    """
    top = QmacTop(config)
    top._MustUse__silence = True  # built only for its figures
    total = job_beats(plan.jobs[0], config)["param"]
    for job in plan.jobs:
        beats = job_beats(job, config)
        total += max(_compute_cycles(job, top), beats["a"], beats["w"], beats["param"], beats["out"])
    return total + top.engine.result_latency + top.output_latency


def unsplit_config(config: ArrayConfig, k: int) -> ArrayConfig | None:
    """``config`` with banks just deep enough (powers of two) for one job of this K, or None.

    None when no bank depth allowed by ArrayConfig (65536 words) or the ``cmd_k`` port holds K.
    """
    a_words = k if config.dataflow == "os" else -(-k // config.rows)
    need = {"a_buf_depth": a_words, "w_buf_depth": k}
    if k >= 1 << config.dim_bits or max(need.values()) > _DEPTH_LIMIT:
        return None
    deep = {
        name: max(getattr(config, name), 1 << max(0, (words - 1).bit_length()))
        for name, words in need.items()
    }
    return config.replace(**deep)


def split_cost(layer, plan: Plan, config: ArrayConfig) -> dict:
    """The split's figures for ``run_layer``'s stats (see the module docstring).

    Returns
    -------
    dict
        ``k_chunks``, ``beats`` (:func:`plan_beats`), ``model_cycles``, and against the unsplit
        ideal ``unsplit_beats``, ``unsplit_model_cycles``, ``split_extra_beats``,
        ``split_extra_cycles`` (0 when K is not split; None when no unsplit ideal exists).
    """
    beats = plan_beats(plan, config)
    model = plan_model_cycles(plan, config)
    doc = {"k_chunks": plan.k_chunks, "beats": beats, "model_cycles": model}
    if plan.k_chunks == 1:
        ideal, ideal_cycles = beats, model
    else:
        k = sum(j.k for j in plan.jobs[: plan.k_chunks])
        deep = unsplit_config(config, k)
        if deep is None:
            return {**doc, "unsplit_beats": None, "unsplit_model_cycles": None,
                    "split_extra_beats": None, "split_extra_cycles": None}
        ideal_plan = lower(layer, deep)
        ideal, ideal_cycles = plan_beats(ideal_plan, deep), plan_model_cycles(ideal_plan, deep)
    return {
        **doc,
        "unsplit_beats": ideal,
        "unsplit_model_cycles": ideal_cycles,
        "split_extra_beats": beats["inputs"] - ideal["inputs"],
        "split_extra_cycles": model - ideal_cycles,
    }
