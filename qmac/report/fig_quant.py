"""Quantization figures of a sweep: accuracy vs width per method, error vs width, and the
accuracy-vs-cost Pareto plot. Accuracy axes run from 0 to 100%: no truncated axis turns a
one-image difference into a visible step; the 95% Wilson interval of each point is drawn.
"""

from __future__ import annotations

from qmac.report.palette import FLOAT_COLOR, method_color, width_color
from qmac.report.pareto import COSTS, pareto_points, wilson_interval
from qmac.report.plotting import finish, log_ticks, mark_skipped, new_figure, ok_rows
from qmac.report.results import METHODS

__all__ = ["accuracy_vs_bits", "error_vs_bits", "pareto_plot"]

_METHOD_LABEL = {"minmax": "PTQ min/max", "percentile": "PTQ percentile", "entropy": "PTQ entropy",
                 "mse": "PTQ MSE", "qat": "QAT"}


def _quant_rows(rows: list[dict], *keys: str) -> dict[tuple[int, int], dict]:
    """(a_bits, w_bits) -> the first row of that width holding every one of ``keys``."""
    out: dict[tuple[int, int], dict] = {}
    for r in ok_rows(rows, "a_bits", "w_bits", *keys):
        out.setdefault((r["a_bits"], r["w_bits"]), r)
    return out


def _width_axis(ax, widths: list[int]) -> None:
    ax.set_xticks(widths)
    ax.set_xlabel("operand width (bits)")
    ax.set_xlim(min(widths) - 0.5, max(widths) + 0.5)


def _float_line(ax, flt: float | None, n: int | None) -> None:
    if flt is not None:
        ax.axhline(100 * flt, color=FLOAT_COLOR, ls="--", lw=1.2,
                   label=f"float {100 * flt:.2f}%" + (f" (n={n})" if n else ""))


def accuracy_vs_bits(rows: list[dict], meta: dict) -> bytes | None:
    """Digits CNN test accuracy vs width, one line per calibration method and QAT, 95% bars."""
    q = {k: r for k, r in _quant_rows(rows, "n_test", "int_accuracy_minmax").items()
         if k[0] == k[1]}
    if not q:
        return None
    failed = {r["a_bits"]: r["reason"] for r in rows
              if r.get("a_bits") is not None and r["a_bits"] == r.get("w_bits")
              and (r["a_bits"], r["a_bits"]) not in q and r.get("status") != "ok"
              and r.get("reason")}
    widths = sorted({a for a, _ in q} | set(failed))
    n = next(iter(q.values()))["n_test"]
    plt, fig, axes = new_figure(1, 1, f"Digits CNN accuracy vs operand width (test split, n={n}, "
                                "bars: 95% Wilson interval)", meta, panel=(8.0, 4.6))
    ax = axes[0][0]
    offsets = {m: (i - (len(METHODS) - 1) / 2) * 0.07 for i, m in enumerate(METHODS)}
    for m in METHODS:
        pts = [(a, q[(a, a)][f"int_accuracy_{m}"], q[(a, a)]["n_test"]) for a in widths
               if (a, a) in q and q[(a, a)].get(f"int_accuracy_{m}") is not None]
        if not pts:
            continue
        xs = [a + offsets[m] for a, _, _ in pts]  # side by side: the bars would overlap
        ys = [100 * p for _, p, _ in pts]
        ci = [wilson_interval(p, k) for _, p, k in pts]
        err = [[y - 100 * lo for y, (lo, _) in zip(ys, ci, strict=True)],
               [100 * hi - y for y, (_, hi) in zip(ys, ci, strict=True)]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, color=method_color(m),
                    label=_METHOD_LABEL.get(m, m))
    flt = next((r["float_accuracy"] for r in q.values() if r.get("float_accuracy") is not None),
               None)
    _float_line(ax, flt, None)
    _width_axis(ax, widths)
    ax.set_ylim(0, 100.5)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    mark_skipped(ax, sorted(failed), [FLOAT_COLOR] * len(failed), label="failed")
    notes = [f"x {a} bit: {failed[a]}" for a in sorted(failed)]
    no_qat = [a for a in widths if (a, a) in q and q[(a, a)].get("int_accuracy_qat") is None]
    if "int_accuracy_qat" in next(iter(q.values())) and no_qat:
        notes.append(f"QAT: no trained network at {', '.join(map(str, no_qat))} bits "
                     "(shipped QAT widths only)")
    return finish(plt, fig, notes=notes)


