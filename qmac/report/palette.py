"""One palette for every sweep figure: a series keeps its colour from figure to figure.

Three kinds of series appear in the figures, each with its own colours so that a legend is never
needed twice for the same thing: calibration methods (categorical, fixed per name), operand widths
(a sequential ramp by bit count: narrow is dark, wide is light) and array sizes (categorical, fixed
by the number of PEs). Colours depend only on the series' own value, never on which other series
a figure happens to show.
"""

from __future__ import annotations

import math

__all__ = [
    "FLOAT_COLOR",
    "METHOD_COLORS",
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
#: Array sizes by log2(PEs): 1x1 .. 128x128 and beyond (wraps around).
_SIZE_COLORS = (
    "#4477aa", "#66ccee", "#228833", "#ccbb44", "#ee6677", "#aa3377", "#bbbbbb", "#332288",
    "#117733", "#882255", "#44aa99", "#999933", "#ddcc77", "#88ccee", "#661100",
)
#: Synthesis target -> line style (targets share the colours of their series).
TARGET_STYLES = {"ecp5": "-", "ice40": "--", "xilinx": "-.", "generic": ":"}


def method_color(method: str) -> str:
    """Colour of a calibration method (``minmax``, ``percentile``, ``entropy``, ``mse``, ``qat``);
    grey for any other name."""
    return METHOD_COLORS.get(method, _OTHER)


def width_color(bits: int) -> str:
    """Colour of an operand width in 2..16 bits (viridis ramp: 2 dark purple, 16 yellow).

    Widths outside 2..16 are clamped to the ends of the ramp.
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    t = (min(max(int(bits), 2), 16) - 2) / 14
    return to_hex(colormaps["viridis"](0.05 + 0.85 * t))


def size_color(rows: int, cols: int) -> str:
    """Colour of an array size, fixed by its PE count (sizes of the same count share one)."""
    index = round(math.log2(max(rows * cols, 1)))
    return _SIZE_COLORS[index % len(_SIZE_COLORS)]


def target_style(target: str | None) -> str:
    """Line style of a synthesis target (solid for ecp5 and for unknown targets)."""
    return TARGET_STYLES.get(target or "", "-")
