"""Block memories of ``qmac_top`` whose reads never depend on a write on the same clock edge.

Every memory of the top is read by a register and nothing else (on ECP5 the DP16KD output register
takes it, ``qmac.synth.bram_outreg``). Yosys otherwise adds compare-and-bypass logic between a
block RAM's read data and that register, to give a read on the edge of a write to the same address
the old word, as a non-transparent Amaranth read port promises. The top never uses such a read:

- activation, weight and parameter banks: a word is read only after the edge that wrote it
  (the top's "word loaded" checks, hw/top.py), and a bank being loaded is not the one read;
- the output FIFO (hw/out_fifo.py): the storage is read at an address being written only while
  the FIFO is empty, and that read is marked invalid;
- the partial sums (hw/psum.py): a read on the edge of the write to its entry is replaced by the
  forwarded sum.

So the memories carry ``no_rw_check``: Yosys may return anything for such a read, and simulation
(old word) and hardware agree on every value the design uses.
"""

from __future__ import annotations

from amaranth.lib.memory import Memory

__all__ = ["unchecked_memory"]


def unchecked_memory(*, shape, depth: int) -> Memory:
    """An empty ``depth``-word Memory of ``shape`` with Yosys's ``no_rw_check`` attribute."""
    return Memory(shape=shape, depth=depth, init=[], attrs={"no_rw_check": 1})
