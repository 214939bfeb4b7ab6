"""Sweep execution: tasks from a spec, a per-task cache, local or Dask parallelism, progress, rows.

Each task's cache key (:mod:`qmac.sweep.cache`) hashes its kind, its inputs (config, target,
options) and the sources of the code that computes it, so a re-run computes only what is new or
changed. A task's result is written to ``<workdir>/cache/<key>.json`` as soon as it finishes, so an
interrupted sweep resumes where it stopped. Failed tasks are not cached: a re-run retries them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from hw.config import ArrayConfig
from qmac import __version__
from qmac.sweep.cache import load_cached, store, task_key, task_sources_hash
from qmac.sweep.spec import SweepSpec
from qmac.sweep.tasks import KINDS, run_task
from qmac.sweep.workloads import workload_layer
from qmac.synth import tool_versions
from sim import check_layer

__all__ = ["build_tasks", "check_points", "check_scheduler", "run_tasks", "merge_rows", "run_sweep"]

TaskFn = Callable[[dict], dict]


def _describe(axes: dict) -> str:
    return ", ".join(f"{name}={value}" for name, value in axes.items()) or "the defaults"


def check_points(spec: SweepSpec) -> list[dict]:
    """The validated config of every point (``ArrayConfig.to_dict``), in point order.

    A config that ArrayConfig rejects, or one on which the sweep's workload cannot run, is an
    input error of the sweep, raised before anything runs or is written.

    Raises
    ------
    ValueError
        ``"sweep point size=0x4: rows must be in [1, 128], not 0"``: the axis values of the first
        invalid point and what is wrong with it.
    """
    configs = []
    for d, axes in zip(spec.config_dicts(), spec.point_axes(), strict=True):
        try:
            config = ArrayConfig.from_dict(d)
            if spec.workload:
                check_layer(config, workload_layer(spec.workload, config, spec.seed))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"sweep point {_describe(axes)}: {exc}") from None
        configs.append(config.to_dict())
    return configs


def build_tasks(spec: SweepSpec, workdir: str | os.PathLike) -> tuple[list[dict], list[dict]]:
    """Points and the de-duplicated tasks that measure them.

    Returns
    -------
    points : list of dict
        One per (config, target): ``config`` (dict), ``target`` (str or None), ``tasks`` (keys)
        and ``invalid`` (always None: an invalid point is an error, see :func:`check_points`).
    tasks : list of dict
        ``{"kind", "key", "payload"}`` for :func:`qmac.sweep.tasks.run_task`.

    Raises
    ------
    ValueError
        A point whose config is invalid (:func:`check_points`).
    """
    configs = check_points(spec)
    work = Path(workdir)
    gen = {kind: task_sources_hash(kind, spec.design) for kind in KINDS}
    opts = spec.options()
    points: list[dict] = []
    tasks: dict[str, dict] = {}

    def add(kind: str, ident: dict, payload: dict) -> str:
        key = task_key({"kind": kind, "gen": gen[kind], **ident})
        if key not in tasks:
            if kind == "synth":
                payload["workdir"] = str(work / "points" / key)
            tasks[key] = {"kind": kind, "key": key, "payload": payload}
        return key

    for cfg in configs:
        shared = []
        if spec.workload:
            ident = {"config": cfg, "workload": spec.workload, "seed": spec.seed}
            shared.append(add("sim", ident, dict(ident)))
        if spec.with_quant_error:
            # inter-layer tensors follow a_bits unless out_bits is an axis of the sweep
            out_bits = cfg["out_bits"] if "out_bits" in spec.axes else None
            ident = {"a_bits": cfg["a_bits"], "w_bits": cfg["w_bits"],
                     "out_bits": out_bits, "n_test": opts["n_test"]}
            shared.append(add("quant", ident, dict(ident)))
        for t in spec.targets or [None]:
            keys = list(shared)
            if t is not None:
                device = {t: spec.device[t]} if spec.pnr and t in spec.device else {}
                ident = {
                    "config": cfg,
                    "target": t,
                    "design": spec.design,
                    "pnr": spec.pnr,
                    "device": device,
                    "freq_mhz": spec.freq_mhz if device else None,
                }
                payload = dict(ident, timeout_s=spec.timeout_s)
                keys.insert(0, add("synth", ident, payload))
            points.append({"config": cfg, "target": t, "tasks": keys, "invalid": None})
    return points, list(tasks.values())


def run_tasks(
    tasks: list[dict],
    *,
    cache_dir: str | os.PathLike,
    jobs: int | None = None,
    dask: str | None = None,
    progress: bool = True,
    task_fn: TaskFn = run_task,
    cache_only: bool = False,
    on_result: Callable[[dict[str, dict]], None] | None = None,
) -> dict[str, dict]:
    """Run the tasks not in the cache; return {key: result} for all of them.

    Parameters
    ----------
    tasks : list of dict
        From :func:`build_tasks`.
    cache_dir : path
        One JSON per finished task; read first, written as each task finishes.
    jobs : int, optional
        Local worker processes (default: all cores). ``jobs=1`` runs in this process.
    dask : str, optional
        Address of a Dask scheduler (``tcp://host:8786``, or ``inproc://...`` of a LocalCluster);
        the same ``task_fn`` runs on its workers instead of local processes.
    progress : bool
        tqdm bar on stderr: tasks done/total, running, failed, ETA.
    task_fn : callable
        A module-level function (picklable) ``task -> result``; :func:`qmac.sweep.tasks.run_task`.
    cache_only : bool
        Run nothing: tasks not in the cache become failed results "not in the cache" (to report
        on a sweep that is still running or was interrupted).
    on_result : callable, optional
        Called with the results so far after each task finishes (e.g. to write partial results).
    """
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a positive integer, not {jobs!r}")
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    todo = []
    for t in tasks:
        hit = load_cached(cache, t["key"])
        if hit is not None:
            results[t["key"]] = dict(hit, cached=True)
        else:
            todo.append(t)
    if cache_only:
        for t in todo:
            results[t["key"]] = {"status": "failed", "reason": "not in the cache (--cache-only)"}
        todo = []
    # Tasks start in spec order (axis order): list small sizes first to get early partial results.
    from tqdm import tqdm

    bar = tqdm(
        total=len(tasks),
        initial=len(results),
        unit="task",
        disable=not progress,
        dynamic_ncols=True,
        desc="sweep",
    )
    failed = 0

    def finish(task: dict, result: dict, running: int) -> None:
        nonlocal failed
        result["cached"] = False
        results[task["key"]] = result
        if result.get("status") == "ok":
            store(cache, task["key"], result)
        else:
            failed += 1
        bar.set_postfix(running=running, failed=failed, refresh=False)
        bar.update(1)
        if on_result is not None:
            on_result(results)

    try:
        if not todo:
            pass
        elif dask:
            _run_dask(todo, dask, task_fn, finish)
        elif (jobs or os.cpu_count() or 1) == 1:
            for t in todo:
                bar.set_postfix(running=1, failed=failed)
                finish(t, task_fn(t), 0)
        else:
            workers = min(jobs or os.cpu_count() or 1, len(todo))
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                pending = {pool.submit(task_fn, t): t for t in todo}
                try:
                    while pending:
                        bar.set_postfix(running=min(workers, len(pending)), failed=failed)
                        done, _ = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in done:
                            t = pending.pop(fut)
                            finish(t, _outcome(fut), min(workers, len(pending)))
                except BaseException:
                    for fut in pending:
                        fut.cancel()
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    finally:
        bar.close()
    return results


def _outcome(fut) -> dict:
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - a worker that died is a failed point
        return {"status": "failed", "reason": f"worker: {type(exc).__name__}: {exc}"[:500]}


#: Seconds :func:`check_scheduler` waits for a Dask scheduler to answer.
DASK_CONNECT_TIMEOUT_S = 5.0


def check_scheduler(address: str, option: str = "--dask") -> None:
    """Connect to the Dask scheduler at ``address`` and disconnect, or raise ValueError.

    A sweep checks its scheduler before anything runs, even when every task is cached, so that
    an unreachable address is an input error at once rather than a failure after the work.
    """
    from distributed import Client

    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError (bad address)
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(
            f"{option} {address}: no Dask scheduler answered within "
            f"{DASK_CONNECT_TIMEOUT_S:g} s ({text})"
        ) from None
    client.close()


def _run_dask(todo: list[dict], address: str, task_fn: TaskFn, finish) -> None:
    from distributed import Client, as_completed

    with Client(address) as client:
        futures = {
            client.submit(task_fn, t, key=f"qmac-{t['kind']}-{t['key']}", pure=False): t
            for t in todo
        }
        left = len(futures)
        for fut in as_completed(list(futures)):
            left -= 1
            finish(futures[fut], _outcome(fut), left)


_DROP = {"traceback", "cells_by_type", "pnr_utilization"}


def merge_rows(
    points: list[dict], results: dict[str, dict], *, missing: str = "not run"
) -> list[dict]:
    """One flat row per point: config fields, target, status, reason and all task measurements."""
    rows = []
    for i, p in enumerate(points):
        cfg = p["config"]
        row: dict = {"point": i, "name": _name(cfg), "target": p["target"], **cfg}
        reasons, seconds = [], 0.0
        if p["invalid"]:
            reasons.append(p["invalid"])
        for key in p["tasks"]:
            r = results.get(key, {"status": "failed", "reason": missing})
            seconds += r.get("seconds", 0.0) if not r.get("cached") else 0.0
            if r.get("status") != "ok":
                reasons.append(r.get("reason", "failed"))
            row.update(
                {
                    k: v
                    for k, v in r.items()
                    if k not in _DROP and k not in ("status", "reason", "seconds", "cached")
                }
            )
        row["status"] = "failed" if reasons else "ok"
        row["reason"] = "; ".join(reasons)
        row["task_s"] = round(seconds, 2)
        rows.append(row)
    return rows


def _name(cfg: dict) -> str:
    try:
        return ArrayConfig.from_dict(cfg).name
    except (TypeError, ValueError):
        return "invalid"


def run_sweep(
    spec: SweepSpec,
    *,
    workdir: str | os.PathLike,
    jobs: int | None = None,
    dask: str | None = None,
    progress: bool = True,
    task_fn: TaskFn = run_task,
    command: str = "",
    output: str | os.PathLike | None = None,
    cache_only: bool = False,
) -> dict:
    """Run a whole sweep and return the results document ``{"meta": {...}, "rows": [...]}``.

    With ``output``, the document is also written there (atomically) after every finished task,
    with ``meta["partial"] = True`` and the points still running marked "pending", so an
    interrupted or still-running sweep can be reported on; the final document replaces it.

    Raises
    ------
    ValueError
        Before anything runs or is written: an invalid point (:func:`check_points`), or a Dask
        scheduler that does not answer (:func:`check_scheduler`).
    """
    t0 = time.time()
    points, tasks = build_tasks(spec, workdir)
    if dask:
        check_scheduler(dask)

    def document(results: dict[str, dict], partial: bool) -> dict:
        rows = merge_rows(points, results, missing="pending" if partial else "not run")
        return {
            "meta": _meta(spec, command, t0, tasks, results, rows, jobs, dask, partial),
            "rows": rows,
        }

    def write(doc: dict) -> None:
        if output is not None:
            path = Path(output)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(doc, indent=1, sort_keys=True))
            os.replace(tmp, path)

    results = run_tasks(
        tasks,
        cache_dir=Path(workdir) / "cache",
        jobs=jobs,
        dask=dask,
        progress=progress,
        task_fn=task_fn,
        cache_only=cache_only,
        on_result=(lambda r: write(document(r, True))) if output is not None else None,
    )
    doc = document(results, False)
    write(doc)
    return doc


def _meta(spec, command, t0, tasks, results, rows, jobs, dask, partial) -> dict:
    return {
        "command": command,
        "versions": {"qmac": __version__, **tool_versions()},
        "spec": spec.to_dict(),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)),
        "wall_s": round(time.time() - t0, 1),
        "tasks": len(tasks),
        "tasks_cached": sum(1 for r in results.values() if r.get("cached")),
        "failed_points": sum(1 for r in rows if r["status"] != "ok"),
        "jobs": jobs or os.cpu_count(),
        "dask": dask,
        "partial": partial,
    }
