"""``qmac sim``: run a layer through the generated Verilog on Verilator and compare with golden.

Examples::

    qmac sim --op conv2d --h 16 --w 16 --cin 8 --cout 16 --kernel 3 --stride 2 \
        --padding SAME --seed 1
    qmac sim --op matmul --m 256 --k 256 --n 256 --preset int8-16x16 --json stats.json
    qmac sim --op depthwise_conv2d --h 8 --w 8 --cin 4 --kernel 3 --multiplier 2 --padding SAME
    qmac sim --op fully_connected --batch 4 --in-features 64 --out-features 10 --gaps --backpressure
    qmac sim --layer-file L.npz --out Y.npy
    qmac sim --op conv2d --h 8 --w 8 --cin 4 --cout 6 --kernel 3 --preset int8-4x4 --target ecp5

The array comes from ``--preset`` and/or the same per-field options as ``qmac generate`` (without
either, the ArrayConfig defaults). A random layer (``golden.make_random_layer``, seeded by
``--seed``) is built from the op's dimensions unless ``--layer-file`` gives one. ``--target ecp5``
simulates the ECP5-target Verilog (MULT18X18D blocks and CCU2C chains on behavioural models)
instead of the generic one, with the same testbench and checks.

Exit codes: 0 bit-exact; 1 a mismatch (the first wrong element is printed) or any other failure
the testbench detected (timeout, unfinished job, an output tlast that disagrees with its job, a
non-zero output lane outside N, the sticky ``error`` port), with the reason on stderr; 2 bad
input (checked before the build and the run: the layer, the config, ``--out`` and ``--json``).
"""

from __future__ import annotations

import argparse
import json

from golden.layer import OPS, RANDOM_LAYER_DIMS
from qmac.cli import argtypes, paths
from qmac.cli.argtypes import non_negative_int, padding, pair_or_int, positive_int
from qmac.cli.config_options import add_config_arguments, add_target_argument, config_from_args
from qmac.cli.errors import QmacError, VerificationFailure

__all__ = ["add_arguments", "run", "layer_from_args", "config_from_args"]

#: every dimension flag, in the order of golden's table; the geometry ones have their own parsers
_ALL_DIMS = tuple(dict.fromkeys(name for dims in RANDOM_LAYER_DIMS.values() for name in dims))
_GEOMETRY = ("kernel", "stride", "padding", "dilation")
_INT_DIMS = tuple(name for name in _ALL_DIMS if name not in _GEOMETRY)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``qmac sim`` (see the module docstring)."""
    src = parser.add_argument_group("layer")
    src.add_argument("--op", choices=OPS, help="random layer of this op (or --layer-file)")
    src.add_argument(
        "--layer-file", type=argtypes.path, metavar="L.npz", help="layer saved by golden.save_layer"
    )
    for name in _INT_DIMS:
        src.add_argument(
            f"--{name.replace('_', '-')}", dest=name, type=positive_int, default=None, metavar="N"
        )
    src.add_argument("--kernel", type=pair_or_int, default=None, metavar="K|KH,KW")
    src.add_argument("--stride", type=pair_or_int, default=None, metavar="S|SH,SW")
    src.add_argument("--dilation", type=pair_or_int, default=None, metavar="D|DH,DW")
    src.add_argument("--padding", type=padding, default=None, metavar="SAME|VALID|P|T,L,B,R")
    src.add_argument(
        "--seed", type=non_negative_int, default=0,
        help="layer values and stream gap patterns (an integer >= 0) [0]",
    )
    run_group = parser.add_argument_group("simulation")
    run_group.add_argument(
        "--gaps", action="store_true", help="random valid gaps on the input streams"
    )
    run_group.add_argument(
        "--backpressure", action="store_true", help="random ready gaps on the output"
    )
    run_group.add_argument(
        "--waves", action="store_true", help="record waveforms (FST if lz4 headers, else VCD)"
    )
    run_group.add_argument(
        "--out", type=argtypes.path, metavar="Y.npy",
        help="save the RTL output (.npy, to exactly this path)",
    )
    run_group.add_argument("--json", type=argtypes.path, metavar="S.json", help="save the stats")
    add_target_argument(run_group)
    add_config_arguments(parser)


def layer_from_args(args: argparse.Namespace, config):
    """The layer of ``--layer-file``, or a random ``--op`` layer with the config's bit widths."""
    import numpy as np

    import golden

    if args.layer_file is not None:
        if args.op is not None:
            raise ValueError("give either --op or --layer-file, not both")
        path = paths.input_file("--layer-file", args.layer_file)
        try:
            return golden.load_layer(path)
        except ValueError as exc:
            raise QmacError(f"--layer-file {exc}") from None
    if args.op is None:
        raise ValueError("--op or --layer-file is required")
    allowed = RANDOM_LAYER_DIMS[args.op]
    dims = {}
    for name in _ALL_DIMS:
        value = getattr(args, name)
        if value is None:
            continue
        if name not in allowed:
            raise ValueError(f"--{name.replace('_', '-')} does not apply to --op {args.op}")
        dims[name] = value
    return golden.make_random_layer(
        args.op,
        rng=np.random.default_rng(args.seed),
        a_bits=config.a_bits,
        w_bits=config.w_bits,
        out_bits=config.out_bits,
        acc_bits=config.acc_bits,
        **dims,
    )


