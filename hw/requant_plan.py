"""The structure of the requantization multiplier, without Amaranth: DSP chunks and pipeline depth.

``hw.requant.Requant`` builds its multiplier from these figures, and ``ArrayConfig.requant_latency``
reports them, so the latency every other part plans with is derived from the same arithmetic that
shapes the unit (and the config needs no hardware import to know it).
"""

from __future__ import annotations

__all__ = [
    "CHUNK", "POST_PRODUCT_STAGES", "PRE_PRODUCT_STAGES", "chunk_lsbs", "product_stages",
    "requant_latency",
]

#: Width of the unsigned low chunks of a multiplier operand; the top chunk is signed and at most
#: 18 bits, so that every partial product fits an 18 x 18 signed DSP multiplier (ECP5 MULT18X18D,
#: and the narrower side of iCE40 SB_MAC16 and Xilinx DSP48E1).
CHUNK = 17

#: Register stages before the multiplier's own: ``acc + bias`` (with m0 beside it), then the
#: operand registers of the multiplier blocks.
PRE_PRODUCT_STAGES = 2

#: The register stages after the multiplier, in order (``hw.requant.Requant`` builds exactly these):
#: each does one narrow step so that no stage holds more than one adder, comparator or shifter half.
POST_PRODUCT_STAGES = (
    "shift_operand",  # operand and amount of the rounding shifter ("tflite": the high multiply)
    "shift_coarse",  # arithmetic right shift by the amount's multiple of 8
    "shift_fine",  # ... and by its remainder (one fraction bit kept for rounding)
    "saturate",  # saturation to out_bits + 3 bits (a sign check of the upper bits)
    "round",  # round half up: (h + 1) >> 1
    "zero_point",  # + y_zp
    "clamp_compare",  # v < act_min, v > act_max and act_min > act_max, in parallel
    "clamp_select",  # the clamped value, output register
)


def chunk_lsbs(width: int) -> list[int]:
    """LSB positions of the chunks of a ``width``-bit signed operand (low chunks ``CHUNK`` bits)."""
    lsbs, lsb = [], 0
    while width - lsb > CHUNK + 1:
        lsbs.append(lsb)
        lsb += CHUNK
    return lsbs + [lsb]


def product_stages(acc_bits: int, mult_bits: int) -> int:
    """Register stages of the multiplier: partial products, then one per adder-tree level.

    The multiplier's operands are ``acc + bias`` (``acc_bits + 1`` bits) and ``m0``
    (``mult_bits`` bits); ``1 + ceil(log2(partial products))``.
    """
    terms = len(chunk_lsbs(acc_bits + 1)) * len(chunk_lsbs(mult_bits))
    return 1 + (terms - 1).bit_length()


def requant_latency(acc_bits: int, mult_bits: int) -> int:
    """Cycles from ``i_valid`` to ``o_valid`` of the requantization unit.

    :data:`PRE_PRODUCT_STAGES` (2: the bias adder's register, the multiplier's operand
    registers) + multiplier stages (:func:`product_stages`) + ``len(POST_PRODUCT_STAGES)`` (8).
    For acc_bits = 32 and mult_bits = 32 there are 2 x 2 partial products, so 2 + 3 + 8 = 13
    cycles.
    """
    return PRE_PRODUCT_STAGES + product_stages(acc_bits, mult_bits) + len(POST_PRODUCT_STAGES)
