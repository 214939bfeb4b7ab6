"""Hardware figures of a sweep: resources vs array size, per-PE cost vs width, Fmax vs size, cycles.

Each function takes the rows and the meta of a results document and returns PNG bytes, or None
when the rows do not hold what the figure needs (e.g. one size only).
"""

from __future__ import annotations

from qmac.report.palette import FLOAT_COLOR, PART_STYLES, size_color, target_style, width_color
from qmac.report.plotting import (
    bits_label,
    finish,
    log_ticks,
    mark_skipped,
    new_figure,
    ok_rows,
    set_size_ticks,
    size_label,
    skip_reason,
)

__all__ = [
    "breakdown_vs_size",
    "cycles_vs_size",
    "fmax_vs_size",
    "per_pe_vs_bits",
    "resources_vs_size",
]

#: Row key -> axis label (with units).
RESOURCES = {
    "lut": "LUT4 cells",
    "ff": "flip-flops",
    "dsp": "DSP blocks (multipliers)",
    "ram": "block RAMs",
}


def _pes(r: dict) -> int:
    return r["rows"] * r["cols"]


def _thousands(ax) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def _series_key(r: dict, many_targets: bool) -> tuple:
    return (r.get("target") or "", r["a_bits"], r["w_bits"]) if many_targets else (
        "", r["a_bits"], r["w_bits"])


def _label(key: tuple) -> str:
    target, a, w = key
    bits = f"{a} bit" if a == w else f"a{a} w{w}"
    return f"{bits} {target}".strip()


def _by_series(rows: list[dict], x, y, many_targets: bool) -> dict[tuple, tuple[list, list]]:
    """{(target, a_bits, w_bits): (xs, ys)} sorted by x, first row per (series, x)."""
    acc: dict[tuple, dict] = {}
    for r in rows:
        acc.setdefault(_series_key(r, many_targets), {}).setdefault(x(r), y(r))
    return {k: (sorted(d), [d[v] for v in sorted(d)]) for k, d in sorted(acc.items())}


