"""Measure which LiteRT kernels each golden rounding mode matches, and print a Markdown table.

Random one-op int8 models (tests/golden/litert_rounding.py: CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED with per-channel weight scales, as TensorFlow's converter makes them) run on
LiteRT's reference kernels (BUILTIN_REF), its optimized kernels
(BUILTIN_WITHOUT_DEFAULT_DELEGATES) and the default interpreter (XNNPACK); golden computes the
same layers in each rounding mode. A cell is "differing outputs / outputs (largest |diff|)".
Depthwise cases are split by whether the channel count is a multiple of 8 (the optimized
kernel's vector width; its leftover channels take a scalar path that rounds like the reference).
"negative ties" counts the outputs where "tflite" and "halfup" differ, so a 0 in a column with
ties tells the two modes apart.

Usage: python scripts/rounding_agreement.py [--cases N] [--seed S]  (needs ai-edge-litert, the
``dev`` extra; run from the repository root).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import golden  # noqa: E402
from tests.golden.litert_rounding import KINDS, agreement, make_case, negative_ties  # noqa: E402

RESOLVERS = {"ref": "reference", "opt": "optimized", "xnnpack": "XNNPACK"}


def _group(case) -> str:
    if case.kind != "depthwise_conv2d":
        return case.kind
    return "depthwise_conv2d, C % 8 = 0" if case.layer.w.shape[3] % 8 == 0 else \
        "depthwise_conv2d, C % 8 != 0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200, help="random cases per op [200]")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rows: dict[str, dict] = {}
    for kind in KINDS:
        for _ in range(args.cases):
            case = make_case(kind, rng)
            row = rows.setdefault(_group(case), {"outputs": 0, "ties": 0, "cells": {}})
            row["outputs"] += case.layer.output().size
            row["ties"] += negative_ties(case.layer)
            for resolver in RESOLVERS:
                for rounding, (bad, worst) in agreement(case, resolver).items():
                    cell = row["cells"].setdefault((resolver, rounding), [0, 0])
                    cell[0] += bad
                    cell[1] = max(cell[1], worst)
    head = [f"{RESOLVERS[r]} vs `{m}`" for r in RESOLVERS for m in golden.ROUNDINGS]
    print("| op | outputs | negative ties | " + " | ".join(head) + " |")
    print("|---" * (3 + len(head)) + "|")
    for name, row in rows.items():
        cells = []
        for r in RESOLVERS:
            for m in golden.ROUNDINGS:
                bad, worst = row["cells"][(r, m)]
                cells.append("0" if not bad else f"{bad} (±{worst})")
        print(f"| {name} | {row['outputs']:,} | {row['ties']:,} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
