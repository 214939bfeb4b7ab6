"""The lemma that closes the multiplier cut: the chunked product is the product.

``top.py`` proves the unit equal to the spec applied to ``prod = sum of chunk_i(x) * chunk_j(m) *
2**(lsb_i + lsb_j)`` (true products of the chunks, summed modulo ``2**p``, p = x_bits + m_bits).
This module proves, with z3, for the same chunk table (``top.chunks``), that this ``prod`` is
``x * m`` for every ``x`` of ``acc_bits + 1`` signed bits and every ``m`` of ``mult_bits`` signed
bits:

1. ``decomposition``: every operand is the sum of its chunks, ``x = sum(chunk_i(x) * 2**lsb_i)``
   (low chunks read unsigned, the top chunk signed), as bit-vectors of p bits: linear
   arithmetic, which z3 bit-blasts easily.
2. ``distributivity``: ``(sum u_i 2**a_i) * (sum v_j 2**b_j) = sum u_i v_j 2**(a_i + b_j)`` over
   the integers for all ``u``, ``v``: a polynomial identity, proven by z3's arithmetic.
3. ``fits``: ``-2**(p-1) <= x * m < 2**(p-1)``, so the sum modulo ``2**p`` read as signed p bits
   is ``x * m`` itself (the extremes of a product over a box are at its corners).

Together: ``prod = sum u_i v_j 2**(a_i + b_j) = x * m`` modulo ``2**p``, equal as signed p-bit
values. The multiplication that SAT solvers find hard never reaches a bit-blaster.
"""

from __future__ import annotations

import z3

from .top import chunks

__all__ = ["prove_product_lemma"]


def _prove(claim) -> bool:
    solver = z3.Solver()
    solver.add(z3.Not(claim))
    return solver.check() == z3.unsat


def _decomposition(width: int, total: int) -> bool:
    """``sext(x) == sum(ext(chunk_i(x)) << lsb_i)`` in ``total`` bits, for all ``x``."""
    x = z3.BitVec("x", width)
    parts = []
    for lsb, bits, signed in chunks(width):
        piece = z3.Extract(lsb + bits - 1, lsb, x)
        ext = z3.SignExt if signed else z3.ZeroExt
        parts.append(ext(total - bits, piece) << lsb)
    return _prove(z3.SignExt(total - width, x) == sum(parts[1:], parts[0]))


def _distributivity(x_width: int, m_width: int) -> bool:
    """``(sum u_i 2^a_i)(sum v_j 2^b_j) == sum u_i v_j 2^(a_i + b_j)`` over the integers."""
    xs = [(z3.Int(f"u{i}"), lsb) for i, (lsb, _, _) in enumerate(chunks(x_width))]
    ms = [(z3.Int(f"v{j}"), lsb) for j, (lsb, _, _) in enumerate(chunks(m_width))]
    x = z3.Sum([u * 2**a for u, a in xs])
    m = z3.Sum([v * 2**b for v, b in ms])
    terms = z3.Sum([u * v * 2**(a + b) for u, a in xs for v, b in ms])
    return _prove(x * m == terms)


def _fits(x_width: int, m_width: int) -> bool:
    """Every product of a signed x_width-bit and a signed m_width-bit value fits p signed bits."""
    p = x_width + m_width
    lo_x, hi_x = -(1 << (x_width - 1)), (1 << (x_width - 1)) - 1
    lo_m, hi_m = -(1 << (m_width - 1)), (1 << (m_width - 1)) - 1
    corners = [a * b for a in (lo_x, hi_x) for b in (lo_m, hi_m)]
    return -(1 << (p - 1)) <= min(corners) and max(corners) < (1 << (p - 1))


def prove_product_lemma(acc_bits: int, mult_bits: int) -> dict[str, bool]:
    """Check the three parts of the lemma for one config; return part name -> proven.

    Parameters
    ----------
    acc_bits, mult_bits : int
        The unit's widths: ``x = acc + bias`` has ``acc_bits + 1`` bits, ``m0`` ``mult_bits``.

    Returns
    -------
    dict of str to bool
        ``decomposition_x``, ``decomposition_m``, ``distributivity``, ``fits``.
    """
    x_width, total = acc_bits + 1, acc_bits + 1 + mult_bits
    return {
        "decomposition_x": _decomposition(x_width, total),
        "decomposition_m": _decomposition(mult_bits, total),
        "distributivity": _distributivity(x_width, mult_bits),
        "fits": _fits(x_width, mult_bits),
    }
