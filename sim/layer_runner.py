"""Run layers through the generated Verilog on Verilator and compare with the golden model.

``run_layer(config, layer)`` lowers the layer into jobs (``golden.lowering``), packs the streams
(``sim.packing``), runs them in one simulation (``sim/cocotb_jobs.py`` on the cached build of
``sim.runner.build``), checks every job against the job reference inside the testbench, reassembles
the outputs and compares them with the layer computed directly by ``golden`` (so the lowering is
checked too). ``run_layers`` batches several layers into one simulator run. ``target="ecp5"``
runs the ECP5-target Verilog (MULT18X18D blocks and CCU2C chains on their simulation models,
``sim.runner.build``) instead of the generic one: same ports, same testbench, same checks.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from golden.cycles import layer_cycles
from golden.lowering import Plan, lower, run_jobs_reference
from sim.cell_models import check_target_name
from sim.jobfile import protocol_failures, read_job_file, split, write_job_file
from sim.packing import job_streams
from sim.runner import build, cache_root, run_cocotb
from sim.split_cost import split_cost

__all__ = [
    "LayerMismatch",
    "SimError",
    "check_layer",
    "find_mismatch",
    "run_jobs",
    "run_layer",
    "run_layers",
]

SIM_DIR = Path(__file__).parent
#: The cocotb test module the simulator runs (by name, so no import statement names it: caches of
#: simulation results add its sources, see ``qmac.sweep.cache``).
TESTBENCH_MODULE = "sim.cocotb_jobs"


class SimError(RuntimeError):
    """The simulation failed for a reason other than wrong output values.

    A timeout, jobs that never finished, an output frame whose tlast disagrees with its job, a
    non-zero output lane outside N, the design's sticky ``error`` port, a crashed simulator or
    testbench: every failure the testbench detects (:func:`sim.jobfile.protocol_failures`).
    The message names each of them; ``failures`` lists them.
    """

    def __init__(self, message: str, failures: list[str] | None = None) -> None:
        super().__init__(message)
        self.failures = list(failures) if failures is not None else [message]


@dataclass(eq=False)
class LayerMismatch(Exception):
    """The first output element where the RTL differs from the golden layer.

    Attributes
    ----------
    index : tuple of int
        Index of the element in the layer output (e.g. NHWC).
    job : int
        Job (tile) that produced it, ``m``/``n`` its coordinates inside that job.
    cycle : int
        ``cycle_count`` when its output beat left the array (-1 if it never did).
    expected, actual : int
    count : int
        Total number of differing elements of the layer.
    """

    index: tuple
    job: int
    m: int
    n: int
    row0: int
    channel: int
    cycle: int
    expected: int
    actual: int
    count: int

    def __str__(self) -> str:
        return (
            f"{self.count} output value(s) differ; first at output index {self.index}: "
            f"expected {self.expected}, got {self.actual} (job {self.job}, tile rows from "
            f"{self.row0}, job row {self.m}, job column {self.n} = channel {self.channel}, "
            f"left the array at cycle {self.cycle})"
        )


@dataclass
class JobRun:
    """Raw result of :func:`run_jobs`: per-job outputs and cycle stamps."""

    outputs: list
    beat_cycles: list
    cmd_cycle: np.ndarray
    mismatches: np.ndarray
    bad_padding: np.ndarray
    finished: np.ndarray
    beats: np.ndarray
    error: int
    timeout: bool
    failures: list
    sim_seconds: float
    wall_seconds: float
    build_seconds: float
    wave_file: str | None
    messages: list


def _check_widths(config, layer) -> None:
    for name in ("a_bits", "w_bits", "out_bits"):
        if getattr(layer, name) > getattr(config, name):
            raise ValueError(
                f"layer {name}={getattr(layer, name)} exceeds the array's "
                f"{name}={getattr(config, name)}"
            )


def check_layer(config, layer) -> Plan:
    """The jobs of ``layer`` on ``config``, or the ValueError :func:`run_layer` would raise.

    For a command line that checks its input before a build of minutes.
    """
    _check_widths(config, layer)
    return lower(layer, config)


def run_jobs(
    config,
    jobs,
    expected,
    *,
    gaps: bool = False,
    backpressure: bool = False,
    waves: bool = False,
    seed: int = 0,
    log: bool = False,
    build_info=None,
    inject: tuple[str, ...] = (),
    target: str = "generic",
) -> JobRun:
    """Run jobs through the simulated ``qmac_top`` (one simulation) and read back the results.

    Parameters
    ----------
    config : hw.config.ArrayConfig
    jobs : sequence of golden.lowering.Job
    expected : sequence of int arrays
        What the testbench's scoreboard compares each job's output with (shape
        ``job.out_shape``: ``(0, n)`` for a job that holds its sums for a K split).
    gaps, backpressure : bool
        Random valid gaps on the inputs / random ready back-pressure on the output.
    waves : bool
        Record waveforms (the run folder is kept; ``wave_file`` names the file).
    seed : int
        Seed of the gap and back-pressure patterns and of the don't-care lane fill.
    log : bool
        Let the simulator print to the console (else its log goes into the run folder).
    build_info : sim.runner.BuildInfo, optional
        Use this model instead of ``build(config, waves=waves)`` (e.g. to keep one model while the
        generator sources change underneath a long benchmark).
    inject : tuple of str
        Faults for the testbench to inject (``sim.testbench.FAULTS``), to test that failures
        reach the caller.
    target : {"generic", "ecp5"}
        Implementation target of the simulated Verilog (``sim.runner.build``); a ``build_info``
        must be of this target.

    Returns
    -------
    JobRun
        ``failures`` lists what the testbench flagged besides wrong values (empty when clean).
    """
    t0 = time.perf_counter()
    _check_build_target(build_info, target)
    info = build_info if build_info is not None else build(config, waves=waves, target=target)
    rng = np.random.default_rng(seed)
    streams = [job_streams(j, config, rng=rng) for j in jobs]
    beats = sum(
        len(s["a"]) * 8 // config.a_tdata_bits + len(s["w"]) * 8 // config.w_tdata_bits
        for s in streams
    )
    work = sum(
        -(-j.m // config.rows) * -(-j.n // config.cols) * (j.k + config.rows + config.cols)
        for j in jobs
    )
    timeout = 20 * (beats + work) + 5000
    runs = cache_root() / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{config.name}_", dir=runs))
    job_file, result_file = folder / "jobs.npz", folder / "result.npz"
    write_job_file(
        job_file,
        config,
        jobs,
        streams,
        expected,
        gaps=gaps,
        backpressure=backpressure,
        seed=seed,
        timeout_cycles=timeout,
        inject=inject,
    )
    run = run_cocotb(
        info,
        TESTBENCH_MODULE.rpartition(".")[2],
        module_dir=SIM_DIR,
        test_dir=folder / "sim",
        extra_env={"QMAC_JOB_FILE": str(job_file), "QMAC_RESULT_FILE": str(result_file)},
        log_file=None if log else folder / "sim.log",
    )
    if not result_file.is_file():
        tail = ""
        if (folder / "sim.log").is_file():
            tail = "\n".join((folder / "sim.log").read_text(errors="replace").splitlines()[-30:])
        raise SimError(f"simulation wrote no results (run folder {folder}): {run.messages}\n{tail}")
    with np.load(result_file) as r:
        res = {k: r[k] for k in r.files}
    failures = protocol_failures(
        read_job_file(job_file),
        timeout=bool(res["timeout"]),
        error=int(res["error"]),
        beats=res["beats"],
        bad_padding=res["bad_padding"],
        trailing_beats=int(res["trailing_beats"]),
    )
    if run.failed and not failures and not res["mismatches"].any():
        # the cocotb test failed for a reason the result file does not show (a testbench crash)
        failures.append(f"the cocotb test failed: {'; '.join(run.messages) or 'no message'}")
    outs = [
        o.reshape(j.out_shape)
        for o, j in zip(split(res["out"], res["out_off"]), jobs, strict=False)
    ]
    wave = str(folder / "sim" / info.wave_file) if waves else None
    if not waves:
        shutil.rmtree(folder, ignore_errors=True)
    return JobRun(
        outs,
        split(res["beat_cycles"], res["beat_off"]),
        res["cmd_cycle"],
        res["mismatches"],
        res["bad_padding"],
        res["finished"],
        res["beats"],
        int(res["error"]),
        bool(res["timeout"]),
        failures,
        float(res["wall_seconds"]),
        time.perf_counter() - t0,
        info.build_seconds if not info.cached else 0.0,
        wave,
        run.messages,
    )


def _check_build_target(build_info, target: str) -> None:
    check_target_name(target)
    if build_info is not None and build_info.target != target:
        raise ValueError(
            f"build_info is a {build_info.target!r} build, not one of target {target!r}"
        )


def find_mismatch(plan: Plan, got: np.ndarray, want: np.ndarray, beat_cycles, cols: int):
    """The first element where ``got`` differs from ``want`` as a :class:`LayerMismatch`, or None.

    Parameters
    ----------
    plan : golden.lowering.Plan
    got, want : ndarray, shape ``plan.out_shape``
    beat_cycles : list of int arrays
        Per job, the cycle of each output beat (beat ``nb*M + m`` carries row m of column block nb).
    cols : int
        Array columns (lanes per output beat).
    """
    bad = np.flatnonzero(got.reshape(-1) != want.reshape(-1))
    if bad.size == 0:
        return None
    first = int(bad[0])
    j, m, n = plan.locate(first)
    job = plan.jobs[j]
    beat = (n // cols) * job.m + m
    cyc = beat_cycles[j]
    cycle = int(cyc[beat]) if beat < len(cyc) else -1
    return LayerMismatch(
        tuple(int(i) for i in np.unravel_index(first, want.shape)),
        j,
        m,
        n,
        job.row0,
        int(job.channels[n]),
        cycle,
        int(want.reshape(-1)[first]),
        int(got.reshape(-1)[first]),
        int(bad.size),
    )


def run_layers(
    config,
    layers,
    *,
    gaps: bool = False,
    backpressure: bool = False,
    waves: bool = False,
    seed: int = 0,
    raise_on_mismatch: bool = False,
    build_info=None,
    inject: tuple[str, ...] = (),
    target: str = "generic",
) -> list:
    """Run several layers in one simulation; ``[(outputs, stats), ...]`` as :func:`run_layer`.

    Raises
    ------
    SimError
        For every failure of the run other than wrong values (see :class:`SimError`).
    ValueError
        A layer the array cannot run, an unknown ``target`` or a ``build_info`` of another
        target (before anything is built or run).
    """
    _check_build_target(build_info, target)
    layers = list(layers)
    plans = [check_layer(config, layer) for layer in layers]
    jobs = [j for p in plans for j in p.jobs]
    kw = dict(
        rounding=config.rounding,
        mult_bits=config.mult_bits,
        out_bits=config.out_bits,
        a_bits=config.a_bits,
        w_bits=config.w_bits,
        acc_bits=config.acc_bits,
    )
    expected = run_jobs_reference(jobs, **kw)
    run = run_jobs(
        config,
        jobs,
        expected,
        gaps=gaps,
        backpressure=backpressure,
        waves=waves,
        seed=seed,
        build_info=build_info,
        inject=inject,
        target=target,
    )
    failures = list(run.failures)
    if not run.finished.all() and not failures:
        failures.append(f"{int((~run.finished).sum())} of {len(jobs)} jobs did not finish")
    if failures:
        raise SimError("; ".join(failures), failures)
    results, start = [], 0
    for layer, plan in zip(layers, plans, strict=False):
        sl = slice(start, start + len(plan.jobs))
        start = sl.stop
        got = plan.assemble(run.outputs[sl])
        want = layer.output(rounding=config.rounding, mult_bits=config.mult_bits)
        mismatch = find_mismatch(plan, got, want, run.beat_cycles[sl], config.cols)
        first, last = int(run.cmd_cycle[sl][0]), int(run.beat_cycles[sl.stop - 1][-1])
        cycles = last - first + 1
        ideal = layer_cycles(layer, rows=config.rows, cols=config.cols, dataflow=config.dataflow)
        stats = {
            "cycles": cycles,
            "macs": layer.macs,
            "utilization": layer.macs / (config.rows * config.cols * cycles),
            "ideal_cycles": ideal.cycles,
            "ideal_utilization": ideal.utilization,
            "jobs": len(plan.jobs),
            **split_cost(plan, config),
            "mismatches": 0 if mismatch is None else mismatch.count,
            "job_mismatches": int(run.mismatches[sl].sum()),
            "bad_padding": int(run.bad_padding[sl].sum()),
            "error_port": run.error,
            "sim_seconds": run.sim_seconds,
            "wall_seconds": run.wall_seconds,
            "build_seconds": run.build_seconds,
            "cycles_per_second": cycles / max(run.sim_seconds, 1e-9),
            "wave_file": run.wave_file,
            "mismatch": mismatch,
        }
        if len(layers) > 1:
            stats["cycles_per_second"] = (
                int(run.beat_cycles[-1][-1]) - int(run.cmd_cycle[0]) + 1
            ) / max(run.sim_seconds, 1e-9)
        job_bad = int(run.mismatches[sl].sum())
        if mismatch is None and job_bad:
            # the scoreboard saw wrong job outputs that the reassembled layer does not show
            raise SimError(
                f"{job_bad} job output values differ from the job reference although the "
                "reassembled layer equals golden's (a lowering or scoreboard defect)"
            )
        if mismatch is not None and raise_on_mismatch:
            raise mismatch
        results.append((got, stats))
    return results


def run_layer(
    config,
    layer,
    *,
    gaps: bool = False,
    backpressure: bool = False,
    waves: bool = False,
    seed: int = 0,
    raise_on_mismatch: bool = False,
    build_info=None,
    inject: tuple[str, ...] = (),
    target: str = "generic",
):
    """Run one layer on the simulated array.

    Parameters
    ----------
    config : hw.config.ArrayConfig
    layer : golden.Layer
    gaps, backpressure : bool
        Random valid gaps on the input streams / random ready back-pressure on the output.
    waves : bool
        Record waveforms (``stats["wave_file"]``; FST where lz4 headers exist, else VCD).
    seed : int
    raise_on_mismatch : bool
        Raise the :class:`LayerMismatch` instead of returning it in ``stats["mismatch"]``.
    build_info : sim.runner.BuildInfo, optional
        A model from ``sim.runner.build`` to use instead of building (or reusing) one.
    inject : tuple of str
        Faults for the testbench to inject (``sim.testbench.FAULTS``; tests of the verdict).
    target : {"generic", "ecp5"}
        Implementation target of the simulated Verilog (``sim.runner.build``); a ``build_info``
        must be of this target.

    Returns
    -------
    outputs : ndarray of int64, the layer output layout
    stats : dict
        ``cycles`` (first command to last output beat, from ``cycle_count``), ``macs``,
        ``utilization`` = macs / (rows * cols * cycles), ``ideal_cycles`` (golden.cycles), ``jobs``,
        the K split's figures (``sim.split_cost.split_cost``: ``k_chunks``, ``beats``,
        ``model_cycles``, ``unsplit_beats``, ``unsplit_model_cycles``, ``split_extra_beats``,
        ``split_extra_cycles``), ``mismatches`` (elements differing from the golden layer),
        ``mismatch`` (LayerMismatch or None), ``wall_seconds``, ``sim_seconds``,
        ``cycles_per_second``, ``wave_file``.

    Raises
    ------
    SimError
        A timeout, unfinished jobs, an output tlast that disagrees with its job, a non-zero
        output lane outside N, the sticky ``error`` port, or a crashed testbench: every failure
        the testbench detects other than wrong values (those are ``stats["mismatch"]``).
    """
    return run_layers(
        config,
        [layer],
        gaps=gaps,
        backpressure=backpressure,
        waves=waves,
        seed=seed,
        raise_on_mismatch=raise_on_mismatch,
        build_info=build_info,
        inject=inject,
        target=target,
    )[0]
