"""``qmac demo``: the digits CNN, layer by layer on the simulated array, bit-exact with golden.

The network (``QuantCNN.to_network()``) runs on the ``rtl`` backend of ``qmac.model.run``: the N
test images are batched into each layer, so a layer is one ``sim.run_layer`` call; each layer
is fed the RTL output of the previous one and its output is compared integer for integer with the
golden model applied to that same input. Prints and writes (``DIR/demo.json`` or ``--json``,
``DIR/demo.html``): accuracies (float, integer golden, RTL), mismatches, cycles and utilization per
layer, and the accuracy of the same network at 8/6/4/3/2 bits (golden) under each calibration
method and QAT (``bit_widths``: one row per width and method). ``--qat`` runs the shipped QAT
network of the array's width instead of the post-training one. Exit code 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from qmac.cli import argtypes, paths
from qmac.cli.argtypes import non_negative_int
from qmac.cli.config_options import add_config_arguments, add_target_argument, config_from_args

__all__ = ["add_arguments", "run", "config_from_args", "DEFAULT_IMAGES", "BIT_WIDTHS"]

# 0 = the whole test split (397 images): about 75 s of CPU for the 4x4 default (measured), so a
# cold-cache run (build included) stays well inside 5 minutes on 2 cores.
DEFAULT_IMAGES = 0
BIT_WIDTHS = (8, 6, 4, 3, 2)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument(
        "--images",
        type=non_negative_int,
        default=DEFAULT_IMAGES,
        help="test images run on the RTL (default 0 = the whole test split, 397)",
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0,
        help="image selection and stream gap seed (an integer >= 0) [0]",
    )
    parser.add_argument(
        "--gaps", action="store_true", help="random valid gaps on the input streams"
    )
    parser.add_argument(
        "--backpressure", action="store_true", help="random ready gaps on the output"
    )
    parser.add_argument(
        "-o",
        "--output-dir",
        type=argtypes.path,
        default=Path("build/demo"),
        help="folder for demo.html and demo.json (default build/demo)",
    )
    parser.add_argument(
        "--json", type=argtypes.path, default=None, help="also write the JSON summary here"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_target_argument(parser)
    parser.add_argument(
        "--qat",
        action="store_true",
        help="run the quantization-aware-trained network of the array's width (a_bits = w_bits "
        "= out_bits in 8, 6, 4, 3, 2) instead of the post-training quantized one",
    )


def _select_images(test: np.ndarray, n: int, seed: int) -> np.ndarray:
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= len(test):
        raise ValueError(f"--images must be in [0, {len(test)}], not {n!r}")
    if n == 0 or n == len(test):
        return test
    return np.sort(np.random.default_rng(seed).choice(test, size=n, replace=False))


def run(args: argparse.Namespace) -> int:
    from qmac.model import digits, evaluate, ptq, qat_shipped

    t_start = time.perf_counter()
    config = config_from_args(args)
    paths.output_dir("-o/--output-dir", args.output_dir)
    if args.json is not None:
        paths.output_file("--json", args.json, example="demo.json", parents=True)
    if config.out_bits != config.a_bits:
        raise ValueError(
            f"out_bits must equal a_bits = {config.a_bits} (each layer feeds the next), "
            f"not {config.out_bits!r}"
        )
    data = digits.load_digits_data()
    idx = _select_images(data.test, args.images, args.seed)
    if args.qat:
        if not config.a_bits == config.w_bits == config.out_bits or (
            config.a_bits not in qat_shipped.QAT_WIDTHS
        ):
            raise ValueError(
                "--qat needs a_bits = w_bits = out_bits in "
                f"{', '.join(map(str, qat_shipped.QAT_WIDTHS))}, not a_bits={config.a_bits}, "
                f"w_bits={config.w_bits}, out_bits={config.out_bits}"
            )
        qnet = qat_shipped.qat_digits_cnn(config.a_bits)
    else:
        qnet = ptq.quantized_digits_cnn(config.a_bits, config.w_bits)
    if qnet.acc_bits_needed() > config.acc_bits:
        raise ValueError(
            f"acc_bits must be at least {qnet.acc_bits_needed()} for this network at "
            f"a_bits={config.a_bits}, w_bits={config.w_bits}, not {config.acc_bits!r}"
        )
    rounding, mult_bits = config.rounding, config.mult_bits

    # Golden model on the whole test split, then float/golden on the images run.
    test_x, test_y = data.images[data.test], data.labels[data.test]
    golden_test = evaluate.predict(
        qnet.forward(qnet.quantize_input(test_x), rounding=rounding, mult_bits=mult_bits)
    )
    float_test = evaluate.predict(digits.float_forward(digits.load_float_cnn(), test_x))
    images, labels = data.images[idx], data.labels[idx]
    x_q = qnet.quantize_input(images)
    golden_run = evaluate.predict(qnet.forward(x_q, rounding=rounding, mult_bits=mult_bits))

    rtl_logits, layers, mismatches, build_s = _run_on_rtl(config, qnet, x_q, len(idx), args)
    rtl_run = evaluate.predict(rtl_logits)
    bit_widths = _bit_width_rows(rounding, mult_bits)
    cycles = sum(ly["cycles"] for ly in layers)
    summary = {
        "config_name": config.name,
        "config": config.to_dict(),
        "network": "qat" if args.qat else "ptq-minmax",
        "images": int(len(idx)),
        "seed": args.seed,
        "gaps": args.gaps,
        "backpressure": args.backpressure,
        "target": args.target,
        "image_indices": [int(i) for i in idx],
        "accuracy": {
            "n_test": int(len(data.test)),
            "float_test": float(np.mean(float_test == test_y)),
            "golden_test": float(np.mean(golden_test == test_y)),
            "float_run": float(np.mean(float_test[np.searchsorted(data.test, idx)] == labels)),
            "golden_run": float(np.mean(golden_run == labels)),
            "rtl_run": float(np.mean(rtl_run == labels)),
        },
        "rtl_ties": evaluate.count_ties(rtl_logits),
        "mismatches": mismatches,
        "layers": layers,
        "cycles": cycles,
        "cycles_per_image": cycles / len(idx),
        "bit_widths": bit_widths,
        "build_s": round(build_s, 2),
        "wall_s": round(time.perf_counter() - t_start, 2),
    }
    _print_summary(summary)
    _write_outputs(args, summary, images, labels, rtl_run, test_y, golden_test)
    return 1 if mismatches else 0


_BIT_WIDTH_KEYS = ("a_bits", "w_bits", "out_bits", "method", "n_test", "float_accuracy",
                   "int_accuracy", "int_correct", "int_accuracy_stderr", "int_accuracy_ci95",
                   "agreement", "ties", "sqnr_db", "max_abs_err", "rms_err")


def _bit_width_rows(rounding: str, mult_bits: int) -> list[dict]:
    """One row per (width in BIT_WIDTHS, method in evaluate.METHODS), golden model, test split."""
    from qmac.model import evaluate

    return [
        {k: r[k] for k in _BIT_WIDTH_KEYS}
        for b in BIT_WIDTHS
        for r in (evaluate.evaluate_bits(b, b, rounding=rounding, mult_bits=mult_bits, method=m)
                  for m in evaluate.METHODS)
    ]


def _run_on_rtl(config, qnet, x_q: np.ndarray, n_images: int, args) -> tuple:
    """The network on the RTL (``run_network``): each layer fed the previous layer's RTL output and
    checked against golden on that same input; a mismatch is counted, not fatal.

    Returns ``(logits, per-layer stats, mismatches, build seconds)``.
    """
    from tqdm import tqdm

    import sim
    from qmac.cli.build_progress import build_model
    from qmac.cli.errors import VerificationFailure
    from qmac.model.run import run_network

    network = qnet.to_network()
    t0 = time.perf_counter()
    build_model("qmac demo", config, target=args.target)
    build_s = time.perf_counter() - t0
    bar = tqdm(total=len(network.ops), desc="qmac demo", unit="layer", disable=args.no_progress)
    current = []

    def progress(i, op) -> None:
        if current:
            bar.update(1)
        current.append(op.name)
        bar.set_postfix_str(f"{op.name} ({n_images} images)")

    try:
        run = run_network(network, x_q, backend="rtl", config=config, gaps=args.gaps,
                          backpressure=args.backpressure, seed=args.seed, on_op=progress,
                          stop_on_mismatch=False, target=args.target)
    except sim.SimError as exc:  # the testbench flagged the run: a failed verification
        bar.close()
        raise VerificationFailure(f"layer {current[-1]}: {exc}") from None
    bar.update(1)
    bar.close()
    layers, mismatches = [], 0
    for st in run.stats:
        # The demo's own count decides; the runner's and the scoreboard's counts must agree.
        sim_bad = int(st.sim.get("mismatches", 0)) + int(st.sim.get("job_mismatches", 0))
        mismatches += max(st.mismatches, sim_bad)
        layers.append(_layer_row(st, n_images))
    return run.outputs[network.outputs[0]], layers, mismatches, build_s


def _layer_row(st, n_images: int) -> dict:
    """One layer's line of the summary: shapes, MACs, cycles, utilization, mismatches, speed."""
    in_shape = list(st.input_shapes[0])
    if st.op == "fully_connected":  # the layer's own (flattened) input, as the array sees it
        in_shape = [in_shape[0], int(np.prod(in_shape[1:]))]
    return {
        "name": st.name,
        "op": st.op,
        "input_shape": in_shape,
        "output_shape": list(st.output_shape),
        "macs": int(st.macs),
        "cycles": int(st.cycles),
        "ideal_cycles": int(st.ideal_cycles),
        "cycles_per_image": float(st.cycles) / n_images,
        "utilization": float(st.utilization),
        "mismatches": int(st.mismatches),
        "sim_mismatches": int(st.sim.get("mismatches", 0)),
        "job_mismatches": int(st.sim.get("job_mismatches", 0)),
        "jobs": int(st.jobs or 0),
        "sim_cycles_per_s": round(float(st.sim.get("cycles_per_second", 0.0))),
        "build_s": round(float(st.sim.get("build_seconds", 0.0)), 2),
        "wall_s": round(st.wall_s, 2),
    }


