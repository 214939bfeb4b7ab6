"""Accuracy vs cost: the Pareto front against a brute force, the join of quant and synth rows by
width, and the Wilson interval at its edges."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from qmac.report.pareto import check_cost, pareto_front, pareto_points, wilson_interval


def _brute_front(points, lower_cost_better=True):
    """Indices no other point dominates (the definition, every pair compared)."""
    sign = 1 if lower_cost_better else -1

    def dominates(q, p):
        no_worse = sign * q[0] <= sign * p[0] and q[1] >= p[1]
        return no_worse and (sign * q[0] < sign * p[0] or q[1] > p[1])

    return {i for i, p in enumerate(points)
            if not any(dominates(q, p) for j, q in enumerate(points) if j != i)}


@pytest.mark.parametrize("lower", [True, False])
def test_front_equals_brute_force_on_small_random_sets(lower):
    rng = np.random.default_rng(14)
    for _ in range(400):
        n = int(rng.integers(1, 12))
        # few distinct values: ties in cost, in accuracy and whole duplicate points are common
        pts = [(float(c), float(a)) for c, a in zip(rng.integers(0, 5, n), rng.integers(0, 4, n),
                                                    strict=True)]
        front = pareto_front(pts, lower_cost_better=lower)
        assert set(front) == _brute_front(pts, lower), pts
        assert len(front) == len(set(front))
        assert [pts[i][0] for i in front] == sorted(pts[i][0] for i in front)


def test_front_of_every_small_grid():
    grid = [(c, a) for c in range(3) for a in range(2)]
    for k in range(1, 4):
        for pts in itertools.combinations(grid, k):
            assert set(pareto_front(list(pts))) == _brute_front(list(pts))


def test_wilson_interval_edges():
    z = 1.96
    lo, hi = wilson_interval(1.0, 397)
    assert hi == pytest.approx(1.0) and lo == pytest.approx(397 / (397 + z * z))  # k = n
    lo, hi = wilson_interval(0.5, 100)
    assert lo < 0.5 < hi and (hi - 0.5) == pytest.approx(0.5 - lo)
    assert hi - lo == pytest.approx(2 * z * math.sqrt(0.25 / 100 + z * z / 4e4) / (1 + z * z / 100))
    with pytest.raises(ValueError, match=r"^n must be a positive count, not 0$"):
        wilson_interval(0.5, 0)


def test_check_cost_names_the_parameter():
    assert check_cost("fmax") == "fmax"
    with pytest.raises(ValueError, match=r"^pareto_cost must be one of lut, ff, dsp, ram, fmax, "
                                         r"not 'luts'$"):
        check_cost("luts")


def _quant(a, accs, n=400):
    return {"name": f"q{a}", "status": "ok", "a_bits": a, "w_bits": a, "n_test": n,
            "float_accuracy": 0.98, **{f"int_accuracy_{m}": v for m, v in accs.items()}}


def _synth(a, size, lut, fmax=None):
    return {"name": f"s{a}", "status": "ok", "a_bits": a, "w_bits": a, "rows": size,
            "cols": size, "target": "ecp5", "lut": lut, "fmax_mhz": fmax}


def test_points_join_quant_and_synth_rows_by_width():
    rows = [
        _quant(4, {"minmax": 0.90, "qat": 0.97}),
        _quant(8, {"minmax": 0.98, "qat": None}),
        _quant(2, {"minmax": 0.30}),  # no synth row at 2 bits: no point
        _synth(4, 4, 1000, 200.0),
        _synth(8, 4, 3000, 150.0),
        _synth(8, 8, 9000, None),  # routed? no: no Fmax point for this array
        _synth(16, 4, 8000),  # no quant row at 16 bits: no point
    ]
    points, flt = pareto_points(rows, "lut")
    assert flt == 0.98
    got = {(p.array, p.a_bits, p.method): (p.cost, p.accuracy, p.optimal) for p in points}
    assert got == {
        ("ecp5 4x4", 4, "minmax"): (1000.0, 0.90, False),  # QAT at the same cost is better
        ("ecp5 4x4", 4, "qat"): (1000.0, 0.97, True),
        ("ecp5 4x4", 8, "minmax"): (3000.0, 0.98, True),
        ("ecp5 8x8", 8, "minmax"): (9000.0, 0.98, True),
    }
    p = next(p for p in points if p.method == "qat")
    assert p.n_test == 400 and p.ci == wilson_interval(0.97, 400)
    fmax, _ = pareto_points(rows, "fmax")  # more is better: 4 bits at 200 MHz and QAT dominate
    assert {(p.a_bits, p.method): p.optimal for p in fmax} == {
        (4, "minmax"): False, (4, "qat"): True, (8, "minmax"): True}
