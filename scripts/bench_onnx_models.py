"""Benchmark the shipped ONNX models: agreement with onnxruntime, golden vs onnxruntime time, RTL.

For each ONNX model of ``examples/models/models.json`` (or ``--models``), on its sample inputs:

- **agreement** with onnxruntime (every quantized tensor, read by probes in the whole model):
  per op on onnxruntime's own inputs and chained through the network, for ``rounding`` tflite
  and single and for m0/shift derived as TFLite does or from onnxruntime's float32 multiplier;
  elements that differ, their share and the largest difference in LSB; the float output's
  largest difference in output LSB;
- **time**: the golden backend per inference vs onnxruntime's CPU session (one thread);
- **RTL**, per preset: cycles per inference vs the ideal cycle model, utilization, simulation wall
  time, mismatches against golden (``--rtl-images`` images; ``--presets ''`` skips it).

Writes JSON (``--json``) and prints Markdown tables. :func:`bench_onnx_model` is the part that
``scripts/bench_models.py`` calls for ``.onnx`` entries. Needs onnxruntime (the ``dev`` extra);
run from the repository root::

    python scripts/bench_onnx_models.py --json build/bench_onnx.json [--presets int8-4x4,int8-8x8]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from qmac.model.onnx_import import load_onnx  # noqa: E402
from qmac.model.run import run_network  # noqa: E402
from qmac.model.source_io import from_network, to_network  # noqa: E402
from tests.qmac.model.onnx_agreement import chain_agreement, op_agreement, reference  # noqa: E402
from tests.qmac.model.ort_reference import session  # noqa: E402

__all__ = ["bench_onnx_model", "agreement", "timing", "rtl", "accuracy", "digits_test_split",
           "onnx_entries"]

ROUNDINGS = ("tflite", "single")
MULTIPLIERS = ("tflite", "onnxruntime")
DEFAULT_PRESETS = ("int8-4x4", "int8-8x8")


def _sum(diffs) -> dict:
    n = sum(d.outputs for d in diffs)
    k = sum(d.differ for d in diffs)
    return {"outputs": n, "differ": k, "share": k / n if n else 0.0,
            "max_abs": max((d.max_abs for d in diffs), default=0)}


def agreement(path: Path, x: np.ndarray) -> dict:
    """Per-op and chained agreement with onnxruntime for every rounding and multiplier mode."""
    nets = {m: load_onnx(path, multiplier=m) for m in MULTIPLIERS}
    net = nets["tflite"]
    ref = reference(path, net, x)
    want_out = ref["__outputs__"][0]
    out_scale = net.ops[-1].params.scale if net.ops[-1].op == "DequantizeLinear" else None
    result = {"per_op": {}, "chain": {}, "array_outputs_per_op": None}
    for mult, n in nets.items():
        rows = op_agreement(n, nets["onnxruntime"], ref, ROUNDINGS)
        host = [r["host"] for r in rows if "host" in r]
        for r_mode in ROUNDINGS:
            arr = [r[r_mode] for r in rows if r_mode in r]
            result["per_op"][f"{r_mode}/{mult}"] = {"array": _sum(arr), "host": _sum(host)}
            run = run_network(n, to_network(n.tensors[n.inputs[0]], x), rounding=r_mode,
                              keep_tensors=True)
            chain = chain_agreement(n, run.tensors, ref)
            got = from_network(n.tensors[n.outputs[0]], run.outputs[n.outputs[0]])
            entry = {"tensors": _sum(chain),
                     "per_tensor": {d.name: [d.differ, d.outputs, d.max_abs] for d in chain}}
            if out_scale is not None:
                entry["output_max_lsb"] = float(np.abs(got - want_out).max() / out_scale)
            result["chain"][f"{r_mode}/{mult}"] = entry
        emu = [r["ort_emulation"] for r in rows if "ort_emulation" in r]
        result[f"ort_emulation/{mult}"] = _sum(emu)
    return result


def timing(path: Path, x: np.ndarray, repeat: int = 3) -> dict:
    """Seconds per inference: golden backend (whole batch) vs onnxruntime (image by image)."""
    net = load_onnx(path)
    feed = to_network(net.tensors[net.inputs[0]], x)
    run_network(net, feed)  # warm-up
    best = min(_time(lambda: run_network(net, feed)) for _ in range(repeat))
    sess = session(path)
    name = sess.get_inputs()[0].name
    sess.run(None, {name: x[:1]})
    ort_best = min(_time(lambda: [sess.run(None, {name: x[i:i + 1]}) for i in range(len(x))])
                   for _ in range(repeat))
    return {"images": len(x), "golden_s_per_inference": best / len(x),
            "onnxruntime_s_per_inference": ort_best / len(x),
            "golden_over_onnxruntime": best / ort_best}


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def rtl(path: Path, x: np.ndarray, preset_name: str) -> dict:
    """One RTL run of ``x`` on ``preset_name``: cycles, ideal cycles, utilization, wall time."""
    from hw.config import preset

    config = preset(preset_name)
    net = load_onnx(path)
    t0 = time.perf_counter()
    run = run_network(net, to_network(net.tensors[net.inputs[0]], x), backend="rtl",
                      config=config)
    wall = time.perf_counter() - t0
    arr = [s for s in run.stats if s.kind == "array"]
    cycles = sum(s.cycles for s in arr)
    ideal = sum(s.ideal_cycles for s in arr)
    macs = sum(s.macs for s in arr)
    return {
        "preset": preset_name, "images": len(x), "cycles_per_inference": cycles / len(x),
        "ideal_cycles_per_inference": ideal / len(x),
        "utilization": macs / (config.rows * config.cols * cycles),
        "sim_wall_s": wall, "sim_s": sum(s.sim.get("sim_seconds", 0.0) for s in arr),
        "mismatches": run.mismatches,
        "ops": [{"name": s.name, "op": s.op, "cycles": s.cycles, "ideal": s.ideal_cycles,
                 "utilization": s.utilization, "jobs": s.jobs} for s in arr],
    }


def bench_onnx_model(path: Path, x: np.ndarray, presets=DEFAULT_PRESETS,
                     rtl_images: int = 4, labels: np.ndarray | None = None) -> dict:
    """Everything above for one model; ``x`` in the model's layout (NCHW floats)."""
    out = {"model": path.name, "agreement": agreement(path, x), "timing": timing(path, x),
           "rtl": []}
    if labels is not None:
        out["accuracy"] = accuracy(path, x, labels)
    for p in presets:
        out["rtl"].append(rtl(path, x[:rtl_images], p))
    return out


