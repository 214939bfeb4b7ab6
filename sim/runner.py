"""Verilator builds through ``cocotb_tools.runner``, cached per design, and cocotb test runs.

A build is cached under ``$QMAC_CACHE/verilator/<key>`` (default ``~/.cache/qmac/verilator``):
for an ArrayConfig the key is (config digest, generator hash, waves), so a config compiles once per
machine and any change to the generator sources invalidates it (the Verilog is generated in a fresh
interpreter, and cached under the hash of the sources that interpreter imported); for raw Verilog
the key is the hash of the text. A lock file per key serialises builders, so parallel pytest
workers that want the same model build it once and the others wait and reuse it.

Progress: a build takes 15 s to several minutes, so :func:`build` reports what it does to an
optional ``progress`` callback (:class:`BuildProgress` events: waiting for another builder, Verilog
generation, Verilator, the C++ compile with the objects built so far, done); nothing is reported
for a cached model.

Targets: ``build(config, target="ecp5")`` builds the ECP5-target Verilog (MULT18X18D blocks, CCU2C
carry chains, :mod:`hw.target`) with the cells' simulation models (:mod:`sim.cell_models`)
compiled alongside; its key also holds the target and the models' text. The ``generic`` key is
the same as before targets existed.

Waveforms: with ``waves=True`` the model is built with tracing; FST when the lz4 headers exist
(:func:`sim.toolchain.fst_available`), else VCD. :attr:`BuildInfo.wave_format` says which.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sim import build_progress
from sim.build_progress import BuildProgress, ProgressFn
from sim.cell_models import check_target_name, target_models
from sim.toolchain import BUILD_ARGS, MAKEFLAGS, fst_available, setup_verilator

__all__ = [
    "BuildInfo",
    "BuildProgress",
    "TestRun",
    "build",
    "build_verilog",
    "cache_root",
    "free_run_speed",
    "generator_hash",
    "run_cocotb",
]

_STAMP = "qmac_build.json"


@dataclass(frozen=True)
class BuildInfo:
    """A built Verilator model.

    Attributes
    ----------
    build_dir : Path
        Folder holding the model executable and ``qmac_build.json``.
    toplevel : str
        HDL top module name.
    verilog : Path
        The Verilog source the model was built from.
    waves : bool
        Built with tracing.
    wave_format : {"fst", "vcd"} or None
        Waveform format written by test runs (None without waves).
    key : str
        Cache key (folder name).
    cached : bool
        True when an existing build was reused.
    build_seconds : float
        Wall time of the build (of the original build when cached).
    target : {"generic", "ecp5"}
        Implementation target of the Verilog (``generic`` for raw Verilog).
    """

    build_dir: Path
    toplevel: str
    verilog: Path
    waves: bool
    wave_format: str | None
    key: str
    cached: bool
    build_seconds: float
    target: str = "generic"

    @property
    def wave_file(self) -> str | None:
        """Name of the waveform file a test run writes in its test folder."""
        return None if self.wave_format is None else f"dump.{self.wave_format}"


@dataclass(frozen=True)
class TestRun:
    """Outcome of one cocotb simulation.

    Attributes
    ----------
    tests, failed : int
        Test cases reported in the results file and how many failed or errored.
    messages : list of str
        Failure messages of the failed test cases.
    test_dir : Path
        Folder of the run (results.xml, waveforms).
    seconds : float
        Wall time of the simulation.
    """

    tests: int
    failed: int
    messages: list[str]
    test_dir: Path
    seconds: float

    @property
    def passed(self) -> bool:
        return self.tests > 0 and self.failed == 0


def cache_root() -> Path:
    """Root of the qmac cache: ``$QMAC_CACHE`` or ``~/.cache/qmac``."""
    env = os.environ.get("QMAC_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "qmac"


def generator_hash() -> str:
    """Hash of the generator sources on disk (``hw.emit.generator_hash``): any change to what
    emission imports invalidates builds."""
    # Deferred imports of hw in this module keep Amaranth out of the simulator process, which
    # imports sim for its testbench.
    from hw.emit import generator_hash as emit_hash

    return emit_hash()


def _toolchain_tag(waves: bool) -> str:
    import cocotb

    return json.dumps(
        {
            "args": BUILD_ARGS,
            "make": MAKEFLAGS,
            "waves": waves,
            "fst": waves and fst_available(),
            "cocotb": cocotb.__version__,
            "python": sys.version_info[:2],
        },
        sort_keys=True,
    )


def _build_in_cache(
    key: str,
    toplevel: str,
    write_verilog,
    waves: bool,
    progress: ProgressFn | None = None,
    models: Sequence[tuple[str, str]] = (),
    target: str = "generic",
) -> BuildInfo:
    """Build (or reuse) the model under ``key``: ``write_verilog(path)`` writes ``design.v``, and
    each ``(file name, text)`` of ``models`` is written beside it and compiled before it."""
    setup_verilator()
    folder = cache_root() / "verilator" / key
    folder.parent.mkdir(parents=True, exist_ok=True)
    wave_format = ("fst" if fst_available() else "vcd") if waves else None
    lock_path = folder.parent / f"{key}.lock"
    t_start = time.perf_counter()

    def report(stage: str, **kw) -> None:
        if progress is not None:
            progress(BuildProgress(stage, toplevel, key, time.perf_counter() - t_start, **kw))

    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            report("waiting")
            fcntl.flock(lock, fcntl.LOCK_EX)
        t_start = time.perf_counter()
        stamp = folder / _STAMP
        if stamp.is_file():
            meta = json.loads(stamp.read_text())
            return BuildInfo(folder, toplevel, folder / "design.v", waves, wave_format, key, True,
                             meta["build_seconds"], target)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        verilog = folder / "design.v"
        report("verilog")
        sources = []
        try:
            for name, text in models:
                sources.append(folder / name)
                sources[-1].write_text(text)
            write_verilog(verilog)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        t0 = time.perf_counter()
        report("verilator")
        stop = threading.Event()
        watcher = threading.Thread(
            target=build_progress.watch, args=(folder, report, stop), daemon=True
        )
        watcher.start()
        try:
            _verilate(folder, verilog, toplevel, waves, wave_format, sources)
        finally:
            stop.set()
            watcher.join()
        seconds = time.perf_counter() - t0
        _drop_intermediates(folder, toplevel)
        stamp.write_text(json.dumps({"build_seconds": seconds, "toplevel": toplevel}))
        report("done")
        return BuildInfo(folder, toplevel, verilog, waves, wave_format, key, False, seconds,
                         target)


def _verilate(
    folder: Path, verilog: Path, toplevel: str, waves: bool, wave_format,
    models: Sequence[Path] = (),
) -> None:
    """Compile ``verilog`` (cell models ``models`` first) into a Verilator model in ``folder``."""
    args = list(BUILD_ARGS)
    if wave_format == "fst":
        args.append("--trace-fst")
    if waves:
        args += ["--trace-depth", "2"]
    from cocotb_tools.runner import get_runner

    get_runner("verilator").build(
        sources=[*models, verilog],
        hdl_toplevel=toplevel,
        build_dir=folder,
        build_args=args,
        waves=waves,
        timescale=("1ns", "1ps"),
        log_file=folder / "build.log",
    )


def _drop_intermediates(folder: Path, toplevel: str) -> None:
    """Delete the compiler's intermediates (precompiled headers alone are ~145 MB per build)."""
    for pattern in ("*.gch", "*.o", "*.a", "*.d", "*.cpp", "*.h"):
        for path in folder.glob(pattern):
            path.unlink(missing_ok=True)