def error_vs_bits(rows: list[dict], meta: dict) -> bytes | None:
    """Logit SQNR and RMS error (float units) vs a_bits, one line per w_bits (min/max PTQ)."""
    q = _quant_rows(rows, "sqnr_db")
    if not q:
        return None
    rms = all(r.get("rms_err") is not None for r in q.values())
    plt, fig, axes = new_figure(1, 2 if rms else 1, "Digits CNN logit error vs width (PTQ min/max;"
                                " every inter-layer tensor at the swept width)", meta)
    groups: dict[str, list[tuple[int, int]]] = {}
    for a, w in sorted(q):  # a_bits = w_bits is one series; a fixed w_bits under a swept a_bits
        groups.setdefault("w_bits = a_bits" if a == w else f"w_bits = {w}", []).append((a, w))
    for label, keys in groups.items():
        xs = [a for a, _ in keys]
        color = method_color("minmax") if label == "w_bits = a_bits" else width_color(keys[0][1])
        axes[0][0].plot(xs, [q[k]["sqnr_db"] for k in keys], marker="o", color=color,
                        label=label)
        if rms:
            axes[0][1].plot(xs, [q[k]["rms_err"] for k in keys], marker="o", color=color,
                            label=label)
    widths = sorted({a for a, _ in q})
    axes[0][0].set_ylabel("logit SQNR (dB)")
    if rms:
        axes[0][1].set_ylabel("RMS logit error (float logit units)")
        axes[0][1].set_yscale("log")  # the error halves per bit: decades on a linear axis vanish
        log_ticks(axes[0][1])
    for ax in axes[0]:
        _width_axis(ax, widths)
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    return finish(plt, fig)


def pareto_plot(rows: list[dict], meta: dict, cost: str = "lut") -> bytes | None:
    """Accuracy vs the chosen cost per array; the Pareto-optimal points joined and outlined."""
    points, flt = pareto_points(rows, cost)
    if not points:
        return None
    key, axis_label, lower = COSTS[cost]
    arrays = list(dict.fromkeys(p.array for p in points))[:4]
    ncols = min(len(arrays), 2)
    nrows = -(-len(arrays) // ncols)
    better = "left" if lower else "right"
    plt, fig, axes = new_figure(
        nrows, ncols, f"Accuracy vs {axis_label}: Pareto-optimal points outlined and joined "
        f"(better: up and {better})", meta, panel=(6.0, 4.4))
    for i, array in enumerate(arrays):
        ax = axes[i // ncols][i % ncols]
        mine = [p for p in points if p.array == array]
        for m in METHODS:
            pm = [p for p in mine if p.method == m]
            if pm:
                ax.errorbar([p.cost for p in pm], [100 * p.accuracy for p in pm],
                            yerr=[[100 * (p.accuracy - p.ci[0]) for p in pm],
                                  [100 * (p.ci[1] - p.accuracy) for p in pm]],
                            fmt="o", capsize=2, ms=6, color=method_color(m),
                            label=_METHOD_LABEL.get(m, m), alpha=0.9)
        front = sorted((p for p in mine if p.optimal), key=lambda p: p.cost)
        ax.step([p.cost for p in front], [100 * p.accuracy for p in front],
                where="post" if lower else "pre", color="0.3", lw=1.2, zorder=1,
                label="Pareto front")
        ax.scatter([p.cost for p in front], [100 * p.accuracy for p in front], s=110,
                   facecolors="none", edgecolors="k", linewidths=1.5, zorder=6)
        costs = [p.cost for p in mine]
        span = (max(costs) - min(costs)) or max(abs(max(costs)), 1.0)
        last, level = None, 0
        for c in sorted({p.cost for p in mine}):
            bits = sorted({(p.a_bits, p.w_bits) for p in mine if p.cost == c})
            # costs close together: stack their width labels instead of overprinting them
            level = level + 1 if last is not None and c - last < 0.06 * span else 0
            last = c
            ax.annotate(", ".join(f"{a}b" if a == w else f"a{a}w{w}" for a, w in bits),
                        (c, 2 + 6 * (level % 4)), textcoords="offset points", xytext=(0, 2),
                        ha="center", fontsize=9, color="0.25")
        ax.margins(x=0.08)
        if lower:  # cell counts: integer ticks with thousands separators
            from matplotlib.ticker import FuncFormatter, MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
            if max(costs) - min(costs) < 4:  # one or two counts: whole numbers around them
                ax.set_xlim(min(costs) - 2, max(costs) + 2)
        _float_line(ax, flt, None)
        ax.set_ylim(0, 100.5)
        ax.set_xlabel(axis_label)
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(array)
        ax.grid(alpha=0.3)
        if i == min(len(arrays), ncols) - 1:  # one legend, beside the first row of panels
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    for j in range(len(arrays), nrows * ncols):
        axes[j // ncols][j % ncols].axis("off")
    acc_widths = {(p.a_bits, p.w_bits) for p in points}
    notes = [f"not plotted: {r.get('target') or ''} {r['rows']}x{r['cols']} {r['a_bits']}b has no "
             f"{cost} ({r.get('pnr_note') or r.get('reason') or 'not measured'})"
             for r in ok_rows(rows, "rows", "a_bits", "lut")
             if r.get(key) is None and (r["a_bits"], r["w_bits"]) in acc_widths]
    return finish(plt, fig, notes=notes)

