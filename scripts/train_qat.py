"""Fine-tune the digits CNN with quantization-aware training at every shipped width; write
``qmac/model/data/digits_qat.npz`` (``qmac.model.qat_shipped``).

Per width (a_bits = w_bits = out_bits in 8, 6, 4, 3, 2) the recipe of ``QAT_RECIPES``, seed 0;
prints per width the test accuracy of the exported integer network (golden) and the time.

Usage: ``python scripts/train_qat.py [--widths 8,6,4,3,2] [--seed 0] [-o PATH.npz] [--merge]``
(``--merge``: keep the other widths already in ``PATH.npz``, retrain only ``--widths``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qmac.model.digits import load_digits_data  # noqa: E402
from qmac.model.evaluate import predict  # noqa: E402
from qmac.model.qat_shipped import (  # noqa: E402
    QAT_PATH,
    QAT_WIDTHS,
    load_qat,
    save_qat,
    train_width,
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default=",".join(map(str, QAT_WIDTHS)))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=None, help="override every recipe's epochs")
    ap.add_argument("-o", "--output", type=Path, default=QAT_PATH)
    ap.add_argument("--merge", action="store_true",
                    help="keep the widths of the existing output file that are not retrained")
    args = ap.parse_args(argv)
    widths = [int(b) for b in args.widths.split(",")]
    kept = {}
    if args.merge and args.output.is_file():
        with np.load(args.output) as z:
            old = [int(b) for b in z["widths"]]
        kept = {b: load_qat(b, args.output) for b in old if b not in widths}
    data = load_digits_data()
    x, y = data.images[data.test], data.labels[data.test]
    results, t_all = {}, time.perf_counter()
    for bits in widths:
        t0 = time.perf_counter()
        kw = {} if args.epochs is None else {"epochs": args.epochs}
        r = train_width(bits, seed=args.seed, **kw)
        q = r.export()
        acc = float(np.mean(predict(q.forward(q.quantize_input(x))) == y))
        print(f"{bits} bits: QAT test accuracy {acc:.4f} ({len(y)} images), "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        results[bits] = r
    save_qat({**kept, **results}, args.output, seed=np.int64(args.seed))
    print(f"wrote {args.output} in {time.perf_counter() - t_all:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