def build_verilog(
    verilog: str, toplevel: str, *, waves: bool = False, progress: ProgressFn | None = None
) -> BuildInfo:
    """Build (or reuse) a Verilator model of the Verilog text ``verilog``.

    Parameters
    ----------
    verilog : str
        Complete Verilog source.
    toplevel : str
        Top module name.
    waves : bool
        Build with tracing (FST if available, else VCD).
    progress : callable, optional
        Called with a :class:`BuildProgress` as the build goes on (not for a cached model).
    """
    if not isinstance(verilog, str) or not verilog.strip():
        raise ValueError(f"verilog must be a non-empty string, not {verilog!r:.40}")
    h = hashlib.sha256(verilog.encode())
    h.update(_toolchain_tag(waves).encode())
    key = f"v_{toplevel}_{h.hexdigest()[:16]}"
    return _build_in_cache(key, toplevel, lambda p: p.write_text(verilog), waves, progress)


def build(
    config, *, waves: bool = False, progress: ProgressFn | None = None, target: str = "generic"
) -> BuildInfo:
    """Build (or reuse) the Verilator model of ``qmac_top`` for an ArrayConfig.

    The Verilog is generated in a fresh Python process from the ``hw`` sources on disk, which
    reports the generator hash of the sources it imported; the build is cached under that hash.
    So a long-lived process whose ``hw`` modules were imported before a source edit never caches
    Verilog of its stale modules under the new sources' key.

    Parameters
    ----------
    config : hw.config.ArrayConfig
    waves : bool
        Build with tracing (FST if available, else VCD).
    progress : callable, optional
        Called with a :class:`BuildProgress` as the build goes on: when it waits for another
        process building the same model, at each stage, every ``PROGRESS_PERIOD_S`` seconds
        (:mod:`sim.build_progress`)
        while Verilator and the compiler run, and when done. Never called for a cached model.
    target : {"generic", "ecp5"}
        Implementation target of the Verilog (``hw.emit.generate_verilog``); ``ecp5`` compiles
        the vendor cells' simulation models with it (:func:`sim.cell_models.target_models`).

    Returns
    -------
    BuildInfo

    Raises
    ------
    TypeError
        If ``config`` is not an ArrayConfig.
    ValueError
        If ``target`` is not a known target.
    RuntimeError
        If the ``hw`` sources keep changing while the Verilog is generated.
    """
    from hw.config import ArrayConfig
    from hw.emit import MODULE_NAME

    if not isinstance(config, ArrayConfig):
        raise TypeError(f"config must be an ArrayConfig, not {config!r}")
    check_target_name(target)
    models = target_models(target)
    gen_hash = generator_hash()
    for _attempt in range(3):
        key = _build_key(config, gen_hash, waves, target, models)

        def write(path: Path, expected: str = gen_hash) -> None:
            got, text = _generate_verilog(config, target=target)
            if got != expected:
                raise _SourcesChanged(got)
            path.write_text(text)

        try:
            return _build_in_cache(key, MODULE_NAME, write, waves, progress, models, target)
        except _SourcesChanged as changed:
            gen_hash = changed.generator_hash  # the sources changed: build under their new hash
    raise RuntimeError("the hw sources kept changing while the Verilog was generated")


