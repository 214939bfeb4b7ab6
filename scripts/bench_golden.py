"""Benchmark golden conv2d (exact accumulators + requantization) against onnxruntime.

For ResNet/MobileNet-sized int8 layers, times in one process:
  - golden: ``conv2d_acc`` + ``requantize`` (what ``golden.conv2d`` does),
  - onnxruntime ConvInteger (exact int32 accumulators) + the same NumPy requantization,
  - onnxruntime QLinearConv (float32 requantization, for reference),
and checks on the way that golden's accumulators equal ConvInteger's. Reports medians in ms.

Usage: ``python scripts/bench_golden.py [--repeats N] [-o bench_golden.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "golden"))

import onnxruntime  # noqa: E402
from ort_models import conv_integer, qlinear_conv  # noqa: E402

import golden  # noqa: E402

CASES = [
    dict(name="resnet 56x56x64 -> 64, 3x3 SAME", h=56, w=56, cin=64, cout=64, k=3, groups=1),
    dict(
        name="mobilenet 28x28x128 depthwise 3x3 SAME",
        h=28,
        w=28,
        cin=128,
        cout=128,
        k=3,
        groups=128,
    ),
    dict(name="resnet 14x14x256 -> 256, 1x1", h=14, w=14, cin=256, cout=256, k=1, groups=1),
]


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def _blas_threads() -> int | None:
    try:
        from threadpoolctl import threadpool_info

        return max(
            (i.get("num_threads", 0) for i in threadpool_info() if i.get("user_api") == "blas"),
            default=None,
        )
    except ImportError:
        return None


def run_case(case: dict, repeats: int, threads: int, rng: np.random.Generator) -> dict:
    h, w, cin, cout, k, groups = (case[n] for n in ("h", "w", "cin", "cout", "k", "groups"))
    x = rng.integers(-128, 127, size=(1, h, w, cin), endpoint=True, dtype=np.int64)
    wt = rng.integers(-127, 127, size=(cout, k, k, cin // groups), endpoint=True, dtype=np.int64)
    bias = rng.integers(-5000, 5000, size=cout, dtype=np.int64)
    x_zp, y_zp = -3, 4
    x_scale, y_scale = 0.02, 0.5
    w_scale = rng.uniform(0.002, 0.01, size=cout)
    m0, shift = golden.quantize_multiplier(x_scale * w_scale / y_scale)
    geo = dict(stride=1, padding="SAME", dilation=1, groups=groups)

    def ours() -> np.ndarray:
        acc = golden.conv2d_acc(x, wt, bias, x_zp=x_zp, **geo)
        return golden.requantize(acc, m0, shift, y_zp=y_zp)

    sess, feed = conv_integer(
        x, wt, x_zp, stride=(1, 1), padding="SAME", dilation=(1, 1), groups=groups, threads=threads
    )

    def ort_int() -> np.ndarray:
        acc = sess.run(None, feed)[0].transpose(0, 2, 3, 1).astype(np.int64) + bias
        return golden.requantize(acc, m0, shift, y_zp=y_zp)

    qsess, qfeed = qlinear_conv(
        x,
        wt,
        bias,
        x_scale=x_scale,
        x_zp=x_zp,
        w_scale=w_scale,
        y_scale=y_scale,
        y_zp=y_zp,
        padding="SAME",
        groups=groups,
        threads=threads,
    )

    def ort_qlinear() -> np.ndarray:
        return qsess.run(None, qfeed)[0]

    same = bool(np.array_equal(ours(), ort_int()))
    q_diff = np.abs(ort_qlinear().transpose(0, 2, 3, 1).astype(np.int64) - ours())
    t_ours = _median_ms(ours, repeats)
    t_acc = _median_ms(lambda: golden.conv2d_acc(x, wt, bias, x_zp=x_zp, **geo), repeats)
    t_int = _median_ms(ort_int, repeats)
    t_q = _median_ms(ort_qlinear, repeats)
    return {
        "name": case["name"],
        "input_nhwc": [1, h, w, cin],
        "weight_ohwi": list(wt.shape),
        "groups": groups,
        "golden_ms": round(t_ours, 3),
        "golden_acc_only_ms": round(t_acc, 3),
        "ort_convinteger_plus_numpy_requant_ms": round(t_int, 3),
        "ort_qlinearconv_ms": round(t_q, 3),
        "ratio_golden_over_ort_convinteger": round(t_ours / t_int, 3),
        "bit_exact_vs_convinteger": same,
        "qlinearconv_max_lsb_diff": int(q_diff.max()),
        "qlinearconv_fraction_differing": float((q_diff > 0).mean()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=7, help="timed runs per case (median), default 7"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for both onnxruntime (intra-op) and NumPy's BLAS (threadpoolctl); "
        "default 1, the fair and stable choice on a shared 2-core machine",
    )
    parser.add_argument("-o", "--output", default="bench_golden.json", help="JSON output path")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, not {args.repeats}")
    rng = np.random.default_rng(0)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # BLAS keeps its default thread count; reported below
        results = [run_case(c, args.repeats, args.threads, rng) for c in CASES]
        blas_threads = _blas_threads()
    else:
        with threadpool_limits(limits=args.threads, user_api="blas"):
            results = [run_case(c, args.repeats, args.threads, rng) for c in CASES]
            blas_threads = _blas_threads()
    report = {
        "repeats": args.repeats,
        "numpy": np.__version__,
        "onnxruntime": onnxruntime.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "onnxruntime_intra_op_threads": args.threads,
        "numpy_blas_threads": blas_threads,
        "cases": results,
    }
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"{'case':42s} {'golden':>9s} {'acc only':>9s} {'ConvInt+rq':>11s} {'QLinear':>9s} "
        f"{'ratio':>6s} exact"
    )
    for r in results:
        print(
            f"{r['name']:42s} {r['golden_ms']:9.2f} {r['golden_acc_only_ms']:9.2f} "
            f"{r['ort_convinteger_plus_numpy_requant_ms']:11.2f} {r['ort_qlinearconv_ms']:9.2f} "
            f"{r['ratio_golden_over_ort_convinteger']:6.2f} {r['bit_exact_vs_convinteger']}"
        )
    print(f"wrote {args.output}")
    return 0 if all(r["bit_exact_vs_convinteger"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
