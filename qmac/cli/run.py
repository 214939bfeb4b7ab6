"""``qmac run``: your own int8 model (.tflite, or .onnx quantized by onnxruntime) on the array.

Examples::

    qmac run examples/models/digits_cnn.tflite --input examples/models/digits_test_x.npy
    qmac run model.tflite --input x.npy --preset int8-16x16 --out y.npy --dump t/ --json s.json
    qmac run examples/models/resnet_uint8_qdq.onnx \
        --input examples/models/digits16_test_x_nchw.npy --preset int8-8x8 --dump build/dump
    qmac run model.tflite --input x.npy --backend golden

Every check comes first (files, the model's ops and tensors, the input's shape and dtype, that
every array op fits the array), then the whole network runs once on the golden backend (seconds),
then on the RTL with a progress bar: conv / depthwise / fully-connected layers through the
lowering on Verilator, each compared integer for integer with golden on the same input before
the next op reads it; the other ops on the host with the model's integer semantics. Prints a
table per op and the totals: array cycles per inference, inferences per second at
``--clock-mhz``, MAC efficiency. Exit code 1 on any mismatch or testbench failure, 2 on bad input.

``--input`` takes the model's input in its own layout, batch first (NHWC for TFLite, NCHW for
ONNX): integers in the model's input quantization, or floats, which the run quantizes as the model
does (TFLite: with the input tensor's scale and zero point; ONNX: by the graph's first
QuantizeLinear) and says which. ``--out`` writes the model's output as the model holds it (int8 for
an int8 TFLite model; an ONNX model's float output dequantized as its graph does). ``--dump DIR``
writes every tensor as ``DIR/<name>.npy`` in the model's own dtype and layout, ``<name>`` being
the tensor's index in the TFLite subgraph, or its ONNX name with characters outside
``A-Za-z0-9._-`` replaced by ``_``; the batch of N inputs stands in place of the model's 1.

ONNX models default to ``--rounding single``: onnxruntime requantizes in float32 (ties to even),
which single rounding matches except on exact ties (docs/ONNX.md); TFLite models to ``tflite``,
the rounding of TFLite's reference kernels.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from qmac.cli import paths
from qmac.cli.argtypes import path as path_arg
from qmac.cli.argtypes import positive_float
from qmac.cli.config_options import add_config_arguments, add_target_argument, config_from_args
from qmac.cli.errors import QmacError, VerificationFailure

__all__ = ["add_arguments", "run", "DEFAULT_CLOCK_MHZ", "LOADERS", "DEFAULT_ROUNDING"]

#: The clock for inferences per second: a round figure near the Fmax of the array on an ECP5 at
#: speed grade -6 (README, "Resources"); --clock-mhz sets another.
DEFAULT_CLOCK_MHZ = 100.0


def _load_tflite(path: Path, args: argparse.Namespace):
    from qmac.model.inputs import prepare_inputs
    from qmac.model.tflite_import import load_tflite

    def prepare(network, arrays, labels):
        values, how = prepare_inputs(network, arrays, labels)
        return network, values, how

    return load_tflite(path), prepare


def _load_onnx(path: Path, args: argparse.Namespace):
    from qmac.model.onnx_import import load_onnx
    from qmac.model.onnx_io import prepare_onnx_input

    def prepare(network, arrays, labels):
        if len(arrays) != 1:
            raise QmacError(f"--input: the ONNX model takes one input, not {len(arrays)}")
        network, feed, note = prepare_onnx_input(network, arrays[0])
        return network, {network.inputs[0]: feed}, [note]

    return load_onnx(path, multiplier=args.onnx_multiplier), prepare


#: Model suffix -> loader(path, args) -> (Network, prepare(network, arrays, labels)).
LOADERS = {".tflite": _load_tflite, ".onnx": _load_onnx}
#: Model suffix -> the rounding that matches the model's own runtime (used unless --rounding).
DEFAULT_ROUNDING = {".tflite": "tflite", ".onnx": "single"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=path_arg,
                        help="full-integer int8 .tflite, or .onnx quantized by onnxruntime")
    parser.add_argument("--input", type=path_arg, action="append", required=True,
                        metavar="X.npy",
                        help="input values (N, ...) in the model's layout: integers in the "
                             "model's input quantization, or floats to quantize; once per input")
    parser.add_argument("--backend", choices=("rtl", "golden"), default="rtl",
                        help="rtl = array ops on Verilator (default), golden = NumPy only")
    parser.add_argument("--onnx-multiplier", choices=("tflite", "onnxruntime"), default="tflite",
                        help="ONNX m0/shift: TFLite's derivation from the float32 scales, or "
                             "onnxruntime's float32 multiplier [tflite]")
    add_config_arguments(parser)
    out = parser.add_argument_group("outputs")
    out.add_argument("--out", type=path_arg, metavar="Y.npy",
                     help="the model's output (.npz keyed by tensor name for several outputs)")
    out.add_argument("--dump", type=path_arg, metavar="DIR",
                     help="every tensor as DIR/<tensor index or ONNX name>.npy")
    out.add_argument("--json", type=path_arg, metavar="S.json",
                     help="the table and totals as JSON")
    sim_group = parser.add_argument_group("simulation")
    sim_group.add_argument("--clock-mhz", type=positive_float, default=DEFAULT_CLOCK_MHZ,
                           metavar="MHZ",
                           help=f"clock for inferences per second [{DEFAULT_CLOCK_MHZ:g}]")
    sim_group.add_argument("--gaps", action="store_true", help="random valid gaps on inputs")
    sim_group.add_argument("--backpressure", action="store_true",
                           help="random ready gaps on the output")
    sim_group.add_argument("--seed", type=int, default=0, help="stream gap seed [0]")
    sim_group.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_target_argument(sim_group)


# ---- checks before any work ------------------------------------------------------------------
def _load_array(path: Path) -> np.ndarray:
    if not path.is_file():
        raise QmacError(f"--input {str(path)!r} does not exist" if not path.exists()
                        else f"--input {str(path)!r} is not a file")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        raise QmacError(f"--input {str(path)!r} is not a NumPy .npy array of numbers (as "
                        "numpy.save writes it)") from None


def _prepare(args):
    """All that bad input can fail, before long work: ``(config, network, values, how)``."""
    from qmac.model.run import check_fits

    for option, target in (("--out", args.out), ("--json", args.json)):
        if target is not None:
            paths.output_file(option, target, example="out.npy", parents=True)
    if args.dump is not None:
        paths.output_dir("--dump", args.dump)
    if not args.model.is_file():
        what = "does not exist" if not args.model.exists() else "is not a file"
        raise QmacError(f"model file {str(args.model)!r} {what}")
    suffix = args.model.suffix.lower()
    if suffix not in LOADERS:
        raise QmacError(f"model file {str(args.model)!r}: unknown format {args.model.suffix!r}; "
                        f"qmac run reads {', '.join(sorted(LOADERS))}")
    config = config_from_args(args)
    if getattr(args, "cfg_rounding", None) is None:
        config = config.replace(rounding=DEFAULT_ROUNDING[suffix])
    network, prepare = LOADERS[suffix](args.model, args)
    if args.out is not None and len(network.outputs) > 1 and args.out.suffix != ".npz":
        raise QmacError(f"--out: the model has {len(network.outputs)} outputs; give a .npz path")
    arrays = [_load_array(p) for p in args.input]
    network, values, how = prepare(network, arrays, [f"--input {str(p)!r}" for p in args.input])
    if args.backend == "rtl":
        check_fits(network, config)
    return config, network, values, how


# ---- the run ---------------------------------------------------------------------------------
def _progress(network, disable: bool):
    from tqdm import tqdm

    bar = tqdm(total=len(network.ops), desc="qmac run", unit="op", disable=disable)
    started = []

    def on_op(i, op) -> None:
        if started:
            bar.update(1)
        started.append(op.name)
        bar.set_postfix_str(op.name)

    return bar, on_op, started


def _run_rtl(args, config, network, values):
    import sim
    from qmac.cli.build_progress import build_model
    from qmac.model.run import NetworkMismatch, run_network

    t0 = time.perf_counter()
    build_model("qmac run", config, target=args.target)
    build_s = time.perf_counter() - t0
    bar, on_op, started = _progress(network, args.no_progress)
    try:
        result = run_network(network, values, backend="rtl", config=config,
                             keep_tensors=args.dump is not None,
                             gaps=args.gaps, backpressure=args.backpressure, seed=args.seed,
                             on_op=on_op, target=args.target)
    except NetworkMismatch as exc:
        bar.close()
        return None, exc, build_s
    except sim.SimError as exc:  # the testbench flagged the run: a failed verification
        bar.close()
        raise VerificationFailure(f"op {started[-1]}: {exc}") from None
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
    native = DEFAULT_ROUNDING[args.model.suffix.lower()]
    if config.rounding != native:
        print(f"  rounding {config.rounding!r}: the model's runtime rounds as {native!r}; "
              "outputs may differ from it by 1 LSB")
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
        "source": network.source,
        "backend": args.backend,
        "target": args.target,
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

    backend = s["backend"] + (f", {s['target']} target" if s["backend"] == "rtl" else "")
    print(f"  {s['network']} on {s['config_name']} ({backend} backend), "
          f"{s['batch']} inference{'s' if s['batch'] != 1 else ''}")
    for line in format_run_table(s["ops"]) + format_totals(s["totals"], config.name):
        print(line)
    if failure is not None:
        print(f"  MISMATCH, run stopped: {failure}")
    elif s["backend"] == "rtl":
        print(f"  0 mismatches: every array op's RTL output equals golden; build "
              f"{s['build_s']} s, golden {s['golden_wall_s']:.2f} s, total {s['wall_s']} s")


def _write_tensors(args, network, result) -> None:
    from qmac.model.source_io import dump_name, dump_tensors, from_network

    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        outs = {name: from_network(network.tensors[name], result.outputs[name])
                for name in network.outputs}
        if len(outs) == 1:
            np.save(args.out, next(iter(outs.values())))
        else:
            np.savez(args.out, **{dump_name(network.tensors[n].source_name or n): v
                                  for n, v in outs.items()})
        print(f"  wrote {args.out}")
    if args.dump is not None:
        files = dump_tensors(network, result.tensors, args.dump)
        print(f"  wrote {len(files)} tensors to {args.dump}/<tensor name>.npy")
