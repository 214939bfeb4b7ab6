"""Train the digits CNN (``qmac.model.train``) in NumPy; write ``qmac/model/data/digits_cnn.npz``.

im2col forward/backward, softmax cross-entropy, Adam, fixed seed; takes well under 2 minutes on
one core. The output file holds the float weights (float32), the split indices and the float
test accuracy, so ``qmac demo`` needs no training.

Usage: ``python scripts/train_digits_cnn.py [--epochs 40] [--seed 0] [-o PATH.npz]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qmac.model.digits import DATA_PATH, FloatCNN, float_forward  # noqa: E402
from qmac.model.train import train  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", type=Path, default=DATA_PATH)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    params, (tr, ca, te), images, labels = train(args.epochs, args.seed)
    arrays = {k: p.astype(np.float32) for k, p in params.items()}
    # Accuracy of exactly the float32 weights that are shipped.
    model = FloatCNN.from_arrays(arrays)
    test_acc = float(np.mean(np.argmax(float_forward(model, images[te]), axis=1) == labels[te]))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.output,
        **arrays,
        train_idx=tr,
        calib_idx=ca,
        test_idx=te,
        float_test_accuracy=np.float64(test_acc),
        seed=np.int64(args.seed),
        epochs=np.int64(args.epochs),
    )
    print(
        f"float test accuracy {test_acc:.4f} ({len(te)} images); "
        f"wrote {args.output} in {time.perf_counter() - t0:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