def _split_text(stats) -> str:
    """The K split's chunk count and its extra cost against an unsplit ideal (sim.split_cost)."""
    chunks = stats["k_chunks"]
    if chunks == 1:
        return "none (K fits one job)"
    if stats["split_extra_beats"] is None:
        return f"{chunks} chunks per output block (no unsplit ideal: K beyond any bank)"
    return (
        f"{chunks} chunks per output block: {stats['split_extra_beats']:+,} input beats, "
        f"{stats['split_extra_cycles']:+,} cycles (model) vs an unsplit ideal"
    )


def _table(config, layer, stats, target: str) -> str:
    rows = [
        ("array", f"{config.name} (config {config.digest}), {target} target"),
        (
            "layer",
            f"{layer.op} x{tuple(layer.x.shape)} w{tuple(layer.w.shape)} -> "
            f"{tuple(layer.output_shape)}",
        ),
        ("jobs", f"{stats['jobs']}"),
        ("K split", _split_text(stats)),
        ("MACs", f"{stats['macs']:,}"),
        ("cycles", f"{stats['cycles']:,} (ideal model {stats['ideal_cycles']:,})"),
        (
            "utilization",
            f"{stats['utilization']:.3f} (ideal model {stats['ideal_utilization']:.3f})",
        ),
        ("mismatches", f"{stats['mismatches']}"),
        (
            "sim speed",
            f"{stats['cycles_per_second']:,.0f} cycles/s ({stats['sim_seconds']:.2f} s simulated, "
            f"{stats['wall_seconds']:.1f} s wall incl. build {stats['build_seconds']:.1f} s)",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from qmac.cli.build_progress import build_model
    from sim import SimError, check_layer, run_layer

    config = config_from_args(args)
    if args.out is not None:
        paths.output_file("--out", args.out, example="y.npy")
    if args.json is not None:
        paths.output_file("--json", args.json, example="stats.json")
    layer = layer_from_args(args, config)
    check_layer(config, layer)  # a layer the array cannot run is bad input: fail before the build
    info = build_model("qmac sim", config, waves=args.waves, target=args.target)
    try:
        out, stats = run_layer(
            config,
            layer,
            gaps=args.gaps,
            backpressure=args.backpressure,
            waves=args.waves,
            seed=args.seed,
            build_info=info,
            target=args.target,
        )
    except SimError as exc:  # the testbench flagged the run: a failed verification
        raise VerificationFailure(str(exc)) from None
    print(f"qmac sim: {config.name}")
    print(_table(config, layer, stats, args.target))
    if stats["wave_file"]:
        print(f"  waves        {stats['wave_file']}")
    if args.out is not None:
        with open(args.out, "wb") as f:  # np.save(path) would append ".npy" to other names
            np.save(f, out)
    if args.json is not None:
        doc = {k: v for k, v in stats.items() if k != "mismatch"}
        doc["first_mismatch"] = None if stats["mismatch"] is None else str(stats["mismatch"])
        doc["config"] = config.to_dict()
        doc["target"] = args.target
        doc["op"] = layer.op
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    if stats["mismatch"] is not None:
        print(f"qmac sim: MISMATCH: {stats['mismatch']}")
        return 1
    return 0
