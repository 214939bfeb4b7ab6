"""The work of one sweep task, run in a worker process (or on a Dask worker).

Three kinds of task, each cached on its own so that a point shares what does not depend on it
(one module each): ``"synth"`` (:mod:`qmac.sweep.task_synth`), ``"sim"``
(:mod:`qmac.sweep.task_sim`) and ``"quant"`` (:mod:`qmac.sweep.task_quant`).
:func:`run_task` never raises for a failing point: it returns ``status="failed"`` with the reason.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

from hw.emit import MODULE_NAME
from qmac.sweep import task_quant, task_sim, task_synth

__all__ = ["KINDS", "run_task"]

#: Task kind -> its module (``run(payload) -> dict``); the module's imports key its cache.
KINDS = {"synth": task_synth, "sim": task_sim, "quant": task_quant}


def run_task(task: dict) -> dict:
    """Run one task; return its result with ``status`` ("ok", "failed"), ``reason``, ``seconds``.

    Parameters
    ----------
    task : dict
        ``{"kind": "synth" | "sim" | "quant", "key": str, "payload": dict}`` as built by
        ``qmac.sweep.run.build_tasks``.
    """
    t0 = time.perf_counter()
    try:
        result = KINDS[task["kind"]].run(task["payload"])
        result.update(status="ok", reason="")
    except Exception as exc:  # noqa: BLE001 - a failing point is a result, the sweep goes on
        reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]
        result = {"status": "failed", "reason": reason, "traceback": traceback.format_exc()[-2000:]}
    result["seconds"] = round(time.perf_counter() - t0, 2)
    if (
        task["kind"] == "synth"
        and result["status"] == "ok"
        and not task["payload"].get("keep_files")
    ):
        # keep logs and stat.json; the Verilog is regenerated in a second when needed
        (Path(task["payload"]["workdir"]) / f"{MODULE_NAME}.v").unlink(missing_ok=True)
    return result
