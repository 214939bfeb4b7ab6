"""Sweeps: the cartesian product of config axes, each point synthesized, placed and routed,
simulated and evaluated by cached tasks run in local processes or on a Dask cluster.

:mod:`qmac.sweep.spec` (what to measure), :mod:`qmac.sweep.tasks` (one task of each kind),
:mod:`qmac.sweep.cache` (keys and stored results), :mod:`qmac.sweep.run` (execution and rows).
"""

from qmac.sweep.run import build_tasks, merge_rows, run_sweep, run_tasks
from qmac.sweep.spec import SweepSpec, spec_from_toml
from qmac.sweep.workloads import WORKLOADS

__all__ = ["SweepSpec", "spec_from_toml", "WORKLOADS", "build_tasks", "run_tasks", "merge_rows",
           "run_sweep"]