def digits_test_split(hw: int) -> tuple[np.ndarray, np.ndarray]:
    """The 397 test images of qmac's digits split, NCHW float32, nearest-upsampled to ``hw``."""
    from qmac.model.digits import load_digits_data

    d = load_digits_data()
    x = d.images[d.test].astype(np.float32)
    k = hw // x.shape[1]
    x = np.repeat(np.repeat(x, k, axis=1), k, axis=2)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)), d.labels[d.test]


def accuracy(path: Path, x: np.ndarray, labels: np.ndarray) -> dict:
    """Top-1 accuracy of onnxruntime and of the golden backend (both roundings) on ``x``."""
    from tests.qmac.model.ort_reference import run_model

    out = {"images": len(x), "onnxruntime": float(np.mean(run_model(path, x).argmax(1) == labels))}
    net = load_onnx(path)
    feed = to_network(net.tensors[net.inputs[0]], x)
    for r in ROUNDINGS:
        y = run_network(net, feed, rounding=r).outputs[net.outputs[0]]
        out[f"golden_{r}"] = float(np.mean(np.asarray(y).argmax(1) == labels))
    return out


def onnx_entries(models_dir: Path) -> list[tuple[Path, Path]]:
    """(model, sample input) of every ONNX entry of ``models_dir/models.json``."""
    doc = json.loads((models_dir / "models.json").read_text())
    return [(models_dir / name, models_dir / e["sample_input"])
            for name, e in doc["models"].items() if e.get("framework") == "onnx"]


def _markdown(results: list[dict]) -> str:
    lines = ["| model | rounding / multiplier | per op: array outputs differing | chained: "
             "tensor elements differing (max LSB) | output max LSB |", "|---|---|---|---|---|"]
    for r in results:
        a = r["agreement"]
        for key, c in a["chain"].items():
            p = a["per_op"][key]["array"]
            lines.append(f"| {r['model']} | {key} | {p['differ']} / {p['outputs']} "
                         f"({100 * p['share']:.3f}%) | {c['tensors']['differ']} / "
                         f"{c['tensors']['outputs']} ({100 * c['tensors']['share']:.3f}%, "
                         f"{c['tensors']['max_abs']}) | {c.get('output_max_lsb', '-')} |")
    if all("accuracy" in r for r in results):
        lines += ["", "| model | images | onnxruntime | golden tflite | golden single |",
                  "|---|---|---|---|---|"]
        for r in results:
            a = r["accuracy"]
            lines.append(f"| {r['model']} | {a['images']} | {a['onnxruntime']:.4f} | "
                         f"{a['golden_tflite']:.4f} | {a['golden_single']:.4f} |")
    lines += ["", "| model | golden ms/inference | onnxruntime ms/inference | ratio |",
              "|---|---|---|---|"]
    for r in results:
        t = r["timing"]
        lines.append(f"| {r['model']} | {1e3 * t['golden_s_per_inference']:.3f} | "
                     f"{1e3 * t['onnxruntime_s_per_inference']:.3f} | "
                     f"{t['golden_over_onnxruntime']:.1f}x |")
    lines += ["", "| model | preset | cycles/inference | ideal | utilization | sim wall s "
              "| mismatches |", "|---|---|---|---|---|---|---|"]
    for r in results:
        for s in r["rtl"]:
            lines.append(f"| {r['model']} | {s['preset']} | {s['cycles_per_inference']:,.0f} | "
                         f"{s['ideal_cycles_per_inference']:,.0f} | {s['utilization']:.3f} | "
                         f"{s['sim_wall_s']:.1f} | {s['mismatches']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models-dir", type=Path, default=REPO / "examples" / "models")
    ap.add_argument("--models", type=Path, nargs="*", help="model files (input: --input)")
    ap.add_argument("--input", type=Path, help="sample inputs for --models (NCHW .npy)")
    ap.add_argument("--presets", default=",".join(DEFAULT_PRESETS),
                    help="comma-separated presets for the RTL runs ('' for none)")
    ap.add_argument("--rtl-images", type=int, default=4)
    ap.add_argument("--test-split", action="store_true",
                    help="use the 397 digits test images (upsampled to the model's input) and "
                         "report accuracy, instead of the shipped sample inputs")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    logging.getLogger().setLevel(logging.ERROR)
    if args.models:
        if args.input is None:
            ap.error("--models needs --input")
        entries = [(m, args.input) for m in args.models]
    else:
        entries = onnx_entries(args.models_dir)
    presets = [p for p in args.presets.split(",") if p]
    results = []
    for model, sample in entries:
        x, labels = np.load(sample).astype(np.float32), None
        if args.test_split:
            x, labels = digits_test_split(x.shape[-1])
        print(f"{model.name}: {len(x)} inputs", file=sys.stderr)
        results.append(bench_onnx_model(model, x, presets, args.rtl_images, labels))
    print(_markdown(results))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"onnx": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
