"""Per-layer sensitivity of the digits CNN: one layer at a low width, the rest at 8 bits, ranked.

``qmac.model.sensitivity.layer_sensitivity``: post-training quantization, test split, paired
bootstrap (seeded) for the uncertainty of each drop. A script rather than a ``qmac`` command:
it studies the shipped example network, not the user's array, like the training scripts.

Usage: ``python scripts/sensitivity.py [--bits 2] [--part both|weights|activations]
[--method minmax] [--seed 0] [--boot 1000] [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qmac.model.sensitivity import PARTS, format_ranking, layer_sensitivity  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bits", type=int, default=2)
    ap.add_argument("--base-bits", type=int, default=8)
    ap.add_argument("--part", choices=PARTS, default="both")
    ap.add_argument("--method", default="minmax")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    try:
        r = layer_sensitivity(args.bits, base_bits=args.base_bits, part=args.part,
                              method=args.method, seed=args.seed, n_boot=args.boot)
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_ranking(r))
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
