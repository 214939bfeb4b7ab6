"""Self-contained HTML page for ``qmac demo``: tables, confusion matrices, sample predictions.

Figures are drawn with matplotlib (Agg) and embedded as base64 PNG, so the page is one file.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np

__all__ = ["confusion_matrix", "render_demo_html"]


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """(n_classes, n_classes) int64 counts; row = true class, column = predicted class."""
    labels, preds = np.asarray(labels, dtype=np.int64), np.asarray(preds, dtype=np.int64)
    if labels.shape != preds.shape:
        raise ValueError(
            f"labels and preds must have the same shape, not {labels.shape} and {preds.shape}"
        )
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (labels, preds), 1)
    return cm


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _confusion_png(cms: Sequence[tuple[str, np.ndarray]]) -> str:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(cms), figsize=(4.2 * len(cms), 4), squeeze=False)
    for ax, (title, cm) in zip(axes[0], cms, strict=True):
        ax.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            if v:
                ax.text(
                    j,
                    i,
                    str(v),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v > cm.max() / 2 else "black",
                )
        ax.set_xticks(range(10))
        ax.set_yticks(range(10))
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title, fontsize=9)
    return _png(fig)


def _samples_png(images: np.ndarray, labels: np.ndarray, preds: np.ndarray, limit: int = 16) -> str:
    import matplotlib.pyplot as plt

    order = np.argsort(preds == labels, kind="stable")  # misclassified first
    images, labels, preds = images[order], labels[order], preds[order]
    n = min(limit, len(images))
    cols = min(n, 8)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        ax = axes.flat[i]
        ax.imshow(images[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ok = preds[i] == labels[i]
        ax.set_title(f"{labels[i]}→{preds[i]}", fontsize=9, color="black" if ok else "red")
    return _png(fig)


def _pct(v: float) -> str:
    return f"{100 * v:.2f}%"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_demo_html(
    summary: dict,
    *,
    images: np.ndarray,
    labels: np.ndarray,
    rtl_preds: np.ndarray,
    golden_cm_test: np.ndarray,
) -> str:
    """The demo page.

    Parameters
    ----------
    summary : dict
        The demo's JSON summary (see ``qmac.cli.demo``).
    images : (N, 8, 8, 1) float array
        Images run on the RTL (pixels in [0, 1]).
    labels, rtl_preds : (N,) int arrays
        True classes and the RTL's predictions for them.
    golden_cm_test : (10, 10) int array
        Confusion matrix of the golden integer model on the whole test split.
    """
    s = summary
    acc = s["accuracy"]
    acc_rows = [
        ["float (NumPy)", _pct(acc["float_test"]), _pct(acc["float_run"])],
        [f"int{s['config']['a_bits']} golden", _pct(acc["golden_test"]), _pct(acc["golden_run"])],
        ["RTL (Verilator)", "", _pct(acc["rtl_run"])],
    ]
    layer_rows = [
        [
            ly["name"],
            ly["op"],
            ly["macs"],
            ly["cycles"],
            ly["ideal_cycles"],
            ly["cycles_per_image"],
            f"{100 * ly['utilization']:.1f}%",
            ly["mismatches"],
        ]
        for ly in s["layers"]
    ]
    layer_rows.append(
        [
            "total",
            "",
            sum(ly["macs"] for ly in s["layers"]),
            s["cycles"],
            sum(ly["ideal_cycles"] for ly in s["layers"]),
            s["cycles_per_image"],
            "",
            s["mismatches"],
        ]
    )
    bit_rows = [
        [
            b["a_bits"],
            b["w_bits"],
            b.get("method", "minmax"),
            _pct(b["float_accuracy"]),
            _pct(b["int_accuracy"]) + f" ± {100 * b.get('int_accuracy_stderr', 0.0):.1f}",
            b["sqnr_db"],
            b["max_abs_err"],
            b["ties"],
        ]
        for b in s["bit_widths"]
    ]
    cm_png = _confusion_png(
        [
            (f"RTL, {len(labels)} images run", confusion_matrix(labels, rtl_preds)),
            (
                f"int{s['config']['a_bits']} golden, test split ({acc['n_test']} images)",
                golden_cm_test,
            ),
        ]
    )
    samples_png = _samples_png(images, labels, rtl_preds)
    verdict = (
        "bit-exact: 0 mismatches"
        if s["mismatches"] == 0
        else f"FAILED: {s['mismatches']} mismatching outputs"
    )
    cfg = ", ".join(f"{k}={v}" for k, v in s["config"].items())
    name = html.escape(s["config_name"])
    rnd, mb = html.escape(s["config"]["rounding"]), s["config"]["mult_bits"]
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>qmac demo: digits CNN on {name}</title>
<style>body{{font-family:sans-serif;max-width:980px;margin:1em auto}}
table{{border-collapse:collapse;margin:.5em 0}}
td,th{{border:1px solid #bbb;padding:2px 8px;text-align:right}}th{{background:#eee}}
.ok{{color:#070}}.bad{{color:#b00}}code{{font-size:90%}}</style></head><body>
<h1>qmac demo: digits CNN on the simulated array</h1>
<p>Array <b>{name}</b> (<code>{html.escape(cfg)}</code>), Verilator RTL,
{s["images"]} test images, seed {s["seed"]}.
<b class="{"ok" if s["mismatches"] == 0 else "bad"}">{
        verdict
    }</b> (every layer's output compared integer
for integer with the golden model, each layer fed the RTL output of the previous one).</p>
<h2>Accuracy</h2>
{_table(["model", f"test split ({acc['n_test']})", f"images run ({s['images']})"], acc_rows)}
<h2>Layers on the array</h2>
<p>Cycles measured on the RTL; ideal cycles from the SCALE-Sim-style model in <code>golden</code>;
utilization = MACs / (rows·cols·cycles).</p>
{
        _table(
            [
                "layer",
                "op",
                "MACs",
                "cycles",
                "ideal cycles",
                "cycles/image",
                "utilization",
                "mismatches",
            ],
            layer_rows,
        )
    }
<h2>Confusion matrices</h2>
<img src="data:image/png;base64,{cm_png}" alt="confusion matrices">
<h2>Sample predictions (RTL; true→predicted, red = wrong)</h2>
<img src="data:image/png;base64,{samples_png}" alt="sample predictions">
<h2>Lower bit widths (golden model, test split, {rnd} rounding, {mb}-bit multiplier)</h2>
{
        _table(
            [
                "a_bits",
                "w_bits",
                "method",
                "float acc",
                "int acc (± binomial SE)",
                "SQNR (dB)",
                "max |logit err|",
                "ties",
            ],
            bit_rows,
        )
    }
<p>Logits are requantized to a_bits; argmax ties go to the lowest class index.</p>
</body></html>
"""
