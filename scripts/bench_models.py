"""Benchmark the shipped models: array cycles on the RTL vs the ideal, and host speed.

For each TFLite model in ``examples/models/models.json`` and each preset it fits (a preset it does
not fit is listed with the lowering's reason), on the model's sample inputs:

- RTL (``run_network(..., backend="rtl")`` on Verilator): array cycles per inference against the
  SCALE-Sim-style ideal of ``golden.cycles``, MAC utilization, RTL simulation wall time (the
  Verilator build is timed apart), mismatches against golden (must be 0);
- host: the golden backend's wall time for the whole batch against LiteRT's interpreter on the
  same inputs, one invoke per sample as a batch-1 model runs (reference kernels, optimized
  kernels, and the default interpreter with XNNPACK); best of ``--repeat``.

The ONNX models (framework ``onnx``) go through ``scripts/bench_onnx_models.py`` on the same
presets: agreement with onnxruntime, golden vs onnxruntime time, RTL cycles (``--no-onnx`` skips
them). Writes JSON (``--out``: ``models`` for TFLite, ``onnx`` for ONNX) and prints Markdown
tables. Needs the dev extra (ai-edge-litert, onnxruntime)::

    .venv/bin/python scripts/bench_models.py --out build/bench_models.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hw.config import PRESETS, preset  # noqa: E402
from qmac.model.inputs import prepare_inputs  # noqa: E402
from qmac.model.run import check_fits, run_network  # noqa: E402
from qmac.model.tflite_import import load_tflite  # noqa: E402

DEFAULT_PRESETS = ("int8-4x4", "int8-8x8", "int8-8x8-ws", "int8-16x16")
RESOLVERS = ("ref", "opt", "xnnpack")


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def litert_seconds(model: bytes, x: np.ndarray, resolver: str, repeat: int) -> float:
    """Best wall time of ``len(x)`` invokes of the batch-1 model (interpreter made beforehand)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kind = {"ref": OpResolverType.BUILTIN_REF,
            "opt": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            "xnnpack": OpResolverType.AUTO}[resolver]
    it = Interpreter(model_content=model, experimental_op_resolver_type=kind, num_threads=1)
    it.allocate_tensors()
    (inp,) = it.get_input_details()
    (out,) = it.get_output_details()
    samples = [np.ascontiguousarray(s[None], dtype=inp["dtype"]) for s in x]

    def invoke_all():
        for s in samples:
            it.set_tensor(inp["index"], s)
            it.invoke()
            it.get_tensor(out["index"])

    return _best(invoke_all, repeat)


def host_bench(net, model: bytes, values: dict, x_model: np.ndarray, repeat: int) -> dict:
    golden_s = _best(lambda: run_network(net, values), repeat)
    row = {"samples": int(len(x_model)), "golden_s": golden_s}
    for r in RESOLVERS:
        row[f"litert_{r}_s"] = litert_seconds(model, x_model, r, repeat)
        row[f"golden_over_{r}"] = golden_s / row[f"litert_{r}_s"]
    return row


def rtl_bench(net, values: dict, config, images: int) -> dict:
    from sim.runner import build

    try:
        check_fits(net, config)
    except ValueError as exc:
        return {"fits": False, "reason": str(exc)}
    t0 = time.perf_counter()
    build(config)
    build_s = time.perf_counter() - t0
    batch = {k: v[:images] for k, v in values.items()}
    t0 = time.perf_counter()
    run = run_network(net, batch, backend="rtl", config=config)
    wall = time.perf_counter() - t0
    array = [s for s in run.stats if s.kind == "array"]
    cycles = sum(s.cycles for s in array)
    ideal = sum(s.ideal_cycles for s in array)
    macs = sum(s.macs for s in array)
    peak = config.rows * config.cols
    return {
        "fits": True,
        "images": images,
        "cycles_per_inference": cycles / images,
        "ideal_cycles_per_inference": ideal / images,
        "cycles_over_ideal": cycles / ideal,
        "utilization": macs / (peak * cycles),
        "ideal_utilization": macs / (peak * ideal),
        "macs_per_inference": macs / images,
        "mismatches": run.mismatches,
        "rtl_wall_s": wall,
        "rtl_sim_s": sum(s.sim.get("sim_seconds", 0.0) for s in array),
        "build_s": build_s,
        "ops": [{k: v for k, v in s.to_dict().items()
                 if k in ("index", "name", "op", "macs", "cycles", "ideal_cycles", "utilization",
                          "jobs", "wall_s")} for s in array],
    }