class _SourcesChanged(Exception):
    """The generator sources on disk are not those of the hash the cache key was made from."""

    def __init__(self, generator_hash: str) -> None:
        super().__init__(generator_hash)
        self.generator_hash = generator_hash


def _build_key(
    config,
    gen_hash: str,
    waves: bool,
    target: str = "generic",
    models: Sequence[tuple[str, str]] = (),
) -> str:
    """Cache folder name of a build; the ``generic`` one hashes what it did before targets."""
    h = hashlib.sha256(f"{config.digest}|{gen_hash}".encode())
    h.update(_toolchain_tag(waves).encode())
    tag = ""
    if target != "generic":
        h.update(f"|target {target}".encode())
        for name, text in models:
            h.update(f"|{name}|".encode() + hashlib.sha256(text.encode()).digest())
        tag = f"_{target}"
    return f"{config.name}{tag}_{h.hexdigest()[:16]}{'_w' if waves else ''}"


#: Folder holding the ``hw`` package that :func:`_generate_verilog` generates from.
_ROOT = Path(__file__).resolve().parents[1]

#: Run by :func:`_generate_verilog` in a fresh interpreter: imports emission (and so every source
#: it hashes), checks that the sources did not change meanwhile, then writes the hash and Verilog.
_GENERATE_SCRIPT = """
import importlib.util, json, pathlib, sys
root = pathlib.Path(sys.argv[1])
sys.path.insert(0, str(root))
spec = importlib.util.spec_from_file_location("_qmac_sources", root / "hw" / "sources.py")
sources = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sources)
before = sources.sources_hash(["hw.emit"], root=root)  # the files about to be imported
from hw import emit
from hw.config import ArrayConfig
after = emit.generator_hash(root)
if sources.sources_hash(["hw.emit"], root=root) != before:
    sys.exit(3)
config = ArrayConfig.from_dict(json.loads(sys.argv[2]))
text = emit.generate_verilog(config, target=sys.argv[4])
with open(sys.argv[3], "w") as out:
    json.dump({"generator_hash": after, "verilog": text}, out)
"""


