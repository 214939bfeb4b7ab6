"""Ideal cycle model of a systolic array per dataflow: the formulas of SCALE-Sim v2.

A GEMM ``(M, K, N)`` on an ``R x C`` array is cut into folds, each occupying the whole array:

=========  ======  ======  =====  ==========================
dataflow   Sr      Sc      T      cycles per fold
=========  ======  ======  =====  ==========================
``"os"``   M       N       K      ``T + R + C - 2``
``"ws"``   K       N       M      ``2R + C + T - 2``
=========  ======  ======  =====  ==========================

``folds = ceil(Sr / R) * ceil(Sc / C)`` and ``cycles = folds * cycles_per_fold``: folds run back to
back without overlap, which is what makes the model "ideal but unpipelined". An RTL that overlaps
the next fold with the drain of the previous one can beat it; stalls make it slower.

Off-by-one: SCALE-Sim v2 reports one cycle less than ``folds * cycles_per_fold`` (for 8x8 OS on a
64^3 GEMM it prints 4,991 = 64 * 78 - 1, because it reports the index of the last busy cycle counted
from zero). This module counts cycles, so it returns 4,992; :attr:`GemmCycles.scalesim_cycles` gives
SCALE-Sim's number for cross-checks.

A layer is costed through its GEMM view: conv2d with ``groups`` is ``groups`` GEMMs of
``M = batch*OH*OW``, ``K = KH*KW*Cin/groups``, ``N = Cout/groups``; depthwise is one GEMM per input
channel with ``K = KH*KW`` and ``N = multiplier``; fully connected is ``(batch, in, out)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from golden._check import check_int

__all__ = ["DATAFLOWS", "GemmCycles", "LayerCycles", "gemm_cycles", "layer_cycles", "layer_gemms"]

#: The array dataflows: output-stationary and weight-stationary.
DATAFLOWS = ("os", "ws")


@dataclass(frozen=True)
class GemmCycles:
    """Ideal cycles of one GEMM.

    Attributes
    ----------
    m, k, n : int
        GEMM dimensions (M x K times K x N).
    rows, cols : int
        Array size.
    dataflow : {"os", "ws"}
    folds : int
        ``ceil(Sr/rows) * ceil(Sc/cols)``.
    cycles_per_fold : int
    cycles : int
        ``folds * cycles_per_fold``.
    macs : int
        ``m * k * n`` useful multiply-accumulates.
    """

    m: int
    k: int
    n: int
    rows: int
    cols: int
    dataflow: str
    folds: int
    cycles_per_fold: int
    cycles: int
    macs: int

    @property
    def utilization(self) -> float:
        """``macs / (rows * cols * cycles)``, in [0, 1]."""
        return self.macs / (self.rows * self.cols * self.cycles)

    @property
    def scalesim_cycles(self) -> int:
        """The figure SCALE-Sim v2 prints (one less, see the module docstring)."""
        return self.cycles - 1


@dataclass(frozen=True)
class LayerCycles:
    """Ideal cycles of a layer: the sum over its GEMMs.

    Attributes
    ----------
    gemms : tuple of GemmCycles
    cycles, macs, folds : int
        Sums over ``gemms``.
    rows, cols : int
    """

    gemms: tuple
    cycles: int
    macs: int
    folds: int
    rows: int
    cols: int

    @property
    def utilization(self) -> float:
        """``macs / (rows * cols * cycles)``."""
        return self.macs / (self.rows * self.cols * self.cycles)


def gemm_cycles(
    m: int, k: int, n: int, *, rows: int, cols: int, dataflow: str = "os"
) -> GemmCycles:
    """Ideal cycles of an ``(M, K, N)`` GEMM on a ``rows x cols`` array.

    Parameters
    ----------
    m, k, n : int
        GEMM dimensions, each at least 1.
    rows, cols : int
        Array size in PEs, each at least 1.
    dataflow : {"os", "ws"}

    Returns
    -------
    GemmCycles

    Examples
    --------
    >>> gemm_cycles(64, 64, 64, rows=8, cols=8).cycles
    4992
    """
    m = check_int("m", m, 1)
    k = check_int("k", k, 1)
    n = check_int("n", n, 1)
    rows = check_int("rows", rows, 1)
    cols = check_int("cols", cols, 1)
    if dataflow == "os":
        sr, sc, t = m, n, k
        per_fold = t + rows + cols - 2
    elif dataflow == "ws":
        sr, sc, t = k, n, m
        per_fold = 2 * rows + cols + t - 2
    else:
        raise ValueError(f"dataflow must be one of {', '.join(DATAFLOWS)}, not {dataflow!r}")
    folds = -(-sr // rows) * -(-sc // cols)
    return GemmCycles(m, k, n, rows, cols, dataflow, folds, per_fold, folds * per_fold, m * k * n)


def layer_gemms(layer) -> list[tuple[int, int, int]]:
    """The GEMMs ``(M, K, N)`` a layer amounts to (see the module docstring).

    Parameters
    ----------
    layer : golden.Layer

    Returns
    -------
    list of (int, int, int)
        One entry per group (conv2d), per input channel (depthwise), or one (matmul, fc).
    """
    op = layer.op
    if op == "matmul":
        (m, k), n = layer.x.shape, layer.w.shape[1]
        return [(m, k, n)]
    if op == "fully_connected":
        (b, k), n = layer.x.shape, layer.w.shape[0]
        return [(b, k, n)]
    geo = layer.geometry
    m = geo.batch * geo.oh * geo.ow
    if op == "conv2d":
        g = layer.groups
        return [(m, geo.kh * geo.kw * geo.cin // g, geo.cout // g)] * g
    if op == "depthwise_conv2d":
        return [(m, geo.kh * geo.kw, geo.cout // geo.cin)] * geo.cin
    raise ValueError(f"layer.op must be a known op, not {op!r}")


def layer_cycles(layer, *, rows: int, cols: int, dataflow: str = "os") -> LayerCycles:
    """Ideal cycles of a layer on a ``rows x cols`` array: the sum over :func:`layer_gemms`.

    Parameters
    ----------
    layer : golden.Layer
    rows, cols : int
    dataflow : {"os", "ws"}

    Returns
    -------
    LayerCycles
    """
    gemms = tuple(
        gemm_cycles(m, k, n, rows=rows, cols=cols, dataflow=dataflow)
        for m, k, n in layer_gemms(layer)
    )
    return LayerCycles(
        gemms,
        sum(g.cycles for g in gemms),
        sum(g.macs for g in gemms),
        sum(g.folds for g in gemms),
        rows,
        cols,
    )
