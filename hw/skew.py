"""Triangular delay lines: skew a row of lanes into a systolic wavefront, or deskew it back.

A systolic array wants lane ``i`` of a word ``i`` cycles after lane 0 (skew), and its outputs, which
leave column ``j`` ``j`` cycles after column 0, realigned into whole rows (deskew). Both are one
triangle of registers: lane ``i`` is delayed by ``i`` cycles (``reverse=False``) or by
``lanes - 1 - i`` cycles (``reverse=True``), ``lanes * (lanes - 1) / 2`` registers in all.
"""

from __future__ import annotations

from amaranth.hdl import Module, Shape, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Skew"]


class Skew(wiring.Component):
    """Delay lane ``i`` of a word by ``i`` (or ``lanes - 1 - i``) clock cycles.

    All registers are in the ``sync`` domain (wrap in ``EnableInserter`` to stall them); a lane
    with delay 0 is a wire.

    Parameters
    ----------
    lanes : int
        Number of lanes (>= 1).
    shape : ShapeLike
        Shape of one lane (e.g. ``signed(9)`` or a ``data.StructLayout`` of a value and its flags).
    reverse : bool
        False: lane ``i`` delayed by ``i`` (skew). True: lane ``i`` delayed by ``lanes - 1 - i``
        (deskew of a skewed wavefront).

    Members
    -------
    i_data : In(ArrayLayout(shape, lanes))
        The word entering this cycle.
    o_data : Out(ArrayLayout(shape, lanes))
        Lane ``i`` is ``i_data[i]`` from ``delay(i)`` cycles ago.

    Raises
    ------
    TypeError
        If ``lanes`` is not an integer or ``shape`` is not shape-castable.
    ValueError
        If ``lanes`` is below 1.
    """

    def __init__(self, lanes: int, shape, *, reverse: bool = False) -> None:
        if isinstance(lanes, bool) or not isinstance(lanes, int):
            raise TypeError(f"lanes must be an integer, not {lanes!r}")
        if lanes < 1:
            raise ValueError(f"lanes must be at least 1, not {lanes!r}")
        try:
            Shape.cast(shape)
        except TypeError:
            raise TypeError(f"shape must be a shape-castable object, not {shape!r}") from None
        self._lanes = lanes
        self._shape = shape
        self._reverse = bool(reverse)
        layout = data.ArrayLayout(shape, lanes)
        super().__init__({"i_data": In(layout), "o_data": Out(layout)})

    @property
    def lanes(self) -> int:
        return self._lanes

    @property
    def latency(self) -> int:
        """Largest delay of any lane (``lanes - 1``)."""
        return self._lanes - 1

    def delay(self, lane: int) -> int:
        """Cycles by which lane ``lane`` is delayed."""
        if not 0 <= lane < self._lanes:
            raise ValueError(f"lane must be in [0, {self._lanes - 1}], not {lane!r}")
        return self._lanes - 1 - lane if self._reverse else lane

    def elaborate(self, platform) -> Module:
        m = Module()
        for i in range(self._lanes):
            prev = self.i_data[i]
            for d in range(self.delay(i)):
                stage = Signal(self._shape, name=f"lane{i}_d{d + 1}")
                m.d.sync += stage.eq(prev)
                prev = stage
            m.d.comb += self.o_data[i].eq(prev)
        return m
