"""One palette for every sweep figure: a series keeps its colour from figure to figure.

Three kinds of series appear in the figures, each with its own colours so that a legend is never
needed twice for the same thing: calibration methods (categorical, fixed per name), operand widths
(a fixed colour per bit count) and array sizes (categorical, fixed
by the number of PEs). Colours depend only on the series' own value, never on which other series
a figure happens to show.
"""

from __future__ import annotations

import math

__all__ = [
    "FLOAT_COLOR",
    "METHOD_COLORS",
    "PART_STYLES",
    "TARGET_STYLES",
    "method_color",
    "size_color",
    "target_style",
    "width_color",
]

#: Float accuracy reference lines and the Fmax target line.
FLOAT_COLOR = "#222222"
#: Calibration method -> colour (Okabe-Ito, readable by colour-blind readers).
METHOD_COLORS = {
    "minmax": "#0072b2",
    "percentile": "#e69f00",
    "entropy": "#009e73",
    "mse": "#cc79a7",
    "qat": "#d55e00",
}
_OTHER = "#777777"
#: Array sizes by log2(PEs), 1 .. 2^14 PEs; the square sizes (even indices: 2x2, 4x4, 8x8, 16x16,
#: 32x32, 64x64) get the most distinct colours.
_SIZE_COLORS = (
    "#bbbbbb", "#88ccee", "#4477aa", "#66ccee", "#ee6677", "#ccbb44", "#228833", "#aa3377",
    "#332288", "#44aa99", "#882255", "#999933", "#ddcc77", "#661100", "#000000",
)
#: Part of the array (``qmac.sweep.breakdown``) -> (colour, hatch), for stacked bars.
PART_STYLES = {"mesh": ("#1b7837", ""), "requant": ("#762a83", "//"), "rest": ("#bdbdbd", "..")}
#: Synthesis target -> line style (targets share the colours of their series).
TARGET_STYLES = {"ecp5": "-", "ice40": "--", "xilinx": "-.", "generic": ":"}


def method_color(method: str) -> str:
    """Colour of a calibration method (``minmax``, ``percentile``, ``entropy``, ``mse``, ``qat``);
    grey for any other name."""
    return METHOD_COLORS.get(method, _OTHER)


#: Operand width 2..16 -> colour (Paul Tol's muted scheme first, for the common widths).
_WIDTH_COLORS = {
    2: "#332288", 3: "#88ccee", 4: "#44aa99", 5: "#117733", 6: "#999933", 7: "#ddcc77",
    8: "#cc6677", 9: "#6699cc", 10: "#aa4466", 11: "#4b0092", 12: "#882255", 13: "#994f00",
    14: "#1a85ff", 15: "#5d3a9b", 16: "#aa4499",
}


def width_color(bits: int) -> str:
    """Colour of an operand width (2..16 bits; others grey)."""
    return _WIDTH_COLORS.get(int(bits), _OTHER)


def size_color(rows: int, cols: int) -> str:
    """Colour of an array size, fixed by its PE count (sizes of the same count share one)."""
    index = round(math.log2(max(rows * cols, 1)))
    return _SIZE_COLORS[index % len(_SIZE_COLORS)]


def target_style(target: str | None) -> str:
    """Line style of a synthesis target (solid for ecp5 and for unknown targets)."""
    return TARGET_STYLES.get(target or "", "-")
