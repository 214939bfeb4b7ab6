"""Small async helpers for Amaranth testbenches: word packing and valid/ready stream drivers.

``stream_put`` / ``stream_get`` drive one AXI4-Stream-like port given by its signals (so they work
for flat ports such as ``s_axis_a_tdata`` / ``s_axis_a_tvalid`` / ...), with optional random gaps.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

__all__ = [
    "pack_lanes",
    "unpack_lanes",
    "os_a_words",
    "ws_a_words",
    "w_words",
    "param_words",
    "stream_put",
    "stream_get",
]


def pack_lanes(values: Sequence[int], bits: int) -> int:
    """Pack signed lane values LSB-first into one integer, ``bits`` per lane (two's complement)."""
    word = 0
    mask = (1 << bits) - 1
    for i, v in enumerate(values):
        word |= (int(v) & mask) << (i * bits)
    return word


def unpack_lanes(word: int, bits: int, lanes: int) -> np.ndarray:
    """Inverse of :func:`pack_lanes`: ``lanes`` signed values of ``bits`` each, int64."""
    out = np.empty(lanes, dtype=np.int64)
    mask = (1 << bits) - 1
    for i in range(lanes):
        v = (word >> (i * bits)) & mask
        out[i] = v - (1 << bits) if v >> (bits - 1) else v
    return out


def _blocks(mat: np.ndarray, lanes: int, bits: int, rng: np.random.Generator) -> np.ndarray:
    """Pad the columns of ``mat`` to whole blocks of ``lanes`` with random don't-care values."""
    rows, cols = mat.shape
    nblk = -(-cols // lanes)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1))
    out = rng.integers(lo, hi, size=(rows, nblk * lanes), dtype=np.int64)
    out[:, :cols] = mat
    return out.reshape(rows, nblk, lanes)


def os_a_words(a: np.ndarray, rows: int, bits: int, rng: np.random.Generator) -> list[int]:
    """Activation stream of an ``"os"`` job: word ``mb*K + k``, lane i = ``A[mb*rows + i, k]``.

    Lanes beyond M get random values (the array must ignore them).
    """
    blk = _blocks(np.asarray(a).T, rows, bits, rng)  # [K, MB, rows]
    k, nblk, _ = blk.shape
    return [pack_lanes(blk[kk, mb], bits) for mb in range(nblk) for kk in range(k)]


def ws_a_words(a: np.ndarray, rows: int, bits: int, rng: np.random.Generator) -> list[int]:
    """Activation stream of a ``"ws"`` job: word ``kb*M + m``, lane i = ``A[m, kb*rows + i]``."""
    blk = _blocks(np.asarray(a), rows, bits, rng)  # [M, KB, rows]
    m, nblk, _ = blk.shape
    return [pack_lanes(blk[mm, kb], bits) for kb in range(nblk) for mm in range(m)]


def w_words(w: np.ndarray, cols: int, bits: int, rng: np.random.Generator) -> list[int]:
    """Weight stream: word ``nb*K + k``, lane j = ``W[k, nb*cols + j]`` (junk beyond N)."""
    blk = _blocks(np.asarray(w), cols, bits, rng)  # [K, NB, cols]
    k, nblk, _ = blk.shape
    return [pack_lanes(blk[kk, nb], bits) for nb in range(nblk) for kk in range(k)]


def param_words(bias, m0, shift, *, acc_bits: int, mult_bits: int) -> list[int]:
    """Parameter stream: beat n = ``bias | m0 << acc_bits | shift << (acc_bits + mult_bits)``."""
    words = []
    for b, m, s in zip(bias, m0, shift, strict=True):
        words.append(
            (int(b) & ((1 << acc_bits) - 1))
            | (int(m) & ((1 << mult_bits) - 1)) << acc_bits
            | (int(s) & 63) << (acc_bits + mult_bits)
        )
    return words


async def stream_put(
    ctx,
    tdata,
    tvalid,
    tready,
    words,
    *,
    tlast=None,
    lasts=None,
    rng: random.Random | None = None,
    gap: float = 0.0,
) -> None:
    """Send ``words`` (ints) one per handshake; ``lasts`` gives tlast per word (default: last word).

    With ``rng`` and ``gap > 0`` each beat is preceded by idle cycles with probability ``gap``.
    Returns after the last beat was accepted; tvalid is low on return.
    """
    n = len(words)
    for i, word in enumerate(words):
        while rng is not None and gap > 0 and rng.random() < gap:
            ctx.set(tvalid, 0)
            await ctx.tick()
        ctx.set(tdata, word)
        ctx.set(tvalid, 1)
        if tlast is not None:
            ctx.set(tlast, lasts[i] if lasts is not None else int(i == n - 1))
        await ctx.tick().until(tready)
    ctx.set(tvalid, 0)
    if tlast is not None:
        ctx.set(tlast, 0)


async def stream_get(
    ctx,
    tdata,
    tvalid,
    tready,
    count: int,
    *,
    tlast=None,
    rng: random.Random | None = None,
    gap: float = 0.0,
) -> list[tuple[int, int]]:
    """Receive ``count`` beats; returns ``[(tdata, tlast), ...]`` (tlast 0 when not given).

    With ``rng`` and ``gap > 0`` tready is low on a cycle with probability ``gap``.
    """
    beats: list[tuple[int, int]] = []
    while len(beats) < count:
        ready = not (rng is not None and gap > 0 and rng.random() < gap)
        ctx.set(tready, int(ready))
        if ready:
            sig = (tdata, tvalid) if tlast is None else (tdata, tvalid, tlast)
            _, _, data, valid, *last = await ctx.tick().sample(*sig)
            if valid:
                beats.append((int(data), int(last[0]) if last else 0))
        else:
            await ctx.tick()
    ctx.set(tready, 0)
    return beats
