"""OSMesh: a rows x cols grid of output-stationary PEs with a registered OR tree per column.

Activations (the ``a_bits + 1``-bit differences ``x - x_zp``) enter row ``i`` on the left and move
right one PE per cycle, with the fold flags ``first``/``last``; weights enter column ``j`` at the
top and move down one PE per cycle. The inputs must be skewed: the operands of reduction step ``k``
enter row ``i`` at ``t_k + i`` and column ``j`` at ``t_k + j``, so they meet in PE ``(i, j)`` at
``t_k + i + j``.

Drain with fold overlap. PE ``(i, j)`` holds a finished fold in its accumulator (``res``) on the
cycle its ``cap`` is high, ``acc_latency`` cycles after the fold's last operands reached it: down
column ``j`` one row per cycle, a wavefront, so at most one PE of a column caps in any cycle while
consecutive folds' last operands are at least ``rows`` cycles apart (``fold_spacing``). The column
therefore needs no per-PE result or shift register: a tree of registers collects the wavefront in
row order, ``res & cap`` of two PEs per LUT4 at the first level, then 4-input ORs, and column ``j``
outputs row ``r`` of the fold on ``col_out[j]`` at::

    t_last + drain_latency + j + r

where ``t_last`` is the cycle the fold's last operands entered row 0 / column 0 (unskewed time).
The smallest drain latency is ``acc_latency`` + the tree levels (:func:`min_drain_latency`); a
larger one (by default :func:`chain_drain_latency`, the figure of the earlier shift-chain drain
that the engines still assume) adds delay registers at the column outputs. Meanwhile the PEs
already accumulate the next fold.

Stalls: the constructor's ``en`` is the clock enable of every register in the mesh (PEs, tree,
delays), including the PEs' DSP blocks; it is required on the ECP5 target, where an
``EnableInserter`` around the mesh would not reach the DSP blocks.
"""

from __future__ import annotations

from amaranth.hdl import EnableInserter, Module, Signal, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig
from hw.dsp import check_enable, stall_enable
from hw.pe_os import OSPE
from hw.target import target_of

__all__ = ["OSMesh", "tree_levels", "min_drain_latency", "chain_drain_latency"]

#: PEs whose ``res & cap`` one LUT4 combines at the first level, and inputs of a later OR node.
_FIRST_FANIN, _FANIN = 2, 4


def tree_levels(rows: int) -> int:
    """Register levels of a column's drain tree over ``rows`` PEs."""
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ValueError(f"rows must be a positive integer, not {rows!r}")
    levels, n = 1, -(-rows // _FIRST_FANIN)
    while n > 1:
        levels, n = levels + 1, -(-n // _FANIN)
    return levels


def min_drain_latency(config: ArrayConfig) -> int:
    """Smallest ``drain_latency`` of an OSMesh: ``pe_pipeline + 2`` (the PE's ``acc_latency``)
    + the tree levels."""
    return config.pe_pipeline + 2 + tree_levels(config.rows)


def chain_drain_latency(config: ArrayConfig) -> int:
    """``rows + pe_pipeline + 2``: the drain latency of the earlier per-column shift chain, which
    ``hw/engine_os.py`` still computes itself (the default until the engine reads the property)."""
    return config.rows - 1 + config.pe_pipeline + 3


class OSMesh(wiring.Component):
    """Output-stationary systolic mesh.

    Parameters
    ----------
    config : ArrayConfig
        Supplies ``rows``, ``cols`` and the PE widths and pipeline.
    en : Value, optional
        Clock enable of every register of the mesh (its stall). Required on the ECP5 target
        (``Const(1)`` for a mesh that never stalls); without it the generic mesh is gated only by
        an enclosing ``EnableInserter``.
    drain_latency : int, optional
        Cycles from a fold's last operands at row 0 / column 0 to its row 0 at ``col_out[0]``; at
        least :func:`min_drain_latency`. Default :func:`chain_drain_latency`.

    Members
    -------
    a_in : In(ArrayLayout(signed(a_bits + 1), rows))
        Skewed activation differences, lane ``i`` into row ``i``.
    first_in, last_in : In(rows)
        Skewed fold flags, bit ``i`` travels with ``a_in[i]``.
    w_in : In(ArrayLayout(signed(w_bits), cols))
        Skewed weights, lane ``j`` into column ``j``.
    col_out : Out(ArrayLayout(signed(acc_bits), cols))
        Each column's drained results (timing in the module docstring), registered.

    Raises
    ------
    TypeError
        If ``config`` is not an ArrayConfig, ``en`` not a 1-bit Value or ``drain_latency`` not an
        integer.
    ValueError
        If ``drain_latency`` is below :func:`min_drain_latency`; on elaboration for the ECP5 target
        without ``en``.
    """

    def __init__(
        self, config: ArrayConfig, *, en: Value | None = None, drain_latency: int | None = None
    ) -> None:
        self._MustUse__silence = True  # a rejected instance is not an unused design
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        self._en = check_enable(en)
        if drain_latency is None:
            drain_latency = chain_drain_latency(config)
        if isinstance(drain_latency, bool) or not isinstance(drain_latency, int):
            raise TypeError(f"drain_latency must be an integer, not {drain_latency!r}")
        if drain_latency < min_drain_latency(config):
            raise ValueError(
                f"drain_latency must be at least {min_drain_latency(config)}, not {drain_latency!r}"
            )
        self._MustUse__silence = False
        self._config = config
        self._drain_latency = drain_latency
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
        return self._drain_latency

    @property
    def fold_spacing(self) -> int:
        """Smallest number of cycles between the last operands of consecutive folds."""
        return self._config.rows

    def _column_tree(self, m: Module, column: list[OSPE], j: int):
        acc = signed(self._config.acc_bits)
        terms = []
        for g in range(0, len(column), _FIRST_FANIN):
            reg = Signal(acc, name=f"drain{j}_l1_{g // _FIRST_FANIN}", reset_less=True)
            value = 0
            for pe in column[g:g + _FIRST_FANIN]:
                value = value | (pe.res.as_unsigned() & pe.cap.replicate(len(pe.res)))
            m.d.sync += reg.eq(value)
            terms.append(reg)
        level = 1
        while len(terms) > 1:
            level += 1
            nxt = []
            for g in range(0, len(terms), _FANIN):
                reg = Signal(acc, name=f"drain{j}_l{level}_{g // _FANIN}", reset_less=True)
                value = 0
                for t in terms[g:g + _FANIN]:
                    value = value | t.as_unsigned()
                m.d.sync += reg.eq(value)
                nxt.append(reg)
            terms = nxt
        out = terms[0]
        for k in range(self._drain_latency - min_drain_latency(self._config)):
            reg = Signal(acc, name=f"drain{j}_pad{k + 1}", reset_less=True)
            m.d.sync += reg.eq(out)
            out = reg
        return out

    def elaborate(self, platform) -> Module:
        cfg = self._config
        rows, cols = cfg.rows, cfg.cols
        en = stall_enable(self._en, target_of(platform), "OSMesh")
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
                m.d.comb += pe.en.eq(en)
        for j in range(cols):
            out = self._column_tree(m, [pes[i][j] for i in range(rows)], j)
            m.d.comb += self.col_out[j].eq(out)
        return m if self._en is None else EnableInserter(self._en)(m)
