"""What every sweep figure shares: the canvas, the provenance footer, readable fonts, PNG output,
size ticks and the marking of points that were skipped or failed.

Figures are drawn at 100 dpi with no text under 9 pt, so that a figure shown at its natural size
in the page (about 1000 px wide) has every tick labelled and legible.
"""

from __future__ import annotations

import io
import textwrap

__all__ = [
    "DPI",
    "FONT_PT",
    "bits_label",
    "finish",
    "log_ticks",
    "mark_skipped",
    "new_figure",
    "ok_rows",
    "provenance",
    "set_size_ticks",
    "size_label",
    "skip_reason",
]

DPI = 100
FONT_PT = 10
_SMALL_PT = 9


def provenance(meta: dict) -> str:
    """One line: the command and the versions (qmac, yosys, nextpnr) that produced the results."""
    v = meta.get("versions", {})
    tools = ", ".join(
        f"{k} {v[k]}" for k in ("qmac", "yosys", "nextpnr-ecp5", "nextpnr-ice40") if k in v
    )
    command = meta.get("command") or "qmac sweep"
    return f"{command}  |  {tools}" if tools else command


def ok_rows(rows: list[dict], *keys: str) -> list[dict]:
    """Rows holding these measurements (a point that failed later, in PnR, still has them)."""
    return [r for r in rows if all(r.get(k) is not None for k in keys)]


def bits_label(r: dict) -> str:
    """``"8b"`` when a_bits = w_bits, else ``"a8w4"``."""
    a, w = r["a_bits"], r["w_bits"]
    return f"{a}b" if a == w else f"a{a}w{w}"


def size_label(r: dict) -> str:
    return f"{r['rows']}x{r['cols']}"


def skip_reason(r: dict, key: str) -> str | None:
    """Why a row has no ``key`` measurement: its PnR note or failure reason (None if unknown)."""
    note = r.get("pnr_note") if key.startswith("fmax") else None
    text = note or (r.get("reason") if r.get("status") != "ok" else None)
    return str(text) if text else None


def new_figure(nrows: int, ncols: int, title: str, meta: dict, *, panel=(4.6, 3.4)):
    """(plt, fig, axes[nrows][ncols]) with the title and the provenance footer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": FONT_PT, "axes.titlesize": FONT_PT + 1,
                         "axes.labelsize": FONT_PT, "xtick.labelsize": _SMALL_PT,
                         "ytick.labelsize": _SMALL_PT, "legend.fontsize": _SMALL_PT})
    w, h = panel
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(w * ncols + 0.6, h * nrows + 1.3), squeeze=False
    )
    # 12 pt title: about 11 characters per inch; a long one wraps rather than being cut off
    fig.suptitle("\n".join(textwrap.wrap(title, int(11 * fig.get_figwidth()))),
                 fontsize=FONT_PT + 2)
    chars = int(_MONO_PER_INCH * fig.get_figwidth())
    fig._qmac_footer = textwrap.wrap(provenance(meta), chars)[:4]  # placed by finish()
    return plt, fig, axes


#: Characters per inch of 9 pt monospace and of 9 pt sans-serif text (with some margin).
_MONO_PER_INCH = 12
_SANS_PER_INCH = 13
_LINE_IN = 0.17  # one 9 pt line, in inches


def finish(plt, fig, *, notes: list[str] | None = None, color: str = "#8b0000") -> bytes:
    """Lay out, add the notes and the provenance footer under the panels, return PNG bytes.

    ``notes`` are drawn in ``color``: dark red for points that were skipped or failed (the
    default), grey for remarks on how a figure was made.
    """
    footer = getattr(fig, "_qmac_footer", [])
    lines = []
    for n in notes or []:
        lines += textwrap.wrap(n, int(_SANS_PER_INCH * fig.get_figwidth()))
    lines = lines[:8]
    footer_in = 0.08 + _LINE_IN * len(footer)
    notes_in = _LINE_IN * len(lines) + (0.1 if lines else 0.0)
    height = fig.get_figheight() + notes_in  # the notes get room of their own
    fig.set_figheight(height)
    if footer:
        fig.text(0.005, 0.04 / height, "\n".join(footer), fontsize=_SMALL_PT, color="0.35",
                 va="bottom", family="monospace")
    if lines:
        fig.text(0.01, footer_in / height, "\n".join(lines), fontsize=_SMALL_PT, va="bottom",
                 color=color)
    fig.tight_layout(rect=(0, min(0.45, (footer_in + notes_in + 0.05) / height), 1, 0.95))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return buf.getvalue()


def log_ticks(ax, axis: str = "y") -> None:
    """A log axis labelled at 1, 2 and 5 of each decade (matplotlib labels only powers of ten,
    which leaves a short range with one label or none)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_minor_locator(NullLocator())
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))


def set_size_ticks(ax, rows: list[dict]) -> None:
    """A log2 axis of PE counts, each tick labelled with its sizes (``"4x4\\n16 PEs"``).

    Sizes grow geometrically (4x4, 8x8, 16x16): on a linear axis the small ones would collide.
    """
    labels: dict[int, set[str]] = {}
    for r in rows:
        labels.setdefault(r["rows"] * r["cols"], set()).add(size_label(r))
    pes = sorted(labels)
    ax.set_xscale("log", base=2)
    ax.set_xticks(pes)
    ax.set_xticklabels(["/".join(sorted(labels[p])) + f"\n{p} PEs" for p in pes])
    ax.minorticks_off()
    if len(pes) > 1:
        ax.set_xlim(pes[0] / 1.4, pes[-1] * 1.4)
    else:
        ax.set_xlim(pes[0] / 2, pes[0] * 2)


def mark_skipped(ax, xs: list[float], colors: list[str], label: str = "skipped / failed") -> None:
    """An 'x' on the x axis (y = 0) at every skipped point, in its series' colour."""
    if not xs:
        return
    ax.scatter(xs, [0] * len(xs), marker="x", s=60, c=colors, linewidths=2, zorder=5,
               clip_on=False, label=label)