def markdown(results: dict) -> str:
    lines = [
        "| model | preset | cycles / inference | ideal | cycles / ideal | utilization | "
        "RTL wall s | golden s | LiteRT ref / opt / XNNPACK s | golden / XNNPACK |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for name, m in results["models"].items():
        h = m["host"]
        host = (f"{h['golden_s']:.4f} | {h['litert_ref_s']:.4f} / {h['litert_opt_s']:.4f} / "
                f"{h['litert_xnnpack_s']:.4f} | {h['golden_over_xnnpack']:.1f}x")
        for p, r in m["presets"].items():
            if not r["fits"]:
                lines.append(f"| {name} | {p} | does not fit: {r['reason']} | | | | | {host} |")
                continue
            lines.append(
                f"| {name} | {p} | {r['cycles_per_inference']:,.0f} | "
                f"{r['ideal_cycles_per_inference']:,.0f} | {r['cycles_over_ideal']:.2f} | "
                f"{r['utilization']:.1%} | {r['rtl_wall_s']:.1f} | {host} |")
    return "\n".join(lines)


def _bench_onnx(models_dir: Path, presets: list[str], images: int) -> list[dict]:
    """``scripts/bench_onnx_models.py`` on every ONNX entry of the manifest."""
    sys.path.insert(0, str(REPO / "scripts"))
    import bench_onnx_models

    out = []
    for model, sample in bench_onnx_models.onnx_entries(models_dir):
        x = np.load(sample).astype(np.float32)
        print(f"{model.name}: {len(x)} inputs", flush=True)
        out.append(bench_onnx_models.bench_onnx_model(model, x, presets, images))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=REPO / "examples" / "models")
    ap.add_argument("--only", action="append", help="model name (without .tflite)")
    ap.add_argument("--presets", default=",".join(DEFAULT_PRESETS))
    ap.add_argument("--images", type=int, default=4, help="images per RTL run [4]")
    ap.add_argument("--repeat", type=int, default=5, help="host timings: best of [5]")
    ap.add_argument("--no-rtl", action="store_true", help="host timings only")
    ap.add_argument("--no-onnx", action="store_true", help="TFLite models only")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "bench_models.json")
    args = ap.parse_args(argv)
    presets = [p for p in args.presets.split(",") if p]
    for p in presets:
        if p not in PRESETS:
            ap.error(f"unknown preset {p!r}; known: {', '.join(PRESETS)}")
    manifest = json.loads((args.models / "models.json").read_text())["models"]
    results = {"machine": {"python": platform.python_version(), "cpu": platform.processor(),
                           "cores": __import__("os").cpu_count()},
               "images": args.images, "repeat": args.repeat, "models": {}}
    for file, entry in manifest.items():
        name = Path(file).stem
        if entry.get("framework") != "tflite" or (args.only and name not in args.only):
            continue
        model = (args.models / file).read_bytes()
        net = load_tflite(model, name)
        x = np.load(args.models / entry["sample_input"])
        values, _ = prepare_inputs(net, [x])
        x_model = values[net.inputs[0]]
        x_model = x_model.astype(np.int8) if x_model.dtype.kind in "iu" else x_model
        row = {"host": host_bench(net, model, values, x_model, args.repeat), "presets": {}}
        print(f"{name}: golden {row['host']['golden_s']:.4f} s for {len(x)} samples, "
              f"{row['host']['golden_over_xnnpack']:.1f}x XNNPACK", flush=True)
        for p in presets if not args.no_rtl else []:
            r = rtl_bench(net, values, preset(p), args.images)
            r["config"] = dataclasses.asdict(preset(p))
            row["presets"][p] = r
            print(f"  {p}: " + (f"{r['cycles_per_inference']:,.0f} cycles/inference "
                                f"(ideal {r['ideal_cycles_per_inference']:,.0f}), "
                                f"{r['rtl_wall_s']:.1f} s" if r["fits"] else r["reason"]),
                  flush=True)
        results["models"][name] = row
    if not args.no_onnx:
        results["onnx"] = _bench_onnx(args.models, [] if args.no_rtl else presets, args.images)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(markdown(results))
    if results.get("onnx"):
        import bench_onnx_models

        print(bench_onnx_models._markdown(results["onnx"]))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