def resources_vs_size(rows: list[dict], meta: dict) -> bytes | None:
    """LUT, FF, DSP and block RAM of the whole array vs PEs, one line per width (and target)."""
    # Rows without a synthesis target (accuracy-only points) were never meant to be synthesized.
    sized = [r for r in rows if r.get("rows") and r.get("a_bits") and r.get("target")]
    ok = ok_rows(sized, "lut")
    if len({_pes(r) for r in ok}) < 2:
        return None
    res = [k for k in RESOURCES if any(r.get(k) for r in ok)]
    many = len({r.get("target") for r in ok}) > 1
    ncols = 2 if len(res) > 1 else 1
    nrows = -(-len(res) // ncols)
    plt, fig, axes = new_figure(nrows, ncols, "Resources vs array size (Yosys, whole qmac_top)",
                                meta)
    failed = [r for r in sized if r.get("lut") is None]
    notes = [f"x {size_label(r)} {bits_label(r)} {r.get('target') or ''}: "
             f"{skip_reason(r, 'lut') or 'no synthesis result'}" for r in failed]
    for i, key in enumerate(res):
        ax = axes[i // ncols][i % ncols]
        for s, (xs, ys) in _by_series(ok, _pes, lambda r, k=key: r.get(k) or 0, many).items():
            ax.plot(xs, ys, marker="o", color=width_color(s[1]), ls=target_style(s[0] or None),
                    label=_label(s))
        mark_skipped(ax, [_pes(r) for r in failed], [width_color(r["a_bits"]) for r in failed])
        set_size_ticks(ax, sized)
        ax.set_ylim(bottom=0)
        _thousands(ax)
        ax.set_ylabel(RESOURCES[key])
        ax.set_title(RESOURCES[key])
        ax.grid(alpha=0.3)
        ax.legend(title="operand width")
    for j in range(len(res), nrows * ncols):
        axes[j // ncols][j % ncols].axis("off")
    return finish(plt, fig, notes=notes)


_PART_LABELS = {"mesh": "mesh (PEs)", "requant": "requant units",
                "rest": "rest: buffers, loaders, control"}


def breakdown_vs_size(rows: list[dict], meta: dict) -> bytes | None:
    """Stacked bars per array size and width: mesh, requant units and the rest, per resource."""
    ok = ok_rows(rows, "mesh_lut", "rows", "a_bits")
    if not ok:
        return None
    res = [k for k in RESOURCES if any(r.get(f"{p}_{k}") for r in ok for p in PART_STYLES)]
    sizes = sorted({(r["rows"], r["cols"]) for r in ok}, key=lambda s: (s[0] * s[1], s))
    widths = sorted({(r["a_bits"], r["w_bits"]) for r in ok})
    ncols = 2 if len(res) > 1 else 1
    nrows = -(-len(res) // ncols)
    targets = sorted({r.get("target") or "" for r in ok})
    plt, fig, axes = new_figure(
        nrows, ncols, "Where the resources go: mesh, requantization, rest (Yosys, parts "
        f"synthesized alone; {', '.join(targets)})", meta, panel=(5.2, 3.6))
    bar = 0.8 / len(widths)
    for i, key in enumerate(res):
        ax = axes[i // ncols][i % ncols]
        for j, (a, w) in enumerate(widths):
            for si, rc in enumerate(sizes):
                r = next((r for r in ok if (r["rows"], r["cols"]) == rc
                          and (r["a_bits"], r["w_bits"]) == (a, w)), None)
                if r is None:
                    continue
                x = si - 0.4 + bar * (j + 0.5)
                bottom = 0
                for part, (color, hatch) in PART_STYLES.items():
                    v = r.get(f"{part}_{key}") or 0
                    ax.bar(x, v, bar * 0.9, bottom=bottom, color=color, hatch=hatch,
                           edgecolor="white", lw=0.5,
                           label=_PART_LABELS[part] if (j, si) == (0, 0) else None)
                    bottom += v
                ax.annotate(f"{a}b" if a == w else f"a{a}w{w}", (x, bottom), ha="center",
                            va="bottom", fontsize=9, xytext=(0, 1), textcoords="offset points")
        ax.set_xticks(range(len(sizes)))
        ax.set_xticklabels([f"{r}x{c}\n{r * c} PEs" for r, c in sizes])
        ax.set_ylim(0, ax.get_ylim()[1] * 1.08)  # room for the width labels
        _thousands(ax)
        ax.set_ylabel(RESOURCES[key])
        ax.set_title(RESOURCES[key])
        ax.grid(alpha=0.3, axis="y")
        if i == 0:
            ax.legend(loc="upper left")
    for j in range(len(res), nrows * ncols):
        axes[j // ncols][j % ncols].axis("off")
    return finish(plt, fig, notes=["parts synthesized as their own top are upper bounds of their "
                                   "cost in context; the rest is the whole array minus them"],
                  color="0.3")


def per_pe_vs_bits(rows: list[dict], meta: dict) -> bytes | None:
    """LUT, FF and DSP per PE vs operand width, one line per array size: the mesh's own counts
    divided by the PEs where the rows hold the breakdown, else the whole array's."""
    ok = [r for r in ok_rows(rows, "lut", "a_bits", "rows") if r["a_bits"] == r["w_bits"]]
    if len({r["a_bits"] for r in ok}) < 2:
        return None
    with_mesh = [r for r in ok if r.get("mesh_lut") is not None]
    mesh = len({r["a_bits"] for r in with_mesh}) >= 2
    if mesh:  # merged results: the rows with the breakdown answer this figure
        ok = with_mesh
    prefix = "mesh_" if mesh else ""
    res = [k for k in ("lut", "ff", "dsp") if any(r.get(k) for r in ok)]
    what = ("the mesh synthesized alone / PEs" if mesh else
            "whole array / PEs: buffers, requant and control included")
    plt, fig, axes = new_figure(1, len(res), f"Cost per PE vs operand width (a_bits = w_bits; "
                                f"{what})", meta, panel=(4.2, 3.6))
    bits = sorted({r["a_bits"] for r in ok})
    sizes = sorted({(r["rows"], r["cols"]) for r in ok}, key=lambda s: (s[0] * s[1], s))
    many = len({r.get("target") for r in ok}) > 1
    for ax, key in zip(axes[0], res, strict=True):
        for rc in sizes:
            for t in sorted({r.get("target") or "" for r in ok}):
                sub = {}
                for r in ok:
                    if (r["rows"], r["cols"]) == rc and (r.get("target") or "") == t:
                        sub.setdefault(r["a_bits"], (r.get(prefix + key) or 0) / _pes(r))
                if sub:
                    xs = sorted(sub)
                    label = f"{rc[0]}x{rc[1]}" + (f" {t}" if many else "")
                    ax.plot(xs, [sub[x] for x in xs], marker="o", color=size_color(*rc),
                            ls=target_style(t or None), label=label)
        ax.set_xticks(bits)
        ax.set_xlabel("operand width (bits)")
        ax.set_ylabel(f"{RESOURCES[key]} per PE")
        ax.set_title(f"{RESOURCES[key]} per PE")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(title="array")
    return finish(plt, fig)


def _speed_text(rows: list[dict]) -> str:
    speeds = sorted({r["speed"] for r in rows if r.get("speed") is not None})
    seeds = sorted({r.get("seeds") or 1 for r in rows})
    grade = ("ECP5 speed grade " + "/".join(f"-{s}" for s in speeds)) if speeds else ""
    runs = ("median of " + "/".join(map(str, seeds)) + " seeds, bars min..max"
            if seeds != [1] else "1 seed")
    return ", ".join(x for x in (grade, runs) if x)


def fmax_vs_size(rows: list[dict], meta: dict) -> bytes | None:
    """Fmax (median over seeds, min..max bars) vs PEs at each width, the PnR target as a line."""
    ok = ok_rows(rows, "fmax_mhz", "rows", "a_bits")
    if not ok:
        return None
    skipped = [r for r in rows if r.get("rows") and r.get("a_bits") and r.get("target")
               and r.get("fmax_mhz") is None and skip_reason(r, "fmax")]
    many = len({r.get("target") for r in ok}) > 1
    plt, fig, axes = new_figure(1, 1, f"Fmax vs array size (nextpnr, {_speed_text(ok)})", meta,
                                panel=(8.0, 4.4))
    ax = axes[0][0]
    series = _by_series(ok, _pes, lambda r: r, many)
    for i, (s, (xs, ys)) in enumerate(series.items()):
        # side by side on the log axis, so that the seed bars of equal sizes do not overlap
        xs = [x * 2 ** (0.05 * (i - (len(series) - 1) / 2)) for x in xs]
        fmax = [r["fmax_mhz"] for r in ys]
        lo = [r["fmax_mhz"] - (r.get("fmax_min_mhz") or r["fmax_mhz"]) for r in ys]
        hi = [(r.get("fmax_max_mhz") or r["fmax_mhz"]) - r["fmax_mhz"] for r in ys]
        speed = {r.get("speed") for r in ys} - {None}
        label = _label(s) + (f" (-{'/-'.join(map(str, sorted(speed)))})" if speed else "")
        ax.errorbar(xs, fmax, yerr=[lo, hi], marker="o", capsize=4, color=width_color(s[1]),
                    ls=target_style(s[0] or None), label=label)
    targets = {r["target_mhz"] for r in ok if r.get("target_mhz")}
    if not targets and meta.get("spec", {}).get("freq_mhz"):  # results from before target_mhz
        targets = {meta["spec"]["freq_mhz"]}
    for t in sorted(targets):
        ax.axhline(t, color=FLOAT_COLOR, ls="--", lw=1.2, label=f"PnR target {t:g} MHz")
    mark_skipped(ax, [_pes(r) for r in skipped], [width_color(r["a_bits"]) for r in skipped])
    notes = [f"x {size_label(r)} {bits_label(r)}: {skip_reason(r, 'fmax') or 'not routed'}"
             for r in skipped]
    set_size_ticks(ax, [*ok, *skipped])
    ax.set_ylim(bottom=0)
    ax.set_ylabel("Fmax (MHz)")
    ax.grid(alpha=0.3)
    ax.legend(title="operand width (speed grade)", loc="best")
    return finish(plt, fig, notes=notes)


def cycles_vs_size(rows: list[dict], meta: dict) -> bytes | None:
    """Simulated and ideal cycles, and MAC utilization, vs PEs (the sweep's workload)."""
    ok = ok_rows(rows, "cycles", "rows")
    if not ok:
        return None
    plt, fig, axes = new_figure(
        1, 2, f"Cycles and MAC utilization vs array size ({ok[0].get('workload', '')})", meta
    )
    groups = sorted({(r.get("dataflow"), r["a_bits"], r["w_bits"]) for r in ok})
    for df, a, w in groups:
        sub = sorted((r for r in ok if (r.get("dataflow"), r["a_bits"], r["w_bits"]) == (df, a, w)),
                     key=_pes)
        xs = [_pes(r) for r in sub]
        name = f"{df} {a} bit" if a == w else f"{df} a{a}w{w}"
        color = width_color(a)
        ls = "-" if df == "os" else "--"
        axes[0][0].plot(xs, [r["cycles"] for r in sub], marker="o", color=color, ls=ls,
                        label=f"{name} RTL")
        ideal = [(x, r["ideal_cycles"]) for x, r in zip(xs, sub, strict=True)
                 if r.get("ideal_cycles")]
        if ideal:
            axes[0][0].plot(*zip(*ideal, strict=True), marker="s", mfc="none", color=color,
                            ls=":", label=f"{name} ideal model")
        axes[0][1].plot(xs, [100 * r["utilization"] for r in sub], marker="o", color=color,
                        ls=ls, label=name)
    axes[0][0].set_yscale("log")  # cycles fall by the PE count: a decade per panel step
    log_ticks(axes[0][0])
    axes[0][0].set_ylabel("cycles (log scale)")
    axes[0][1].set_ylabel("MAC utilization (%)")
    axes[0][1].set_ylim(0, 100)
    for ax in axes[0]:
        set_size_ticks(ax, ok)
        ax.grid(alpha=0.3)
        ax.legend()
    return finish(plt, fig)
