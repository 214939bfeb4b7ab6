"""``qmac run``: a user's TFLite model on the simulated array, each array op checked against golden.

Examples::

    qmac run examples/models/digits_cnn.tflite --input examples/models/digits_test_x.npy
    qmac run model.tflite --input x.npy --preset int8-16x16 --out y.npy --dump t/ --json s.json
    qmac run model.tflite --input x.npy --backend golden

Every check comes first (files, the model's ops and tensors, the input's shape and dtype, that
every array op fits the array), then the whole network runs once on the golden backend (seconds),
then on the RTL with a progress bar: conv / depthwise / fully-connected layers through the
lowering on Verilator, each compared integer for integer with golden on the same input before
the next op reads it; the other ops on the host with TFLite's integer semantics. Prints a table
per op and the totals: array cycles per inference, inferences per second at ``--clock-mhz``, MAC
efficiency. Exit code 1 on any mismatch, 2 on bad input.

``--input`` takes int8 values in the model's input quantization or floats, which are quantized
with the model's input scale and zero point (the run says which). ``--out`` writes the model's
output tensor in its own dtype (int8 for an int8 model), ``--dump DIR`` every activation tensor as
``DIR/<index>.npy``, ``<index>`` being its index in the TFLite subgraph, in the model's dtype and
layout (NHWC), with the batch of N inputs in place of the model's 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from qmac.cli.config_options import add_config_arguments, config_from_args
from qmac.cli.errors import QmacError

__all__ = ["add_arguments", "run", "DEFAULT_CLOCK_MHZ"]

#: The clock for inferences per second: a round figure near the Fmax measured for the 4x4 top on
#: ECP5 (95.1 MHz, LFE5U-85F at speed grade -6, README); --clock-mhz sets another.
DEFAULT_CLOCK_MHZ = 100.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, help="full-integer int8 .tflite model")
    parser.add_argument("--input", type=Path, action="append", required=True, metavar="X.npy",
                        help="input values (N, ...) or one sample: int8 in the model's input "
                             "quantization, or floats to quantize; once per model input")
    parser.add_argument("--backend", choices=("rtl", "golden"), default="rtl",
                        help="rtl = array ops on Verilator (default), golden = NumPy only")
    add_config_arguments(parser)
    out = parser.add_argument_group("outputs")
    out.add_argument("--out", type=Path, metavar="Y.npy",
                     help="the model's output (.npz keyed by tensor index for several outputs)")
    out.add_argument("--dump", type=Path, metavar="DIR",
                     help="every activation tensor as DIR/<tensor index>.npy")
    out.add_argument("--json", type=Path, metavar="S.json", help="the table and totals as JSON")
    sim_group = parser.add_argument_group("simulation")
    sim_group.add_argument("--clock-mhz", type=float, default=DEFAULT_CLOCK_MHZ, metavar="MHZ",
                           help=f"clock for inferences per second [{DEFAULT_CLOCK_MHZ:g}]")
    sim_group.add_argument("--gaps", action="store_true", help="random valid gaps on inputs")
    sim_group.add_argument("--backpressure", action="store_true",
                           help="random ready gaps on the output")
    sim_group.add_argument("--seed", type=int, default=0, help="stream gap seed [0]")
    sim_group.add_argument("--no-progress", action="store_true", help="no progress bar")


# ---- checks before any work ------------------------------------------------------------------
def _check_output(path: Path | None, option: str, *, directory: bool = False) -> None:
    if path is None:
        return
    if directory:
        if path.exists() and not path.is_dir():
            raise QmacError(f"{option} {str(path)!r} exists and is not a directory")
        parent = path if path.exists() else path.parent
    else:
        if path.is_dir():
            raise QmacError(f"{option} {str(path)!r} is a directory, not a file")
        parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise QmacError(f"{option} {str(path)!r}: {str(parent)!r} is not a directory")


def _load_array(path: Path) -> np.ndarray:
    if not path.is_file():
        raise QmacError(f"--input {str(path)!r} does not exist" if not path.exists()
                        else f"--input {str(path)!r} is not a file")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise QmacError(f"--input {str(path)!r} is not a NumPy .npy array: {exc}") from None


def _prepare(args):
    """All that bad input can fail, before long work: ``(config, network, values, how)``."""
    from qmac.model.inputs import prepare_inputs
    from qmac.model.run import check_fits
    from qmac.model.tflite_import import load_tflite

    if args.clock_mhz <= 0 or not np.isfinite(args.clock_mhz):
        raise QmacError(f"--clock-mhz must be > 0, not {args.clock_mhz!r}")
    _check_output(args.out, "--out")
    _check_output(args.json, "--json")
    _check_output(args.dump, "--dump", directory=True)
    config = config_from_args(args)
    network = load_tflite(args.model)
    if args.out is not None and len(network.outputs) > 1 and args.out.suffix != ".npz":
        raise QmacError(f"--out: the model has {len(network.outputs)} outputs; give a .npz path")
    arrays = [_load_array(p) for p in args.input]
    values, how = prepare_inputs(network, arrays, [f"--input {str(p)!r}" for p in args.input])
    if args.backend == "rtl":
        check_fits(network, config)
    return config, network, values, how


# ---- the run ---------------------------------------------------------------------------------
def _progress(network, disable: bool):
    from tqdm import tqdm

    bar = tqdm(total=len(network.ops) + 1, desc="qmac run", unit="op", disable=disable)
    started = []

    def on_op(i, op) -> None:
        if started:
            bar.update(1)
        started.append(op.name)
        bar.set_postfix_str(op.name)

    return bar, on_op, started


def _run_rtl(args, config, network, values):
    import sim
    from qmac.model.run import NetworkMismatch, run_network
    from sim.runner import build

    bar, on_op, started = _progress(network, args.no_progress)
    bar.set_postfix_str(f"building {config.name}")
    t0 = time.perf_counter()
    build(config)
    build_s = time.perf_counter() - t0
    bar.update(1)
    try:
        result = run_network(network, values, backend="rtl", config=config,
                             keep_tensors=args.dump is not None,
                             gaps=args.gaps, backpressure=args.backpressure, seed=args.seed,
                             on_op=on_op)
    except NetworkMismatch as exc:
        bar.close()
        return None, exc, build_s
    except sim.SimError as exc:
        bar.close()
        raise QmacError(f"op {started[-1]}: simulation failed: {exc}") from None
    bar.update(1)
    bar.close()
    return result, None, build_s


def run(args: argparse.Namespace) -> int:
    from qmac.model.run import run_network

    t_start = time.perf_counter()
    config, network, values, how = _prepare(args)
    batch = len(next(iter(values.values())))
    for path, text in zip(args.input, how, strict=True):
        print(f"qmac run: {args.model.name}: input {path} ({batch} sample"
              f"{'s' if batch != 1 else ''}): {text}")
    if config.rounding != "tflite":
        print(f"  rounding {config.rounding!r}: TFLite's kernels round as 'tflite'; outputs "
              "may differ from TFLite's by 1 LSB")
    t0 = time.perf_counter()
    golden_run = run_network(network, values, backend="golden", config=config,
                             rounding=config.rounding, mult_bits=config.mult_bits,
                             keep_tensors=args.dump is not None)
    golden_s = time.perf_counter() - t0
    build_s, failure = 0.0, None
    if args.backend == "rtl":
        result, failure, build_s = _run_rtl(args, config, network, values)
    else:
        result = golden_run
    stats = failure.stats if failure is not None else result.stats
    summary = _summary(args, config, network, stats, batch, how, golden_s, build_s, t_start)
    _print(summary, config, failure)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2))
    if failure is not None:
        return 1
    _write_tensors(args, network, result)
    return 0


def _summary(args, config, network, stats, batch, how, golden_s, build_s, t_start) -> dict:
    from qmac.report.run_table import run_totals

    ops = [st.to_dict() for st in stats]
    totals = run_totals(ops, batch=batch, rows=config.rows, cols=config.cols,
                        clock_mhz=args.clock_mhz)
    return {
        "model": str(args.model),
        "model_sha256": hashlib.sha256(args.model.read_bytes()).hexdigest(),
        "network": network.name,
        "backend": args.backend,
        "config_name": config.name,
        "config": config.to_dict(),
        "inputs": [{"file": str(p), "taken_as": h} for p, h in zip(args.input, how, strict=True)],
        "batch": batch,
        "ops": ops,
        "totals": totals,
        "mismatches": totals["mismatches"],
        "golden_wall_s": round(golden_s, 4),
        "build_s": round(build_s, 2),
        "wall_s": round(time.perf_counter() - t_start, 2),
    }


def _print(s: dict, config, failure) -> None:
    from qmac.report.run_table import format_run_table, format_totals

    print(f"  {s['network']} on {s['config_name']} ({s['backend']} backend), "
          f"{s['batch']} inference{'s' if s['batch'] != 1 else ''}")
    for line in format_run_table(s["ops"]) + format_totals(s["totals"], config.name):
        print(line)
    if failure is not None:
        print(f"  MISMATCH, run stopped: {failure}")
    elif s["backend"] == "rtl":
        print(f"  0 mismatches: every array op's RTL output equals golden; build "
              f"{s['build_s']} s, golden {s['golden_wall_s']:.2f} s, total {s['wall_s']} s")


def _write_tensors(args, network, result) -> None:
    from qmac.model.inputs import to_source_dtype

    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        outs = {name: to_source_dtype(network.tensors[name], result.outputs[name])
                for name in network.outputs}
        if len(outs) == 1:
            np.save(args.out, next(iter(outs.values())))
        else:
            np.savez(args.out, **{network.tensors[n].source_name or n: v
                                  for n, v in outs.items()})
        print(f"  wrote {args.out}")
    if args.dump is not None:
        args.dump.mkdir(parents=True, exist_ok=True)
        count = 0
        for name, values in result.tensors.items():
            spec = network.tensors[name]
            if spec.source_name is None:
                continue
            np.save(args.dump / f"{spec.source_name}.npy", to_source_dtype(spec, values))
            count += 1
        print(f"  wrote {count} tensors to {args.dump}/<tensor index>.npy")
