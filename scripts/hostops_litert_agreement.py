"""Measure golden.hostops against LiteRT's three CPU kernel sets and print a Markdown table.

Runs the seeded cases of tests/golden/hostops/cases.py (random and edge inputs) with ``trials``
times more random cases than the tests use, on LiteRT's reference kernels (BUILTIN_REF), its
optimized kernels (BUILTIN_WITHOUT_DEFAULT_DELEGATES) and the default interpreter (XNNPACK).
For SOFTMAX it also measures golden.hostops.softmax_lut (the model of the optimized kernel).
Cells give mismatching outputs (share, largest difference in LSB; float32 ulps for DEQUANTIZE);
"XNNPACK takes" counts the cases whose node the XNNPACK delegate replaced (the others run on
the optimized kernels in the default interpreter too). ``--random`` keeps only random cases.

Usage: python scripts/hostops_litert_agreement.py [--trials N]  (needs ai-edge-litert, the
``dev`` extra; run from the repository root).
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ai_edge_litert.interpreter import Interpreter  # noqa: E402

import golden.hostops as H  # noqa: E402
from tests.golden.hostops.agreement import Agreement, measure  # noqa: E402
from tests.golden.hostops.cases import CASES, SOFTMAX_OUT, Case  # noqa: E402
from tests.golden.hostops.litert_one_op import build_model  # noqa: E402

RESOLVERS = ("ref", "opt", "xnnpack")


def _cell(a: Agreement) -> str:
    if not a.mismatches:
        return "0"
    return f"{a.mismatches} ({100 * a.mismatches / a.outputs:.2f}%, max {a.max_abs})"


def _lut_cases(cases: list[Case]) -> list[Case]:
    out = []
    for c in cases:
        qi = H.TensorQuant(c.inputs[0].scale, c.inputs[0].zero_point)
        y = H.softmax_lut(c.feeds[0], qi, SOFTMAX_OUT, c.options["beta"])
        out.append(Case(c.name + "-lut", c.op, c.inputs, c.output, c.feeds, y, c.options))
    return out


def _delegated(case: Case) -> bool:
    interp = Interpreter(model_content=build_model(case.op, case.inputs, [case.output],
                                                   case.options))
    interp.allocate_tensors()
    return any(d["op_name"] == "DELEGATE" for d in interp._get_ops_details())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="random-case multiplier")
    parser.add_argument("--random", action="store_true", help="random cases only (no edges)")
    args = parser.parse_args()
    rows = [("op", "outputs", "BUILTIN_REF", "optimized", "XNNPACK (default)", "XNNPACK takes")]
    for name, gen in CASES.items():
        base = inspect.signature(gen).parameters["trials"].default
        cases = gen(trials=base * args.trials)
        if args.random:
            cases = [c for c in cases if "-random" in c.name]
        if not cases:
            continue
        results = [measure(cases, r) for r in RESOLVERS]
        taken = f"{sum(map(_delegated, cases))}/{len(cases)}"
        rows.append((name, str(results[0].outputs), *(_cell(a) for a in results), taken))
        if name == "SOFTMAX":
            lut = [measure(_lut_cases(cases), r) for r in RESOLVERS]
            rows.append(("SOFTMAX (softmax_lut)", str(lut[0].outputs), *(_cell(a) for a in lut),
                         taken))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


if __name__ == "__main__":
    main()
