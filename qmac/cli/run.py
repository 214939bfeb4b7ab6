"""``qmac run``: a whole quantized network through the array (RTL) or the golden model.

Examples::

    qmac run examples/models/digits_cnn_qdq.onnx --input examples/models/digits_test_x_nchw.npy \
        --preset int8-8x8 --backend rtl --out logits.npy --dump build/dump --json run.json
    qmac run resnet_uint8_qdq.onnx --input x.npy --backend golden --rounding single

The model's format comes from its suffix (:data:`LOADERS`). ``X.npy`` holds the model's input in
its own layout with the batch first (NCHW for ONNX); floats are quantized as the model does,
integers are taken as its quantized input (the run says which). Every array op runs on the RTL
(``--backend rtl``) and is checked against golden before the next op reads it; host ops run in
NumPy. Prints a per-op table and the totals; ``--out`` writes the model's output as the model
holds it (an ONNX model's float output dequantized as its graph does); ``--dump DIR`` writes
every tensor as ``DIR/<model tensor name>.npy`` in the model's own dtype and layout. Exit code 1
on any RTL mismatch, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from qmac.cli.config_options import add_config_arguments, config_from_args

__all__ = ["add_arguments", "run", "LOADERS", "load_model"]


def _load_onnx(path: Path, args: argparse.Namespace):
    from qmac.model.onnx_import import load_onnx
    from qmac.model.onnx_io import prepare_onnx_input

    return load_onnx(path, multiplier=args.onnx_multiplier), prepare_onnx_input


#: model suffix -> loader(path, args) -> (Network, prepare_input(network, x)).
LOADERS = {".onnx": _load_onnx}


def load_model(path: Path, args: argparse.Namespace):
    """The network of ``path`` and its input preparation, by suffix."""
    loader = LOADERS.get(Path(path).suffix.lower())
    if loader is None:
        raise ValueError(f"model {str(path)!r}: unknown format {Path(path).suffix!r}; qmac run "
                         f"reads {', '.join(sorted(LOADERS))}")
    return loader(Path(path), args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``qmac run`` (see the module docstring)."""
    parser.add_argument("model", type=Path, help="quantized model (.onnx)")
    parser.add_argument("--input", type=Path, required=True, metavar="X.npy",
                        help="model input, batch first, in the model's layout")
    parser.add_argument("--backend", choices=("rtl", "golden"), default="rtl",
                        help="array ops on the simulated Verilog (rtl) or in NumPy [rtl]")
    parser.add_argument("--out", type=Path, metavar="Y.npy", help="save the model's output")
    parser.add_argument("--dump", type=Path, metavar="DIR", help="save every tensor")
    parser.add_argument("--json", type=Path, metavar="S.json", help="save the per-op stats")
    parser.add_argument("--clock-mhz", type=float, default=100.0,
                        help="clock for inferences per second [100]")
    parser.add_argument("--onnx-multiplier", choices=("tflite", "onnxruntime"), default="tflite",
                        help="ONNX m0/shift: TFLite's derivation from the float32 scales, or "
                             "onnxruntime's float32 multiplier [tflite]")
    sim = parser.add_argument_group("simulation")
    sim.add_argument("--gaps", action="store_true", help="random valid gaps on the input streams")
    sim.add_argument("--backpressure", action="store_true", help="random ready gaps on the output")
    sim.add_argument("--seed", type=int, default=0, help="stream gap patterns [0]")
    sim.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_config_arguments(parser)


def _fmt(v, spec: str = ",") -> str:
    return "-" if v is None else format(v, spec)


