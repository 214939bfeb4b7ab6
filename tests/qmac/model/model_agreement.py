"""qmac's tensors of a whole .tflite model against LiteRT and TFLite Micro, op by op.

For each op of the model, qmac's output tensor (from a run, or ``qmac run --dump``) is compared
with

- ``whole_ref``: the same tensor of LiteRT's reference interpreter (``BUILTIN_REF``) run on the
  whole model with ``experimental_preserve_all_tensors=True``;
- ``ref``, ``opt``, ``xnnpack``, ``tflm``: that op alone (cut out of the file, see
  ``litert_models.cut_op``) run on qmac's own input tensors by LiteRT's reference kernels, its
  optimized kernels, the default interpreter (XNNPACK delegate) and TFLite Micro's interpreter.

Each entry is ``(elements that differ, largest |difference|)``. ``downstream_of_fc`` marks ops fed
(directly or not) by a FULLY_CONNECTED, where ``whole_ref`` compares different inputs, because
LiteRT's reference FC requantizes with float scales.

Run as a script to print the table for the shipped models::

    .venv/bin/python -m tests.qmac.model.model_agreement [examples/models]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from tflite_micro.python.tflite_micro import runtime as tflm

from qmac.model.inputs import prepare_inputs
from qmac.model.run import run_network
from qmac.model.tflite_import import load_tflite
from qmac.model.tflite_read import read_tflite
from tests.qmac.model.litert_models import cut_op, run_all, run_cut

__all__ = ["KERNELS", "agreement", "qmac_tensors", "shipped_models", "main"]

KERNELS = ("ref", "opt", "xnnpack", "tflm")
REPO = Path(__file__).resolve().parents[3]


def _diff(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return int(max(a.size, b.size)), -1
    d = np.abs(a - b)
    return int(np.count_nonzero(d)), int(d.max()) if d.size else 0


def _run_tflm(model: bytes, op_index: int, feeds: dict[int, np.ndarray]) -> np.ndarray:
    cut, inputs = cut_op(model, op_index)
    it = tflm.Interpreter.from_bytes(cut)
    details = [it.get_input_details(k) for k in range(len(inputs))]
    ys = []
    for s in range(len(next(iter(feeds.values())))):
        for k, t in enumerate(inputs):
            it.set_input(np.ascontiguousarray(feeds[t][s][None], dtype=details[k]["dtype"]), k)
        it.invoke()
        ys.append(it.get_output(0)[0].copy())
    return np.stack(ys)


def qmac_tensors(model: bytes, x: np.ndarray) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """qmac's golden run of ``model`` on ``x`` (floats or int8): (index -> tensor, model input)."""
    net = load_tflite(model)
    values, _ = prepare_inputs(net, [x])
    run = run_network(net, values, keep_tensors=True)
    out = {int(net.tensors[n].source_name): v for n, v in run.tensors.items()
           if net.tensors[n].source_name is not None}
    return out, values[net.inputs[0]]


def agreement(model: bytes, x_model: np.ndarray, ours: dict[int, np.ndarray],
              kernels: tuple[str, ...] = KERNELS) -> list[dict]:
    """One row per op: qmac's output tensor against each reference (see the module docstring).

    ``x_model`` is the model's input as the interpreter takes it (int8 values for an int8 input);
    ``ours`` maps tensor index -> qmac's (N, ...) values, the model input included.
    """
    m = read_tflite(model)
    whole = run_all(model, x_model, "ref")
    fc_fed: set[int] = set()
    rows = []
    for op in m.ops:
        inputs = [t for t in op.inputs if t >= 0 and not m.tensors[t].is_constant]
        out = op.outputs[0]
        downstream = any(t in fc_fed for t in inputs)
        if op.name == "FULLY_CONNECTED" or downstream:
            fc_fed.add(out)
        feeds = {t: ours[t] for t in inputs}
        row = {"op": op.index, "name": op.name, "tensor": out, "size": int(ours[out].size),
               "downstream_of_fc": downstream, "whole_ref": _diff(ours[out], whole[out])}
        for k in kernels:
            theirs = _run_tflm(model, op.index, feeds) if k == "tflm" else \
                run_cut(model, op.index, feeds, k)
            row[k] = _diff(ours[out], theirs)
        rows.append(row)
    return rows


def shipped_models(folder: Path | None = None) -> dict[str, tuple[Path, Path]]:
    """The shipped .tflite models: name -> (model path, its sample input), from models.json."""
    folder = folder or REPO / "examples" / "models"
    manifest = json.loads((folder / "models.json").read_text())["models"]
    return {Path(name).stem: (folder / name, folder / entry["sample_input"])
            for name, entry in manifest.items() if entry.get("framework") == "tflite"}


def _fmt(v: tuple[int, int], size: int) -> str:
    n, d = v
    return "0" if n == 0 else f"{n}/{size} (max {d})"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else None
    print(f"| model | op | tensor | whole-model ref | {' | '.join(KERNELS)} |")
    print("|---|---|---|---|" + "---|" * len(KERNELS))
    for name, (path, x_path) in shipped_models(folder).items():
        model = path.read_bytes()
        ours, x_model = qmac_tensors(model, np.load(x_path))
        x_feed = x_model.astype(np.int8) if x_model.dtype.kind in "iu" else x_model
        for r in agreement(model, x_feed, ours):
            whole = _fmt(r["whole_ref"], r["size"]) + (" (FC-fed)" if r["downstream_of_fc"] else "")
            cells = " | ".join(_fmt(r[k], r["size"]) for k in KERNELS)
            print(f"| {name} | {r['op']} {r['name']} | {r['tensor']} | {whole} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
