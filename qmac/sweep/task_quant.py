"""The ``"quant"`` sweep task: one (a_bits, w_bits[, out_bits]): quantization error and accuracy
of the digits CNN (golden model), under every calibration method and QAT.

Every tensor between layers follows the swept ``a_bits`` (``out_bits`` of the network), unless
the sweep has an ``out_bits`` axis: then that width is used, as an array of that ``out_bits``
would write it. Error is in the float units of the logits (and SQNR), comparable across widths.
"""

from __future__ import annotations

from qmac.model.evaluate import METHODS, evaluate_bits
from qmac.model.qat_shipped import QAT_WIDTHS

__all__ = ["run", "ROW_KEYS"]

#: Keys of the minmax evaluation copied into the sweep row (``quant_``-prefixed where a config
#: field has the same name).
ROW_KEYS = (
    "float_accuracy",
    "int_accuracy",
    "int_accuracy_stderr",
    "n_test",
    "sqnr_db",
    "max_abs_err",
    "rms_err",
    "agreement",
    "ties",
)


def run(p: dict) -> dict:
    """Accuracy and error at (a_bits, w_bits, out_bits = p.get("out_bits") or a_bits).

    Returns
    -------
    dict
        :data:`ROW_KEYS` of the minmax row, ``quant_out_bits`` (the inter-layer width used),
        and per method in ``qmac.model.evaluate.METHODS`` ``int_accuracy_<method>`` and
        ``int_accuracy_stderr_<method>`` (None for ``qat`` where no QAT network of that width
        exists: a_bits = w_bits = out_bits in ``QAT_WIDTHS`` only).
    """
    a, w = p["a_bits"], p["w_bits"]
    out = p.get("out_bits") or a
    rows = {}
    for method in METHODS:
        if method == "qat" and not (a == w == out and a in QAT_WIDTHS):
            rows[method] = None
            continue
        rows[method] = evaluate_bits(a, w, out_bits=out, n_test=p["n_test"], method=method)
    base = rows["minmax"]
    result = {k: base[k] for k in ROW_KEYS}
    result["quant_out_bits"] = out
    for method, r in rows.items():
        result[f"int_accuracy_{method}"] = None if r is None else r["int_accuracy"]
        result[f"int_accuracy_stderr_{method}"] = None if r is None else r["int_accuracy_stderr"]
    return result