def _write_outputs(args, summary: dict, images, labels, rtl_run, test_y, golden_test) -> None:
    """``DIR/demo.json`` (and ``--json``) and ``DIR/demo.html``."""
    from qmac.report.demo_page import confusion_matrix, render_demo_html

    out_dir = Path(args.output_dir)  # checked before the run
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(summary, indent=2)
    (out_dir / "demo.json").write_text(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text)
    page = render_demo_html(
        summary,
        images=images,
        labels=labels,
        rtl_preds=rtl_run,
        golden_cm_test=confusion_matrix(test_y, golden_test),
    )
    (out_dir / "demo.html").write_text(page)
    print(
        f"wrote {out_dir / 'demo.html'} and {out_dir / 'demo.json'}"
        + (f" and {args.json}" if args.json and Path(args.json) != out_dir / "demo.json" else "")
    )


def _print_summary(s: dict) -> None:
    a = s["accuracy"]
    bits = s["config"]["a_bits"]
    target = "" if s.get("target", "generic") == "generic" else f" ({s['target']} target)"
    print(
        f"qmac demo: digits CNN on {s['config_name']}{target}, {s['images']} test images "
        f"(seed {s['seed']})"
    )
    print(f"  accuracy      test split ({a['n_test']})   images run ({s['images']})")
    print(f"  float         {a['float_test']:8.2%}            {a['float_run']:8.2%}")
    kind = "QAT" if s["network"] == "qat" else "PTQ"
    print(f"  int{bits} {kind} golden {a['golden_test']:6.2%}            {a['golden_run']:8.2%}")
    print(f"  RTL                                 {a['rtl_run']:8.2%}")
    print(
        f"  {'layer':6} {'op':17} {'MACs':>9} {'cycles':>8} {'ideal':>8} {'cyc/img':>8} "
        f"{'util':>6} {'mism':>5}"
    )
    for ly in s["layers"]:
        print(
            f"  {ly['name']:6} {ly['op']:17} {ly['macs']:9d} {ly['cycles']:8d} "
            f"{ly['ideal_cycles']:8d} "
            f"{ly['cycles_per_image']:8.1f} {ly['utilization']:6.1%} {ly['mismatches']:5d}"
        )
    print(
        f"  total cycles {s['cycles']} ({s['cycles_per_image']:.1f} per image); "
        f"build {s['build_s']} s, total {s['wall_s']} s"
    )
    print(
        f"  golden model at lower widths ({s['config']['rounding']} rounding, "
        f"{s['config']['mult_bits']}-bit multiplier, test split):"
    )
    n = s["bit_widths"][0]["n_test"]
    print(f"  (float {s['bit_widths'][0]['float_accuracy']:.2%}; ± is the binomial standard error, "
          f"n = {n}; max err in float logit units)")
    print("  bits (a=w)  method      int acc         SQNR dB  max |err|  ties")
    for b in s["bit_widths"]:
        print(
            f"  {b['a_bits']:9d}  {b['method']:10}  {b['int_accuracy']:7.2%} ± "
            f"{100 * b['int_accuracy_stderr']:3.1f}  {b['sqnr_db']:7.1f}  {b['max_abs_err']:9.3f}"
            f"  {b['ties']:4d}"
        )
    verdict = (
        "0 mismatches: RTL bit-exact with golden"
        if s["mismatches"] == 0
        else f"{s['mismatches']} MISMATCHES between RTL and golden"
    )
    print(f"  {verdict}")
