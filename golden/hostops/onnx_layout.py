"""ONNX Flatten and Reshape of a tensor that ONNX holds NCHW and the network holds NHWC.

ONNX flattens an activation in NCHW order (channel slowest): the element order of the result is
(c, h, w). The network keeps 4-D activations NHWC, so it transposes back before reshaping; the
flattened values are then exactly ONNX's, in ONNX's order, and the fully connected weights need
no permutation.
"""

from __future__ import annotations

import numpy as np

from .._check import int_array

__all__ = ["flatten_nchw"]


def flatten_nchw(x: object, axis: int = 1) -> np.ndarray:
    """ONNX ``Flatten(axis)`` of a tensor held NHWC (4-D) or as ONNX holds it (other ranks).

    Parameters
    ----------
    x : (N, H, W, C) or (N, ...) int ndarray
        A 4-D tensor is taken as NHWC holding ONNX's NCHW tensor.
    axis : int
        ONNX's axis, 1..ndim (dimensions before it form the rows; only ``1`` keeps the batch).

    Returns
    -------
    (prod(dims[:axis]), prod(dims[axis:])) int64 ndarray, ONNX's element order
    """
    xa = int_array("x", x)
    if not 1 <= axis <= max(xa.ndim, 1):
        raise ValueError(f"axis must be in [1, {xa.ndim}], not {axis!r}")
    if xa.ndim == 4:
        xa = xa.transpose(0, 3, 1, 2)
    rows = int(np.prod(xa.shape[:axis]))
    return np.ascontiguousarray(xa).reshape(rows, -1)