def _generate_verilog(
    config, root: Path | None = None, *, target: str = "generic"
) -> tuple[str, str]:
    """Generate ``qmac_top`` for ``config`` in a fresh interpreter from the sources on disk.

    Parameters
    ----------
    config : hw.config.ArrayConfig
    root : Path, optional
        Folder holding the ``hw`` package (default: this repository).
    target : {"generic", "ecp5"}
        Implementation target (``hw.emit.generate_verilog``).

    Returns
    -------
    (str, str)
        The generator hash of the sources the Verilog was generated from, and the Verilog.
    """
    import subprocess
    import tempfile

    root = _ROOT if root is None else Path(root)
    with tempfile.TemporaryDirectory(prefix="qmac_gen_") as tmp:
        result = Path(tmp) / "verilog.json"
        for _attempt in range(3):
            proc = subprocess.run(
                [sys.executable, "-c", _GENERATE_SCRIPT, str(root),
                 json.dumps(config.to_dict()), str(result), target],
                cwd=tmp,
                capture_output=True,
                text=True,
            )
            if proc.returncode != 3:  # 3: the sources changed during the imports; try again
                break
        if proc.returncode != 0:
            raise RuntimeError(
                f"Verilog generation failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}"
            )
        data = json.loads(result.read_text())
    return data["generator_hash"], data["verilog"]


def _parse_results(path: Path) -> tuple[int, int, list[str]]:
    if not path.is_file():
        return 0, 0, [f"simulation ended without a results file ({path})"]
    tests = failed = 0
    messages: list[str] = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        tests += 1
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None:
            failed += 1
            messages.append(f"{case.get('name')}: {bad.get('message') or (bad.text or '').strip()}")
    return tests, failed, messages


def run_cocotb(
    info: BuildInfo,
    test_module: str,
    *,
    module_dir: str | os.PathLike | None = None,
    test_dir: str | os.PathLike,
    extra_env: Mapping[str, str] | None = None,
    testcase: str | Sequence[str] | None = None,
    seed: int | None = None,
    log_file: str | os.PathLike | None = None,
) -> TestRun:
    """Run cocotb test module ``test_module`` on a built model and read its results.

    Unlike ``Runner.test`` under pytest, this never calls ``sys.exit``: failures are returned in
    :class:`TestRun` (a run that leaves no results file counts as a failure).

    Parameters
    ----------
    info : BuildInfo
    test_module : str
        Importable name of the cocotb test module.
    module_dir : path, optional
        Folder holding the module; put on ``sys.path`` (the simulator's ``PYTHONPATH``).
    test_dir : path
        Folder for results.xml and waveforms (created; use one per run).
    extra_env : mapping, optional
        Environment for the simulation (e.g. the job file path).
    testcase : str or list of str, optional
        Only these test functions.
    seed : int, optional
        cocotb random seed.
    log_file : path, optional
        Simulator output goes here instead of the console.
    """
    setup_verilator()
    if module_dir is not None and str(module_dir) not in sys.path:
        sys.path.insert(0, str(module_dir))
    from cocotb_tools.runner import get_runner

    test_dir = Path(test_dir).resolve()
    test_dir.mkdir(parents=True, exist_ok=True)
    results = test_dir / "results.xml"
    runner = get_runner("verilator")
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
    t0 = time.perf_counter()
    try:
        runner.test(
            test_module=test_module,
            hdl_toplevel=info.toplevel,
            hdl_toplevel_lang="verilog",
            build_dir=info.build_dir,
            test_dir=test_dir,
            extra_env=dict(extra_env or {}),
            testcase=testcase,
            seed=seed,
            waves=info.waves,
            results_xml=str(results),
            timescale=("1ns", "1ps"),
            log_file=log_file,
        )
    except SystemExit:
        pass  # results.xml (or its absence) tells what happened
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved
    seconds = time.perf_counter() - t0
    tests, failed, messages = _parse_results(results)
    if tests == 0:
        failed = max(failed, 1)
    return TestRun(tests, failed, messages, test_dir, seconds)


def free_run_speed(info: BuildInfo, cycles: int) -> dict:
    """Raw speed of a built model: clock only, no testbench Python per cycle.

    Returns
    -------
    dict
        ``cycles``, ``wall_seconds``, ``cycles_per_second``.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="qmac_freerun_") as tmp:
        result = Path(tmp) / "speed.json"
        run = run_cocotb(
            info,
            "cocotb_freerun",
            module_dir=Path(__file__).parent,
            test_dir=tmp,
            extra_env={"QMAC_FREERUN_CYCLES": str(int(cycles)), "QMAC_RESULT_FILE": str(result)},
            log_file=Path(tmp) / "sim.log",
        )
        if not result.is_file():
            raise RuntimeError(f"free-running simulation failed: {run.messages}")
        return json.loads(result.read_text())
