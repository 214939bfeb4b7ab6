"""Figures of a sweep (matplotlib, Agg): each returned as PNG bytes, each stamped with provenance.

A figure is made only when the rows hold its data: resources vs array size per target, resources
and Fmax vs bit width, quantization error and accuracy vs bit width, cycles and utilization vs size.
"""

from __future__ import annotations

import io
import textwrap
from collections import defaultdict

__all__ = ["FIGURES", "provenance", "make_figures"]

FIGURES = ("resources_vs_size", "resources_vs_bits", "error_vs_bits", "cycles_vs_size")
_RESOURCES = (("lut", "LUT"), ("ff", "FF"), ("dsp", "DSP"), ("ram", "block RAM"))


def provenance(meta: dict) -> str:
    """One line: the command and the versions (qmac, yosys, nextpnr) that produced the results."""
    v = meta.get("versions", {})
    tools = ", ".join(
        f"{k} {v[k]}" for k in ("qmac", "yosys", "nextpnr-ecp5", "nextpnr-ice40") if k in v
    )
    return f"{meta.get('command') or 'qmac sweep'}  |  {tools}"


def _ok(rows: list[dict], *keys: str) -> list[dict]:
    """Rows holding these measurements (a point that failed later, in PnR, still has them)."""
    return [r for r in rows if all(r.get(k) is not None for k in keys)]


def _bits_label(r: dict) -> str:
    return f"a{r['a_bits']}w{r['w_bits']}"


def _size_label(r: dict) -> str:
    return f"{r['rows']}x{r['cols']}"


def _series(rows: list[dict], group, x, y) -> dict[str, tuple[list, list]]:
    """{label: (xs, ys)} sorted by x, one value per (label, x) (the first seen)."""
    acc: dict[str, dict] = defaultdict(dict)
    for r in rows:
        acc[group(r)].setdefault(x(r), y(r))
    return {label: (sorted(d), [d[k] for k in sorted(d)]) for label, d in sorted(acc.items())}


def _new(nrows: int, ncols: int, title: str, meta: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.6 * ncols + 0.8, 2.8 * nrows + 0.9), squeeze=False
    )
    fig.suptitle(title, fontsize=11)
    footer = "\n".join(textwrap.wrap(provenance(meta), 150))
    fig.text(0.005, 0.005, footer, fontsize=6, color="0.35", va="bottom", family="monospace")
    return plt, fig, axes


def _png(plt, fig) -> bytes:
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


def _plot(ax, series: dict, *, xlabel: str, ylabel: str, logy: bool = False, xticks=None) -> None:
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o", ms=3, label=label)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    if logy and any(y > 0 for _, ys in series.values() for y in ys):
        ax.set_yscale("symlog", linthresh=1)
    if xticks:
        ax.set_xticks(xticks)
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=6)


def _resources_vs_size(rows: list[dict], meta: dict) -> bytes | None:
    ok = _ok(rows, "lut")
    targets = sorted({r["target"] for r in ok})
    if len({r["rows"] * r["cols"] for r in ok}) < 2:
        return None
    res = [(k, n) for k, n in _RESOURCES if any(r.get(k) for r in ok)]
    plt, fig, axes = _new(len(res), len(targets), "Resources vs array size (Yosys)", meta)
    for j, t in enumerate(targets):
        sub = [r for r in ok if r["target"] == t]
        pes = sorted({r["rows"] * r["cols"] for r in sub})
        for i, (key, name) in enumerate(res):
            s = _series(
                sub, _bits_label, lambda r: r["rows"] * r["cols"], lambda r, k=key: r.get(k) or 0
            )
            _plot(
                axes[i][j],
                s,
                xlabel="PEs (rows x cols)",
                ylabel=f"{name} ({t})",
                logy=True,
                xticks=pes,
            )
    return _png(plt, fig)


