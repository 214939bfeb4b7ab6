"""The ``"quant"`` sweep task: one (a_bits, w_bits): quantization error and accuracy of the digits
CNN (golden model)."""

from __future__ import annotations

from qmac.model.evaluate import evaluate_bits

__all__ = ["run"]


def run(p: dict) -> dict:
    """Accuracy and quantization error of the digits CNN at (a_bits, w_bits)."""
    r = evaluate_bits(p["a_bits"], p["w_bits"], n_test=p["n_test"])
    return {
        k: (float(r[k]) if isinstance(r[k], float) else r[k])
        for k in ("float_accuracy", "int_accuracy", "sqnr_db", "max_err_lsb", "agreement", "ties")
        if k in r
    }
