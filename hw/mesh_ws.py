"""WSMesh: rows x cols weight-stationary PEs, activations moving right, partial sums moving down.

The mesh expects skewed inputs and gives skewed outputs (``engine_ws.py`` does the skewing):

- activation wave: the activation of row ``i`` for a given output row enters ``x_in[i]`` ``i``
  cycles after row 0's, together with its ``sw_in[i]`` switch flag; PE ``(i, j)`` sees it
  ``i + j`` cycles after row 0 entered;
- partial sums: column ``j``'s sum for that output row leaves ``psum_out[j]`` ``col_delay(j) =
  rows + j + pe_pipeline + 1`` cycles after row 0's activation entered;
- weight preload: column ``j``'s top inputs (``w_in[j]``, ``wv_in[j]``, ``widx_in[j]``) move
  down one row per cycle; the PE of row ``widx`` keeps the value in its shadow register.

Stalls: the constructor's ``en`` is the clock enable of every register in the mesh, including the
PEs' DSP blocks; it is required on the ECP5 target, where an ``EnableInserter`` around the mesh
would not reach the DSP blocks.
"""

from __future__ import annotations

from amaranth.hdl import EnableInserter, Module, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig
from hw.dsp import check_enable, stall_enable
from hw.pe_ws import WSPE, row_index_shape
from hw.target import target_of

__all__ = ["WSMesh"]


class WSMesh(wiring.Component):
    """Grid of ``WSPE`` elements, one submodule each (``pe_<i>_<j>``).

    Parameters
    ----------
    config : ArrayConfig
        Supplies ``rows``, ``cols`` and the PE widths.
    en : Value, optional
        Clock enable of every register of the mesh (its stall). Required on the ECP5 target
        (``Const(1)`` for a mesh that never stalls); without it the generic mesh is gated only by
        an enclosing ``EnableInserter``.

    Members
    -------
    x_in : In(ArrayLayout(signed(a_bits + 1), rows))
        Left-edge activation differences, row ``i`` skewed by ``i`` cycles.
    sw_in : In(rows)
        Left-edge switch flags, skewed like ``x_in``.
    w_in : In(ArrayLayout(signed(w_bits), cols))
        Top-edge preload weights.
    wv_in : In(cols)
        Top-edge preload valid bits.
    widx_in : In(ArrayLayout(range(max(rows, 2)), cols))
        Top-edge preload row indices.
    psum_out : Out(ArrayLayout(signed(acc_bits), cols))
        Bottom-edge partial sums, column ``j`` ``col_delay(j)`` cycles after row 0's activation.

    Raises
    ------
    TypeError
        If ``config`` is not an ArrayConfig or ``en`` not a 1-bit Value.
    ValueError
        On elaboration for the ECP5 target without ``en``.
    """

    def __init__(self, config: ArrayConfig, *, en: Value | None = None) -> None:
        self._MustUse__silence = True   # a rejected instance is not an unused design
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        self._en = check_enable(en)
        self._MustUse__silence = False
        self._config = config
        r, c = config.rows, config.cols
        super().__init__({
            "x_in": In(data.ArrayLayout(signed(config.diff_bits), r)),
            "sw_in": In(r),
            "w_in": In(data.ArrayLayout(signed(config.w_bits), c)),
            "wv_in": In(c),
            "widx_in": In(data.ArrayLayout(row_index_shape(config), c)),
            "psum_out": Out(data.ArrayLayout(signed(config.acc_bits), c)),
        })

    @property
    def config(self) -> ArrayConfig:
        return self._config

    def col_delay(self, col: int) -> int:
        """Cycles from row 0's activation at ``x_in`` to column ``col``'s sum at ``psum_out``."""
        if isinstance(col, bool) or not isinstance(col, int) or not 0 <= col < self._config.cols:
            raise ValueError(f"col must be in [0, {self._config.cols - 1}], not {col!r}")
        return self._config.rows + col + self._config.pe_pipeline + 1

    def elaborate(self, platform) -> Module:
        en = stall_enable(self._en, target_of(platform), "WSMesh")
        m = Module()
        cfg = self._config
        pes = [[WSPE(cfg, i) for _ in range(cfg.cols)] for i in range(cfg.rows)]
        for i in range(cfg.rows):
            for j in range(cfg.cols):
                pe = pes[i][j]
                m.submodules[f"pe_{i}_{j}"] = pe
                m.d.comb += pe.en.eq(en)
                if j == 0:
                    m.d.comb += [pe.x_in.eq(self.x_in[i]), pe.sw_in.eq(self.sw_in[i])]
                else:
                    left = pes[i][j - 1]
                    m.d.comb += [pe.x_in.eq(left.x_out), pe.sw_in.eq(left.sw_out)]
                if i == 0:
                    m.d.comb += [
                        pe.w_in.eq(self.w_in[j]),
                        pe.wv_in.eq(self.wv_in[j]),
                        pe.widx_in.eq(self.widx_in[j]),
                        pe.psum_in.eq(0),
                    ]
                else:
                    up = pes[i - 1][j]
                    m.d.comb += [
                        pe.w_in.eq(up.w_out),
                        pe.wv_in.eq(up.wv_out),
                        pe.widx_in.eq(up.widx_out),
                        pe.psum_in.eq(up.psum_out),
                    ]
        for j in range(cfg.cols):
            m.d.comb += self.psum_out[j].eq(pes[cfg.rows - 1][j].psum_out)
        return m if self._en is None else EnableInserter(self._en)(m)