def _resources_vs_bits(rows: list[dict], meta: dict) -> bytes | None:
    ok = _ok(rows, "lut")
    if len({(r["a_bits"], r["w_bits"]) for r in ok}) < 2:
        return None
    panels = [(k, n) for k, n in _RESOURCES if any(r.get(k) for r in ok)]
    if any(r.get("fmax_mhz") for r in ok):
        panels.append(("fmax_mhz", "Fmax (MHz, nextpnr)"))
    plt, fig, axes = _new(1, len(panels), "Resources and Fmax vs bit width", meta)
    bits = sorted({r["a_bits"] for r in ok})
    for j, (key, name) in enumerate(panels):
        sub = [r for r in ok if r.get(key) is not None]
        s = _series(
            sub,
            lambda r: (
                f"{_size_label(r)} {r['target']}"
                + (" a=w" if r["a_bits"] == r["w_bits"] else f" w{r['w_bits']}")
            ),
            lambda r: r["a_bits"],
            lambda r, k=key: r[k],
        )
        _plot(axes[0][j], s, xlabel="a_bits", ylabel=name, logy=False, xticks=bits)
    return _png(plt, fig)


def _error_vs_bits(rows: list[dict], meta: dict) -> bytes | None:
    ok = _ok(rows, "sqnr_db")
    if not ok:
        return None
    bits = sorted({r["a_bits"] for r in ok})
    plt, fig, axes = _new(1, 3, "Quantization error and accuracy vs bit width (digits CNN)", meta)
    by_w = lambda r: "w_bits = a_bits" if r["a_bits"] == r["w_bits"] else f"w_bits={r['w_bits']}"  # noqa: E731
    _plot(
        axes[0][0],
        _series(ok, by_w, lambda r: r["a_bits"], lambda r: r["sqnr_db"]),
        xlabel="a_bits",
        ylabel="logit SQNR (dB)",
        xticks=bits,
    )
    _plot(
        axes[0][1],
        _series(ok, by_w, lambda r: r["a_bits"], lambda r: r["max_abs_err"]),
        xlabel="a_bits",
        ylabel="max |logit error| (float logit units)",
        xticks=bits,
    )
    acc = _series(ok, by_w, lambda r: r["a_bits"], lambda r: 100 * r["int_accuracy"])
    _plot(axes[0][2], acc, xlabel="a_bits", ylabel="accuracy (%)", xticks=bits)
    flt = [r["float_accuracy"] for r in ok if r.get("float_accuracy") is not None]
    if flt:
        axes[0][2].axhline(100 * flt[0], color="k", ls="--", lw=0.8, label="float")
        axes[0][2].legend(fontsize=6)
    return _png(plt, fig)


def _cycles_vs_size(rows: list[dict], meta: dict) -> bytes | None:
    ok = _ok(rows, "cycles")
    if not ok:
        return None
    pes = sorted({r["rows"] * r["cols"] for r in ok})
    plt, fig, axes = _new(
        1, 2, f"Cycles and utilization vs size ({ok[0].get('workload', '')})", meta
    )
    grp = lambda r: f"{r['dataflow']} {_bits_label(r)}"  # noqa: E731
    size = lambda r: r["rows"] * r["cols"]  # noqa: E731
    s = _series(ok, grp, size, lambda r: r["cycles"])
    ideal = _series(
        [r for r in ok if r.get("ideal_cycles")],
        lambda r: grp(r) + " ideal",
        size,
        lambda r: r["ideal_cycles"],
    )
    _plot(axes[0][0], {**s, **ideal}, xlabel="PEs", ylabel="cycles", logy=True, xticks=pes)
    _plot(
        axes[0][1],
        _series(ok, grp, size, lambda r: 100 * r["utilization"]),
        xlabel="PEs",
        ylabel="MAC utilization (%)",
        xticks=pes,
    )
    return _png(plt, fig)


def make_figures(rows: list[dict], meta: dict) -> dict[str, bytes]:
    """{figure name: PNG bytes} of the figures the rows have data for (names: :data:`FIGURES`)."""
    makers = {
        "resources_vs_size": _resources_vs_size,
        "resources_vs_bits": _resources_vs_bits,
        "error_vs_bits": _error_vs_bits,
        "cycles_vs_size": _cycles_vs_size,
    }
    out = {}
    for name in FIGURES:
        png = makers[name](rows, meta)
        if png is not None:
            out[name] = png
    return out
