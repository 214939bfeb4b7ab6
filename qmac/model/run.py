"""Running a :class:`~qmac.model.network.Network` on a backend: ``golden`` (NumPy) or ``rtl``.

``golden`` computes every array op with the golden model (``golden.Layer.output``). ``rtl`` runs
every array op through the lowering on the generated Verilog in Verilator (``sim.run_layer``),
compares its output with the golden layer on the same input before the next op consumes it, and
stops with :class:`NetworkMismatch` at the first op that differs (or, with
``stop_on_mismatch=False``, counts the differences and feeds the RTL's output on). Host ops run in
NumPy on both backends, with TFLite's integer semantics. Every intermediate tensor can be kept.
:func:`check_fits` lowers every array op onto a config before anything runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from golden.cycles import layer_cycles
from golden.lowering import lower
from qmac.model.network import ArrayOp, Network

__all__ = ["BACKENDS", "OpStats", "NetworkRun", "NetworkMismatch", "run_network", "check_fits"]

BACKENDS = ("golden", "rtl")


@dataclass
class OpStats:
    """What one op cost and whether it was right.

    ``cycles``, ``utilization``, ``jobs`` are the RTL's (None on the golden backend and for host
    ops); ``ideal_cycles`` is the SCALE-Sim-style ideal of the config (array ops on ``rtl``, and on
    ``golden`` when a config is given); ``macs`` counts padded taps; ``mismatches`` are elements
    that differ from golden (RTL array ops only; 0 elsewhere). ``sim`` holds the layer runner's
    timings and its own mismatch counts (``mismatches``, ``job_mismatches``).
    """

    index: int
    name: str
    op: str
    kind: str
    input_shapes: list[tuple[int, ...]]
    output_shape: tuple[int, ...]
    macs: int = 0
    cycles: int | None = None
    ideal_cycles: int | None = None
    utilization: float | None = None
    jobs: int | None = None
    mismatches: int = 0
    wall_s: float = 0.0
    sim: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "sim"}
        d["input_shapes"] = [list(s) for s in self.input_shapes]
        d["output_shape"] = list(self.output_shape)
        d.update({f"sim_{k}": v for k, v in self.sim.items()})
        return d


@dataclass
class NetworkRun:
    """Result of :func:`run_network`: outputs by tensor name, the intermediates kept, the stats."""

    network: Network
    backend: str
    batch: int
    outputs: dict[str, np.ndarray]
    tensors: dict[str, np.ndarray]
    stats: list[OpStats]
    wall_s: float

    @property
    def cycles(self) -> int | None:
        """RTL cycles of all array ops (None on the golden backend)."""
        c = [s.cycles for s in self.stats if s.kind == "array"]
        return sum(c) if c and all(v is not None for v in c) else None

    @property
    def macs(self) -> int:
        return sum(s.macs for s in self.stats)

    @property
    def mismatches(self) -> int:
        return sum(s.mismatches for s in self.stats)


class NetworkMismatch(Exception):
    """An array op's RTL output differs from the golden layer on the same input.

    Attributes: ``op_index``, ``op_name``, ``count`` (elements that differ), ``detail`` (the
    layer runner's first-mismatch report), ``stats`` (the ops run so far).
    """

    def __init__(self, op_index: int, op_name: str, count: int, detail: str, stats: list) -> None:
        super().__init__(
            f"op {op_index} ({op_name}): {count} output value(s) differ from golden: {detail}"
        )
        self.op_index, self.op_name, self.count = op_index, op_name, count
        self.detail, self.stats = detail, stats


def _check_inputs(network: Network, inputs) -> dict[str, np.ndarray]:
    if not isinstance(inputs, Mapping):
        if len(network.inputs) != 1:
            raise ValueError(f"the network has {len(network.inputs)} inputs "
                             f"({', '.join(network.inputs)}): give them by name")
        inputs = {network.inputs[0]: inputs}
    missing = [n for n in network.inputs if n not in inputs]
    extra = sorted(set(inputs) - set(network.inputs))
    if missing or extra:
        raise ValueError(f"inputs must be exactly the network inputs {list(network.inputs)}, "
                         f"missing {missing}, unknown {extra}")
    values, batch = {}, None
    for name in network.inputs:
        spec = network.tensors[name]
        x = np.asarray(inputs[name])
        if spec.dtype == "int8":
            if x.dtype.kind not in "iu":
                raise TypeError(f"input {name!r} must hold integers (int8 values), not {x.dtype}")
            if x.size and (x.min() < -128 or x.max() > 127):
                raise ValueError(f"input {name!r} must hold int8 values, found "
                                 f"{int(x.min())}..{int(x.max())}")
            x = x.astype(np.int64)
        elif x.dtype.kind != "f":
            raise TypeError(f"input {name!r} must hold floats, not {x.dtype}")
        if x.shape[1:] != spec.shape[1:]:
            want = ", ".join(map(str, spec.shape[1:]))
            raise ValueError(f"input {name!r} must have shape (N, {want}), not {x.shape}")
        if batch is not None and len(x) != batch:
            raise ValueError(f"inputs have different batch sizes: {batch} and {len(x)}")
        batch = len(x)
        values[name] = x
    if not batch:
        raise ValueError("inputs must hold at least one sample (batch size 0)")
    return values


def run_network(
    network: Network,
    inputs,
    *,
    backend: str = "golden",
    config=None,
    rounding: str = "tflite",
    mult_bits: int = 32,
    keep_tensors: bool = False,
    gaps: bool = False,
    backpressure: bool = False,
    seed: int = 0,
    on_op: Callable[[int, object], None] | None = None,
    stop_on_mismatch: bool = True,
    target: str = "generic",
) -> NetworkRun:
    """Run ``network`` on ``inputs``.

    Parameters
    ----------
    network : Network
    inputs : ndarray or mapping str -> ndarray
        Per network input, (N, ...) values in the input's dtype (int8 values for an int8 input).
    backend : {"golden", "rtl"}
    config : hw.config.ArrayConfig
        The array (``rtl``); its ``rounding`` and ``mult_bits`` then apply. On ``golden`` it is
        optional and only gives the array ops' ideal cycles.
    rounding, mult_bits : str, int
        Requantization of the array ops on the ``golden`` backend (``golden.requantize``).
    keep_tensors : bool
        Return every intermediate tensor in :attr:`NetworkRun.tensors`.
    gaps, backpressure, seed : bool, bool, int
        Stream gap patterns of the RTL simulation.
    on_op : callable, optional
        ``on_op(index, op)`` before each op runs (progress).
    stop_on_mismatch : bool
        ``rtl``: raise :class:`NetworkMismatch` at the first array op that differs from golden
        (default); with False, count the differences in the op's stats and feed the RTL output to
        the ops after it.
    target : {"generic", "ecp5"}
        ``rtl``: implementation target of the simulated Verilog (``sim.run_layer``).

    Returns
    -------
    NetworkRun

    Raises
    ------
    NetworkMismatch
        ``rtl``: an array op's output differs from golden (the run stops there), unless
        ``stop_on_mismatch`` is False.
    ValueError, TypeError
        Bad inputs or backend, or (``rtl``) an array op the array cannot run (the lowering's
        error, naming the op), before anything runs.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "rtl":
        if config is None:
            raise ValueError("backend 'rtl' needs the array config")
        from sim.cell_models import check_target_name

        check_target_name(target)
        rounding, mult_bits = config.rounding, config.mult_bits
    values = _check_inputs(network, inputs)
    if backend == "rtl":
        check_fits(network, config)
    batch = len(next(iter(values.values())))
    t_start = time.perf_counter()
    stats: list[OpStats] = []
    consumers = _last_use(network)
    for i, op in enumerate(network.ops):
        if on_op is not None:
            on_op(i, op)
        xs = [values[t] for t in op.inputs]
        t0 = time.perf_counter()
        st = OpStats(i, op.name, op.op, op.kind, [x.shape for x in xs], ())
        if isinstance(op, ArrayOp):
            layer = op.layer(xs[0])
            st.macs = layer.macs
            if backend == "golden":
                y = layer.output(rounding=rounding, mult_bits=mult_bits)
                if config is not None:
                    st.ideal_cycles = _ideal(layer, config)
            else:
                y = _run_rtl(i, op, layer, config, st, stats, gaps, backpressure, seed,
                             stop_on_mismatch, target)
        else:
            y = np.asarray(op.apply(xs))
        declared = network.tensors[op.output].shape
        if y.shape[1:] != declared[1:] or len(y) != batch:
            raise RuntimeError(f"op {i} ({op.op} {op.name!r}) produced shape {y.shape}, but the "
                               f"network declares {op.output!r} as (N, {declared[1:]})")
        st.output_shape, st.wall_s = tuple(y.shape), time.perf_counter() - t0
        stats.append(st)
        values[op.output] = y
        if not keep_tensors:
            for t in op.inputs:
                if consumers.get(t) == i and t not in network.outputs:
                    values.pop(t, None)
    outputs = {name: values[name] for name in network.outputs}
    tensors = values if keep_tensors else {}
    return NetworkRun(network, backend, batch, outputs, tensors, stats,
                      time.perf_counter() - t_start)


def _ideal(layer, config) -> int:
    return int(layer_cycles(layer, rows=config.rows, cols=config.cols,
                            dataflow=config.dataflow).cycles)


def _run_rtl(i, op, layer, config, st: OpStats, stats: list, gaps, backpressure, seed,
             stop_on_mismatch: bool = True, target: str = "generic"):
    """One array op on the RTL; its output is checked against the golden layer before use."""
    from sim import run_layer  # the RTL backend only: golden runs need no simulator

    y, s = run_layer(config, layer, gaps=gaps, backpressure=backpressure, seed=seed,
                     target=target)
    st.cycles = int(s["cycles"])
    st.ideal_cycles = int(s["ideal_cycles"]) if "ideal_cycles" in s else _ideal(layer, config)
    st.utilization = float(s.get("utilization", layer.macs / (config.rows * config.cols
                                                              * max(st.cycles, 1))))
    st.jobs = int(s["jobs"]) if "jobs" in s else None
    st.sim = {k: s[k] for k in ("sim_seconds", "build_seconds", "cycles_per_second",
                                "mismatches", "job_mismatches") if k in s}
    want = layer.output(rounding=config.rounding, mult_bits=config.mult_bits)
    y = np.asarray(y)
    st.mismatches = int(np.count_nonzero(y != want)) if y.shape == want.shape else int(want.size)
    if stop_on_mismatch and (st.mismatches or s.get("mismatch") is not None):
        stats.append(st)
        raise NetworkMismatch(i, op.name, max(st.mismatches, 1), str(s.get("mismatch")), stats)
    return np.asarray(y, dtype=np.int64) if y.shape == want.shape else want


def check_fits(network: Network, config) -> None:
    """Lower every array op of ``network`` onto ``config`` (one zero sample), before a run.

    Raises
    ------
    ValueError
        Naming the first op that the array cannot run: a width beyond the config's, or a K that
        no job can hold (``golden.lowering``'s message, with the op's index and name).
    """
    for i, op in enumerate(network.ops):
        if not isinstance(op, ArrayOp):
            continue
        for name in ("a_bits", "w_bits", "out_bits"):
            if getattr(op, name) > getattr(config, name):
                raise ValueError(f"op {i} ({op.name}): {name}={getattr(op, name)} exceeds the "
                                 f"array's {name}={getattr(config, name)}")
        shape = network.tensors[op.input].shape
        x = np.full((1, *shape[1:]), op.x_zp, dtype=np.int64)
        try:
            lower(op.layer(x), config)
        except ValueError as exc:
            raise ValueError(f"op {i} ({op.name}): {exc}") from None


def _last_use(network: Network) -> dict[str, int]:
    """Tensor -> index of the last op reading it (to free intermediates early)."""
    last: dict[str, int] = {}
    for i, op in enumerate(network.ops):
        for t in op.inputs:
            last[t] = i
    return last
