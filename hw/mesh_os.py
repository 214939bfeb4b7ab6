"""OSMesh: a rows x cols grid of output-stationary PEs with per-column drain chains.

Activations (the ``a_bits + 1``-bit differences ``x - x_zp``) enter row ``i`` on the left and move
right one PE per cycle, with the fold flags ``first``/``last``; weights enter column ``j`` at the
top and move down one PE per cycle. The inputs must be skewed: the operands of reduction step ``k``
enter row ``i`` at ``t_k + i`` and column ``j`` at ``t_k + j``, so they meet in PE ``(i, j)`` at
``t_k + i + j``.

Drain with fold overlap: when the bottom PE of column ``j`` has captured a fold (its ``cap``),
every PE of the column loads its result into the column's shift chain, which then shifts one row
per cycle towards the top; column ``j`` outputs row ``r`` of the fold on ``col_out[j]`` at::

    t_last + drain_latency + j + r        (drain_latency = rows - 1 + pe_pipeline + 3)

where ``t_last`` is the cycle the fold's last operands entered row 0 / column 0 (unskewed time).
Meanwhile the PEs already accumulate the next fold. Consecutive folds must start at least ``rows``
cycles apart (``fold_spacing``) so that a chain has emptied before it is loaded again and a PE's
``res`` is not overwritten before the column loads it.
"""

from __future__ import annotations

from amaranth.hdl import Module, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig
from hw.pe_os import OSPE

__all__ = ["OSMesh"]


class OSMesh(wiring.Component):
    """Output-stationary systolic mesh.

    Parameters
    ----------
    config : ArrayConfig
        Supplies ``rows``, ``cols`` and the PE widths and pipeline.

    Members
    -------
    a_in : In(ArrayLayout(signed(a_bits + 1), rows))
        Skewed activation differences, lane ``i`` into row ``i``.
    first_in, last_in : In(rows)
        Skewed fold flags, bit ``i`` travels with ``a_in[i]``.
    w_in : In(ArrayLayout(signed(w_bits), cols))
        Skewed weights, lane ``j`` into column ``j``.
    col_out : Out(ArrayLayout(signed(acc_bits), cols))
        Top of each column's drain chain (timing in the module docstring).

    Raises
    ------
    TypeError
        If ``config`` is not an ArrayConfig.
    """

    def __init__(self, config: ArrayConfig) -> None:
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        self._config = config
        super().__init__(
            {
                "a_in": In(data.ArrayLayout(signed(config.diff_bits), config.rows)),
                "first_in": In(config.rows),
                "last_in": In(config.rows),
                "w_in": In(data.ArrayLayout(signed(config.w_bits), config.cols)),
                "col_out": Out(data.ArrayLayout(signed(config.acc_bits), config.cols)),
            }
        )

    @property
    def drain_latency(self) -> int:
        """Cycles from a fold's last operands at row 0 / column 0 to its row 0 at ``col_out[0]``."""
        return self._config.rows - 1 + self._config.pe_pipeline + 3

    @property
    def fold_spacing(self) -> int:
        """Smallest number of cycles between the first operands of consecutive folds."""
        return self._config.rows

    def elaborate(self, platform) -> Module:
        cfg = self._config
        rows, cols = cfg.rows, cfg.cols
        m = Module()
        pes = [[OSPE(cfg) for _ in range(cols)] for _ in range(rows)]
        for i in range(rows):
            for j in range(cols):
                pe = pes[i][j]
                m.submodules[f"pe_{i}_{j}"] = pe
                if j == 0:
                    m.d.comb += [
                        pe.a_in.eq(self.a_in[i]),
                        pe.first_in.eq(self.first_in[i]),
                        pe.last_in.eq(self.last_in[i]),
                    ]
                else:
                    left = pes[i][j - 1]
                    m.d.comb += [
                        pe.a_in.eq(left.a_out),
                        pe.first_in.eq(left.first_out),
                        pe.last_in.eq(left.last_out),
                    ]
                m.d.comb += pe.w_in.eq(self.w_in[j] if i == 0 else pes[i - 1][j].w_out)
                m.d.comb += pe.load.eq(pes[rows - 1][j].cap)
                m.d.comb += pe.chain_in.eq(pes[i + 1][j].chain if i + 1 < rows else 0)
        for j in range(cols):
            m.d.comb += self.col_out[j].eq(pes[0][j].chain)
        return m
