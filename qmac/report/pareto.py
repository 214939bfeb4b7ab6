"""Accuracy against hardware cost: the points of each array, and which of them are Pareto-optimal.

A point is one (array, width, method): the digits CNN's accuracy with that calibration method at
(a_bits, w_bits), and the cost of that array at that width. Accuracy comes from the quant rows
(``int_accuracy_<method>``), cost from the synth rows of the same (a_bits, w_bits); the two are
joined by width, so a quantization-only sweep merged with a synthesis sweep gives the same plot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qmac.report.results import METHODS

__all__ = [
    "COSTS",
    "ParetoPoint",
    "check_cost",
    "pareto_front",
    "pareto_points",
    "wilson_interval",
]

#: ``--pareto-cost`` choice -> (row key, axis label, lower is better).
COSTS: dict[str, tuple[str, str, bool]] = {
    "lut": ("lut", "LUT4 cells (Yosys)", True),
    "ff": ("ff", "flip-flops (Yosys)", True),
    "dsp": ("dsp", "DSP blocks (Yosys)", True),
    "ram": ("ram", "block RAMs (Yosys)", True),
    "fmax": ("fmax_mhz", "Fmax (MHz, nextpnr median)", False),
}


def check_cost(cost: str) -> str:
    """``cost`` if it is a key of :data:`COSTS`, else ValueError naming it."""
    if cost not in COSTS:
        raise ValueError(f"pareto_cost must be one of {', '.join(COSTS)}, not {cost!r}")
    return cost


def wilson_interval(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``p`` observed over ``n`` trials (95%).

    Returns (low, high) in [0, 1]; unlike ``p ± z·SE`` it stays inside [0, 1] near 0 and 1.
    """
    if n < 1:
        raise ValueError(f"n must be a positive count, not {n!r}")
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def pareto_front(points: list[tuple[float, float]], *, lower_cost_better: bool = True) -> list[int]:
    """Indices of the non-dominated (cost, accuracy) points, in order of increasing cost.

    A point is dominated when another is at least as good in both (cost no worse, accuracy no
    lower) and better in one. Equal points do not dominate each other: all of them are listed.
    ``lower_cost_better=False`` is for a cost where more is better (Fmax).
    """
    sign = 1.0 if lower_cost_better else -1.0
    order = sorted(range(len(points)), key=lambda i: (sign * points[i][0], -points[i][1]))
    front: list[int] = []
    best = -math.inf
    for i in order:
        cost, acc = points[i]
        if acc > best:
            front.append(i)
            best = acc
        elif front and points[front[-1]] == (cost, acc):
            front.append(i)
    return sorted(front, key=lambda i: (points[i][0], i))


@dataclass(frozen=True)
class ParetoPoint:
    """One (array, width, method) point of the accuracy-vs-cost plot.

    ``array`` is ``"<target> RxC"``; ``accuracy`` and ``ci`` (95% Wilson interval) are fractions;
    ``n_test`` the images behind them; ``optimal`` whether it is on its array's Pareto front.
    """

    array: str
    rows: int
    cols: int
    a_bits: int
    w_bits: int
    method: str
    accuracy: float
    ci: tuple[float, float]
    n_test: int
    cost: float
    optimal: bool


def _accuracies(rows: list[dict]) -> dict[tuple[int, int], dict]:
    """(a_bits, w_bits) -> the first quant row of that width (with ``n_test``, for the interval)."""
    out: dict[tuple[int, int], dict] = {}
    for r in rows:
        if (r.get("n_test") and r.get("a_bits") is not None
                and any(r.get(f"int_accuracy_{m}") is not None for m in METHODS)):
            out.setdefault((r["a_bits"], r["w_bits"]), r)
    return out


def pareto_points(rows: list[dict], cost: str = "lut") -> tuple[list[ParetoPoint], float | None]:
    """Every (array, width, method) point with both an accuracy and a cost, and float accuracy.

    Parameters
    ----------
    rows : list of dict
        Sweep rows (quant and synth fields, in the same or in different rows).
    cost : str
        A key of :data:`COSTS`.

    Returns
    -------
    points : list of ParetoPoint
        Grouped by array (in row order), then by width and method; ``optimal`` per array.
    float_accuracy : float or None
        Of the first quant row (the float network does not depend on the width).
    """
    key, _, lower = COSTS[check_cost(cost)]
    acc = _accuracies(rows)
    costs: dict[str, dict[tuple[int, int], dict]] = {}
    for r in rows:
        width = (r.get("a_bits"), r.get("w_bits"))
        if r.get(key) is None or width not in acc or r.get("rows") is None:
            continue
        array = f"{r.get('target') or ''} {r['rows']}x{r['cols']}".strip()
        costs.setdefault(array, {}).setdefault(width, r)
    out: list[ParetoPoint] = []
    for array, by_width in costs.items():
        raw = []
        for width in sorted(by_width):
            q, s = acc[width], by_width[width]
            for m in METHODS:
                a = q.get(f"int_accuracy_{m}")
                if a is not None:
                    raw.append((s, width, m, float(a), int(q["n_test"]), float(s[key])))
        front = set(pareto_front([(c, a) for *_, a, _, c in raw], lower_cost_better=lower))
        for i, (s, width, m, a, n, c) in enumerate(raw):
            out.append(ParetoPoint(array, s["rows"], s["cols"], width[0], width[1], m, a,
                                   wilson_interval(a, n), n, c, i in front))
    flt = next((q["float_accuracy"] for q in acc.values() if q.get("float_accuracy") is not None),
               None)
    return out, flt
