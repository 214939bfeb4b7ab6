"""The quantizers shared by post-training quantization and quantization-aware training.

One set of rules, so that a range QAT trains with is exactly the range the integer network runs
with (DESIGN.md, "Numeric contract"):

- **weights**: symmetric per output channel, ``Z = 0``, codes clamped to the narrow range
  ``[-(2^(b-1) - 1), 2^(b-1) - 1]`` (TFLite's ``narrow_range``, so ``-w`` quantizes to ``-q``;
  a clipped range from the MSE or entropy search would otherwise reach ``-2^(b-1)``);
- **activations**: asymmetric per tensor, ``golden``'s nudged zero point
  (``golden.affine.asymmetric_qparams``), full range ``[-2^(b-1), 2^(b-1) - 1]`` narrowed to
  ``[act_min, act_max]`` where a ReLU is fused as the clamp;
- rounding half away from zero (``golden.round_half_away``), as ``golden.quantize``.

:func:`fake_quant` is ``dequantize(clamp(round(r / S) + Z))`` in float64 with the same operations
in the same order as ``golden.quantize`` then ``golden.dequantize``, so the two agree bit for bit
(``tests/qmac/model/test_quantizers.py``); it also returns the straight-through estimator's mask.
"""

from __future__ import annotations

import numpy as np

import golden
from golden.affine import asymmetric_qparams, round_half_away
from golden.calib_mse import DEFAULT_GRID

__all__ = [
    "DEFAULT_GRID",
    "WEIGHT_METHODS",
    "WEIGHT_SCALE_FLOOR",
    "weight_scale",
    "quantize_weights",
    "act_qparams",
    "fake_quant",
    "fake_quant_weights",
]

#: Calibration of weight ranges: min/max (the DESIGN default) or the MSE search.
WEIGHT_METHODS = ("minmax", "mse")
#: No channel's weight scale is below this fraction of its layer's largest: a (nearly) dead
#: channel, whose weights all round to 0 at that scale anyway, would otherwise get a scale near 0
#: and a bias code b / (S_x S_w) beyond any accumulator (QAT's weight decay shrinks such
#: channels to ~1e-10). The shipped float network's smallest ratio is 0.014, so PTQ never hits it.
WEIGHT_SCALE_FLOOR = 1.0 / 128


def _narrow(bits: int) -> int:
    return (1 << (bits - 1)) - 1


def weight_scale(
    w: np.ndarray, bits: int, axis: int, method: str = "minmax", grid: int = DEFAULT_GRID
) -> np.ndarray:
    """Per-channel symmetric scale of the float weights ``w``.

    Parameters
    ----------
    w : float ndarray, any shape with ``w.shape[axis] = C``
    bits : int
        2..16.
    axis : int
        Output-channel axis.
    method : {"minmax", "mse"}
        ``"minmax"``: ``max |w| / (2^(b-1) - 1)`` (no weight is clipped). ``"mse"``:
        ``golden.choose_qparams(method="mse")``, the scale of least squared error.
    grid : int
        Candidate scales of the MSE search (``golden.choose_qparams``'s ``grid``).

    Returns
    -------
    (C,) float64 ndarray, > 0
        At least :data:`WEIGHT_SCALE_FLOOR` times the largest channel's scale.
    """
    bits = golden.check_bits("w_bits", bits)
    if not isinstance(method, str) or method not in WEIGHT_METHODS:
        raise ValueError(f"w_method must be one of {', '.join(WEIGHT_METHODS)}, not {method!r}")
    qp = golden.choose_qparams(w, bits, symmetric=True, axis=axis, method=method, grid=grid)
    scale = np.asarray(qp.scale, dtype=np.float64).reshape(-1)
    return np.maximum(scale, WEIGHT_SCALE_FLOOR * scale.max())


def _bcast(scale: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = -1
    return np.asarray(scale, dtype=np.float64).reshape(shape)


def quantize_weights(w: np.ndarray, scale: np.ndarray, bits: int, axis: int) -> np.ndarray:
    """Integer weights: ``golden.quantize`` per channel, clamped to ``±(2^(b-1) - 1)``.

    Returns
    -------
    int64 ndarray, shape of ``w``
    """
    q = golden.quantize(w, scale, 0, bits, axis=axis)
    return np.clip(q, -_narrow(bits), _narrow(bits))


def act_qparams(rmin: float, rmax: float, bits: int) -> tuple[float, int]:
    """Scale and zero point of the activation range ``[rmin, rmax]`` (widened to include 0)."""
    s, z = asymmetric_qparams(np.float64(rmin), np.float64(rmax), bits)
    return float(s), int(z)


def fake_quant(
    r: np.ndarray, scale, zero_point, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """Quantize then dequantize, and the straight-through estimator's mask.

    Parameters
    ----------
    r : float ndarray
    scale, zero_point : float and int, or arrays broadcasting against ``r`` (per channel)
    lo, hi : int
        Clamp range of the codes (``[act_min, act_max]``, or the narrow weight range).

    Returns
    -------
    value : float64 ndarray, shape of ``r``
        ``(clamp(round_half_away(r / S) + Z, lo, hi) - Z) * S``, equal bit for bit to
        ``golden.dequantize(golden.quantize(...))`` with the same parameters and clamp.
    inside : bool ndarray, shape of ``r``
        The STE's gradient mask: True where the clamp left the code alone
        (``lo <= round(r / S) + Z <= hi``), i.e. d value / d r = 1 there and 0 where clipped.
    """
    s = np.asarray(scale, dtype=np.float64)
    z = np.asarray(zero_point, dtype=np.int64)
    q = round_half_away(np.asarray(r, dtype=np.float64) / s) + z
    inside = (q >= lo) & (q <= hi)
    return (np.clip(q, lo, hi) - z) * s, inside


def fake_quant_weights(
    w: np.ndarray, bits: int, axis: int, method: str = "minmax", grid: int = DEFAULT_GRID
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel fake quantization of weights with their scale from ``w`` itself.

    Returns
    -------
    value : float64 ndarray, shape of ``w``
        ``scale * quantize_weights(w, scale, bits, axis)``.
    inside : bool ndarray, shape of ``w``
        STE mask (all True for ``"minmax"``: nothing is clipped).
    scale : (C,) float64 ndarray
    """
    scale = weight_scale(w, bits, axis, method, grid)
    n = _narrow(bits)
    value, inside = fake_quant(w, _bcast(scale, w.ndim, axis), 0, -n, n)
    return value, inside, scale
