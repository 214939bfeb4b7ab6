"""Convolution geometry: padding forms, output sizes and im2col.

Padding is ``"VALID"``, ``"SAME"`` (TFLite: output ``ceil(in / stride)``, total padding
``max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0)``, the smaller half on top/left), one int
for all four sides, or ``(top, left, bottom, right)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._check import check_int, pair

__all__ = [
    "reduction_length",
    "ConvGeometry",
    "conv_channels",
    "conv_geometry",
    "conv_output_size",
    "im2col",
    "normalize_padding",
    "resolve_padding",
]


def normalize_padding(padding: object) -> str | tuple[int, int, int, int]:
    """Check a padding argument and return it as ``"SAME"``, ``"VALID"`` or a 4-tuple of ints."""
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID"):
            raise ValueError(
                f"padding must be 'SAME', 'VALID', an int or a 4-tuple, not {padding!r}"
            )
        return padding.upper()
    if isinstance(padding, (tuple, list, np.ndarray)):
        if len(padding) != 4:
            raise ValueError(
                "padding must be 'SAME', 'VALID', an int or (top, left, bottom, right), "
                f"not {padding!r}"
            )
        return tuple(check_int("padding", p, 0) for p in padding)  # type: ignore[return-value]
    p = check_int("padding", padding, 0)
    return (p, p, p, p)


def resolve_padding(
    padding: object,
    in_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    stride: object = 1,
    dilation: object = 1,
) -> tuple[int, int, int, int]:
    """Explicit ``(top, left, bottom, right)`` padding in pixels for a padding argument.

    Parameters
    ----------
    padding : {"SAME", "VALID"} or int or (4,) tuple of int
    in_hw : (int, int)
        Input height and width.
    kernel_hw : (int, int)
        Kernel height and width.
    stride, dilation : int or (int, int)

    Returns
    -------
    (top, left, bottom, right) : tuple of int
    """
    padding = normalize_padding(padding)
    sh, sw = pair("stride", stride)
    dh, dw = pair("dilation", dilation)
    if padding == "VALID":
        return (0, 0, 0, 0)
    if padding == "SAME":
        pads = []
        for size, k, s, d in ((in_hw[0], kernel_hw[0], sh, dh), (in_hw[1], kernel_hw[1], sw, dw)):
            out = -(-size // s)
            pads.append(max((out - 1) * s + (k - 1) * d + 1 - size, 0))
        return (pads[0] // 2, pads[1] // 2, pads[0] - pads[0] // 2, pads[1] - pads[1] // 2)
    return padding  # type: ignore[return-value]


def conv_output_size(
    in_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    *,
    stride: object = 1,
    padding: object = "VALID",
    dilation: object = 1,
) -> tuple[int, int]:
    """Output height and width of a convolution.

    Returns
    -------
    (oh, ow) : tuple of int
        ``(in + pad_before + pad_after - (k - 1) * dilation - 1) // stride + 1`` per axis.

    Raises
    ------
    ValueError
        If the (dilated) kernel is larger than the padded input.
    """
    sh, sw = pair("stride", stride)
    dh, dw = pair("dilation", dilation)
    kh = check_int("kernel height", kernel_hw[0], 1)
    kw = check_int("kernel width", kernel_hw[1], 1)
    top, left, bottom, right = resolve_padding(padding, in_hw, (kh, kw), (sh, sw), (dh, dw))
    eh = (kh - 1) * dh + 1
    ew = (kw - 1) * dw + 1
    ph = in_hw[0] + top + bottom
    pw = in_hw[1] + left + right
    if eh > ph or ew > pw:
        raise ValueError(
            f"kernel {kh}x{kw} with dilation ({dh}, {dw}) spans {eh}x{ew}, larger than the padded "
            f"input {ph}x{pw} (input {in_hw[0]}x{in_hw[1]}, padding {(top, left, bottom, right)})"
        )
    return (ph - eh) // sh + 1, (pw - ew) // sw + 1


def im2col(
    x: np.ndarray,
    kh: int,
    kw: int,
    *,
    stride: object = 1,
    padding: object = "VALID",
    dilation: object = 1,
    pad_value: float | int = 0,
) -> np.ndarray:
    """Gather convolution patches.

    Parameters
    ----------
    x : (N, H, W, C) ndarray
        NHWC input, any dtype.
    kh, kw : int
        Kernel size.
    stride, dilation : int or (int, int)
    padding : {"SAME", "VALID"} or int or (top, left, bottom, right)
    pad_value : scalar
        Value of padded taps (``x_zp`` for quantized input, so that ``x - x_zp`` is 0 there).

    Returns
    -------
    (N, OH, OW, KH*KW*C) ndarray, dtype of ``x``
        Column index ``(i * KW + j) * C + c`` for tap (i, j) and channel c, matching the
        reshape of an OHWI weight to ``(O, KH*KW*I)``.
    """
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        raise ValueError(f"x must be an NHWC ndarray with 4 dimensions, not shape {np.shape(x)}")
    sh, sw = pair("stride", stride)
    dh, dw = pair("dilation", dilation)
    n, h, w, c = x.shape
    oh, ow = conv_output_size((h, w), (kh, kw), stride=(sh, sw), padding=padding, dilation=(dh, dw))
    top, left, bottom, right = resolve_padding(padding, (h, w), (kh, kw), (sh, sw), (dh, dw))
    if top or left or bottom or right:
        xp = np.full((n, h + top + bottom, w + left + right, c), pad_value, dtype=x.dtype)
        xp[:, top : top + h, left : left + w, :] = x
    else:
        xp = x
    cols = np.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
    for i in range(kh):  # loop over kernel taps only; each tap copies a whole strided plane
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            cols[:, :, :, i, j, :] = xp[
                :, r0 : r0 + (oh - 1) * sh + 1 : sh, c0 : c0 + (ow - 1) * sw + 1 : sw, :
            ]
    return cols.reshape(n, oh, ow, kh * kw * c)


def conv_channels(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    *,
    groups: object = 1,
    depthwise: bool = False,
) -> tuple[int, int, int]:
    """Check the channel layout of a convolution and return ``(cin, cout, groups)``.

    The one place where conv2d's groups and depthwise's channel multiplier are validated.

    Parameters
    ----------
    x_shape : (N, H, W, Cin)
        NHWC input shape.
    w_shape : (Cout, KH, KW, Cin // groups) or (1, KH, KW, Cin * mult)
        OHWI weights (conv2d) or TFLite's depthwise layout (``depthwise=True``).
    groups : int
        conv2d groups (at least 1); depthwise implies ``groups = Cin``.
    depthwise : bool

    Returns
    -------
    (cin, cout, groups) : tuple of int
        Output channel ``o`` reads the input channels of group ``o // (cout // groups)``.

    Raises
    ------
    ValueError
        Naming the shapes and the rule they break.
    """
    cin = x_shape[3]
    if depthwise:
        if w_shape[0] != 1:
            raise ValueError(
                f"depthwise w must have shape (1, KH, KW, Cin*mult), not {tuple(w_shape)}"
            )
        if cin == 0 or w_shape[3] % cin:
            raise ValueError(
                f"depthwise w has {w_shape[3]} channels, not a multiple of x's Cin={cin} "
                f"(w {tuple(w_shape)})"
            )
        return cin, w_shape[3], cin
    groups = check_int("groups", groups, 1)
    cout, cin_g = w_shape[0], w_shape[3]
    if cin % groups or cout % groups:
        raise ValueError(f"groups={groups} must divide Cin={cin} and Cout={cout}")
    if cin_g * groups != cin:
        raise ValueError(
            f"w has {cin_g} input channels per group but x has Cin={cin} channels "
            f"with groups={groups} (x {tuple(x_shape)}, w {tuple(w_shape)})"
        )
    return cin, cout, groups


@dataclass(frozen=True)
class ConvGeometry:
    """Sizes of a conv2d / depthwise layer (NHWC in, NHWC out); depthwise has ``groups = cin``."""

    batch: int
    h: int
    w: int
    cin: int
    kh: int
    kw: int
    cout: int
    oh: int
    ow: int
    groups: int


def conv_geometry(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    *,
    stride: object = 1,
    padding: object = "VALID",
    dilation: object = 1,
    groups: object = 1,
    depthwise: bool = False,
) -> ConvGeometry:
    """Checked :class:`ConvGeometry` of a convolution (:func:`conv_channels`, then the sizes)."""
    cin, cout, groups = conv_channels(x_shape, w_shape, groups=groups, depthwise=depthwise)
    n, h, w = x_shape[0], x_shape[1], x_shape[2]
    kh, kw = w_shape[1], w_shape[2]
    oh, ow = conv_output_size(
        (h, w), (kh, kw), stride=stride, padding=padding, dilation=dilation
    )
    return ConvGeometry(n, h, w, cin, kh, kw, cout, oh, ow, groups)


def reduction_length(op: str, w_shape: tuple[int, ...]) -> int:
    """K of a layer: products summed into one accumulator, from its op and weight shape.

    matmul ``(K, N)``; fully_connected ``(out, K)``; conv2d OHWI ``KH * KW * Cin/groups``;
    depthwise ``(1, KH, KW, C*mult)``: ``KH * KW``.
    """
    if op == "matmul":
        return int(w_shape[0])
    if op == "fully_connected":
        return int(w_shape[1])
    if op == "conv2d":
        return int(w_shape[1] * w_shape[2] * w_shape[3])
    if op == "depthwise_conv2d":
        return int(w_shape[1] * w_shape[2])
    raise ValueError(f"op must be a layer op, not {op!r}")
