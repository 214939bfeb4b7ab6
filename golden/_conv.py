"""Dtype-generic convolution core shared by the integer layers and their float twins."""

from __future__ import annotations

import numpy as np

from .geometry import conv_output_size, im2col, resolve_padding

__all__ = ["conv_core"]


def conv_core(
    x: np.ndarray,
    w: np.ndarray,
    *,
    stride: tuple[int, int],
    padding: object,
    dilation: tuple[int, int],
    groups: int,
) -> np.ndarray:
    """Grouped convolution of already-centred input (padding is 0) with OHWI weights.

    Parameters
    ----------
    x : (N, H, W, Cin) ndarray, float64 or int64
        Input with the zero point already subtracted.
    w : (Cout, KH, KW, Cin // groups) ndarray, same dtype as x
    stride, dilation : (int, int)
    padding : padding argument (see :mod:`golden.geometry`)
    groups : int
        Output channel ``o`` reads input channels of group ``o // (Cout // groups)``.

    Returns
    -------
    (N, OH, OW, Cout) ndarray, dtype of x
        Exact when x and w are int64, or float64 with every partial sum below 2^53.
    """
    n = x.shape[0]
    cout, kh, kw, cin_g = w.shape
    if groups > 1 and cin_g == 1:
        return _depthwise(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    cols = im2col(x, kh, kw, stride=stride, padding=padding, dilation=dilation, pad_value=0)
    _, oh, ow, _ = cols.shape
    p = n * oh * ow
    taps = kh * kw
    if groups == 1:
        out = cols.reshape(p, taps * cin_g) @ w.reshape(cout, taps * cin_g).T
    else:
        cout_g = cout // groups
        c5 = (
            cols.reshape(p, taps, groups, cin_g)
            .transpose(2, 0, 1, 3)
            .reshape(groups, p, taps * cin_g)
        )
        wg = w.reshape(groups, cout_g, taps * cin_g).transpose(0, 2, 1)
        out = np.matmul(c5, wg).transpose(1, 0, 2).reshape(p, cout)
    return out.reshape(n, oh, ow, cout)


def _depthwise(
    x: np.ndarray,
    w: np.ndarray,
    *,
    stride: tuple[int, int],
    padding: object,
    dilation: tuple[int, int],
    groups: int,
) -> np.ndarray:
    """One input channel per group: K = KH*KW is small, so loop over the taps with elementwise
    products on strided views of the padded input (no im2col, no matmul with a tiny inner size)."""
    n, h, wd, cin = x.shape
    cout, kh, kw, _ = w.shape
    mult = cout // groups
    sh, sw = stride
    dh, dw = dilation
    oh, ow = conv_output_size((h, wd), (kh, kw), stride=stride, padding=padding, dilation=dilation)
    top, left, bottom, right = resolve_padding(padding, (h, wd), (kh, kw), stride, dilation)
    xp = np.zeros((n, h + top + bottom, wd + left + right, cin), dtype=x.dtype)
    xp[:, top : top + h, left : left + wd, :] = x
    wt = w.reshape(groups, mult, kh, kw)
    out = np.zeros((n, oh, ow, groups, mult), dtype=x.dtype)
    tmp = np.empty_like(out)
    for i in range(kh):
        for j in range(kw):
            plane = xp[
                :,
                i * dh : i * dh + (oh - 1) * sh + 1 : sh,
                j * dw : j * dw + (ow - 1) * sw + 1 : sw,
                :,
            ]
            np.multiply(plane[..., None], wt[:, :, i, j], out=tmp)
            out += tmp
    return out.reshape(n, oh, ow, cout)
