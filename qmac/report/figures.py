"""Figures of a sweep (matplotlib, Agg), one per question, each returned as PNG bytes and stamped
with provenance.

A figure is made only when the rows hold its data. Hardware (:mod:`qmac.report.fig_hw`): resources
vs array size, the mesh / requant / rest breakdown (with the sweep's ``breakdown`` option),
cost per PE vs width, Fmax vs array size at each width, cycles vs size.
Quantization (:mod:`qmac.report.fig_quant`): accuracy vs width per calibration method, logit error
vs width, and accuracy vs a chosen cost (the Pareto plot). Colours follow
:mod:`qmac.report.palette`: the same series has the same colour in every figure.
"""

from __future__ import annotations

from qmac.report import fig_hw, fig_quant
from qmac.report.pareto import check_cost
from qmac.report.plotting import provenance

__all__ = ["FIGURES", "provenance", "make_figures"]

#: Figure name -> maker ``(rows, meta) -> PNG bytes or None``, in page order.
FIGURES = {
    "resources_vs_size": fig_hw.resources_vs_size,
    "breakdown_vs_size": fig_hw.breakdown_vs_size,
    "per_pe_vs_bits": fig_hw.per_pe_vs_bits,
    "fmax_vs_size": fig_hw.fmax_vs_size,
    "accuracy_vs_bits": fig_quant.accuracy_vs_bits,
    "pareto": fig_quant.pareto_plot,
    "error_vs_bits": fig_quant.error_vs_bits,
    "cycles_vs_size": fig_hw.cycles_vs_size,
}


def make_figures(rows: list[dict], meta: dict, *, pareto_cost: str = "lut") -> dict[str, bytes]:
    """{figure name: PNG bytes} of the figures the rows have data for (names: :data:`FIGURES`).

    ``pareto_cost`` is the cost axis of the Pareto plot, a key of
    :data:`qmac.report.pareto.COSTS` (``lut``, ``ff``, ``dsp``, ``ram``, ``fmax``).
    """
    check_cost(pareto_cost)
    out = {}
    for name, maker in FIGURES.items():
        png = maker(rows, meta, pareto_cost) if name == "pareto" else maker(rows, meta)
        if png is not None:
            out[name] = png
    return out
