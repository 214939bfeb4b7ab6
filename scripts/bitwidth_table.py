"""Accuracy of the digits CNN per bit width under every calibration method and QAT; JSON + Markdown.

Test split (397 images), golden model, TFLite rounding, 32-bit multiplier; a_bits = w_bits =
out_bits per width (every tensor between layers at that width); post-training quantization
calibrated on the shipped calibration split with each method of ``golden.CALIBRATION_METHODS``
(weights per channel min/max), and the shipped QAT networks (``scripts/train_qat.py``, seed 0).
Everything is deterministic: the split, the calibration and the QAT weights are fixed.
Uncertainty: the binomial standard error sqrt(p (1 - p) / n) and the Wilson 95% interval.

Usage: ``python scripts/bitwidth_table.py [--widths 8,6,4,3,2] [-o build/bitwidth_table]``
writes ``DIR/bitwidth_table.json`` (one row per width and method, the keys of
``qmac.model.evaluate.evaluate_bits``) and ``DIR/bitwidth_table.md`` and prints the Markdown.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qmac.model.evaluate import METHODS, evaluate_bits  # noqa: E402

WIDTHS = (8, 6, 4, 3, 2)


def table_rows(widths=WIDTHS) -> list[dict]:
    """One ``evaluate_bits`` row per (width, method)."""
    return [evaluate_bits(b, b, method=m) for b in widths for m in METHODS]


def markdown(rows: list[dict]) -> str:
    n, flt = rows[0]["n_test"], rows[0]["float_accuracy"]
    head = "| bits (a = w = out) | " + " | ".join(METHODS) + " |"
    lines = [
        f"Digits CNN, test split (n = {n}); float accuracy {100 * flt:.2f}%. Cells: integer "
        "accuracy (%) ± binomial standard error (points).",
        "",
        head,
        "|" + "---|" * (len(METHODS) + 1),
    ]
    for b in sorted({r["a_bits"] for r in rows}, reverse=True):
        cells = []
        for m in METHODS:
            r = next(x for x in rows if x["a_bits"] == b and x["method"] == m)
            cells.append(f"{100 * r['int_accuracy']:.2f} ± {100 * r['int_accuracy_stderr']:.1f}")
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default=",".join(map(str, WIDTHS)))
    ap.add_argument("-o", "--output-dir", type=Path, default=Path("build/bitwidth_table"))
    args = ap.parse_args(argv)
    rows = table_rows([int(b) for b in args.widths.split(",")])
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "bitwidth_table.json").write_text(json.dumps({"rows": rows}, indent=2))
    md = markdown(rows)
    (args.output_dir / "bitwidth_table.md").write_text(md)
    print(md, end="")
    out = args.output_dir
    print(f"wrote {out / 'bitwidth_table.json'} and {out / 'bitwidth_table.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