def _table(result) -> str:
    head = ("#", "op", "name", "inputs", "output", "MACs", "cycles", "ideal", "util",
            "mism", "ms")
    rows = [head]
    for s in result.stats:
        rows.append((
            str(s.index), s.op, s.name[:28], " ".join("x".join(map(str, sh[1:]))
                                                      for sh in s.input_shapes),
            "x".join(map(str, s.output_shape[1:])), _fmt(s.macs or None), _fmt(s.cycles),
            _fmt(s.ideal_cycles), _fmt(s.utilization, ".3f"), str(s.mismatches),
            f"{s.wall_s * 1e3:.1f}",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    right = {0, 5, 6, 7, 8, 9, 10}
    return "\n".join("  " + "  ".join(c.rjust(w) if i in right else c.ljust(w)
                                      for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                     for r in rows)


def _totals(result, config, clock_mhz: float) -> dict:
    n = result.batch
    cycles = result.cycles
    per = None if cycles is None else cycles / n
    macs = result.macs / n
    return {
        "batch": n,
        "macs_per_inference": macs,
        "cycles_per_inference": per,
        "inferences_per_second": None if not per else clock_mhz * 1e6 / per,
        "mac_efficiency": None if not per else macs / (config.rows * config.cols * per),
        "mismatches": result.mismatches,
        "wall_s": result.wall_s,
    }


def run(args: argparse.Namespace) -> int:
    from qmac.cli.errors import QmacError
    from qmac.model.run import NetworkMismatch, run_network
    from qmac.model.source_io import dump_tensors, from_network

    if not args.clock_mhz > 0:
        raise ValueError(f"--clock-mhz must be > 0, not {args.clock_mhz!r}")
    config = config_from_args(args)
    network, prepare = load_model(args.model, args)
    try:
        x = np.load(args.input, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise QmacError(f"--input {str(args.input)!r}: {str(exc).splitlines()[0]}") from None
    network, feed, note = prepare(network, x)
    print(f"qmac run: {args.model.name} ({network.source}, {len(network.ops)} ops, "
          f"{len(network.array_ops)} on the array) on {config.name} [{args.backend}]")
    print(f"  input: {note}; batch {len(feed)}")
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(network.ops), unit="op", leave=False)

    def on_op(i, op):
        if bar is not None:
            bar.set_description(f"{op.op} {op.name[:24]}")
            bar.update(1)

    sim_errors: tuple = ()
    if args.backend == "rtl":
        from sim import SimError

        sim_errors = (SimError,)
    t0 = time.perf_counter()
    try:
        result = run_network(network, feed, backend=args.backend, config=config,
                             rounding=config.rounding, mult_bits=config.mult_bits,
                             keep_tensors=args.dump is not None, gaps=args.gaps,
                             backpressure=args.backpressure, seed=args.seed, on_op=on_op)
    except NetworkMismatch as exc:
        if bar is not None:
            bar.close()
        print(f"qmac run: MISMATCH: {exc}")
        return 1
    except sim_errors as exc:  # a hang or a crashed simulator: one line, exit 2
        raise QmacError(str(exc).splitlines()[0]) from None
    finally:
        if bar is not None:
            bar.close()
    print(f"  per op, for the batch of {result.batch} (ms = wall time):")
    print(_table(result))
    totals = _totals(result, config, args.clock_mhz)
    line = f"  total: {totals['macs_per_inference']:,.0f} MACs per inference"
    if totals["cycles_per_inference"] is not None:
        line += (f", {totals['cycles_per_inference']:,.0f} cycles per inference, "
                 f"{totals['inferences_per_second']:,.1f} inferences/s at {args.clock_mhz:g} "
                 f"MHz, MAC efficiency {totals['mac_efficiency']:.3f}")
    print(line + f"; mismatches {totals['mismatches']}; {time.perf_counter() - t0:.1f} s")
    if args.out is not None:
        out = network.outputs[0]
        np.save(args.out, from_network(network.tensors[out], result.outputs[out]))
    if args.dump is not None:
        files = dump_tensors(network, result.tensors, args.dump)
        print(f"  dumped {len(files)} tensors to {args.dump}")
    if args.json is not None:
        doc = {
            "model": str(args.model), "source": network.source, "backend": args.backend,
            "input": note, "config": config.to_dict(), "totals": totals,
            "ops": [s.to_dict() for s in result.stats],
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0
