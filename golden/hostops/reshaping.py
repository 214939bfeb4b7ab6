"""RESHAPE and flatten: the values and their row-major order unchanged (kernels/reshape.cc).

TFLite's RESHAPE copies the buffer; the new shape comes from the shape operand (or the options'
``new_shape``), with at most one -1 standing for the remaining size.
"""

from __future__ import annotations

import numpy as np

from .._check import check_int
from .tensor_quant import int8_tensor

__all__ = ["reshape", "flatten", "resolve_shape"]


def resolve_shape(shape: object, size: int) -> tuple[int, ...]:
    """``shape`` with its -1 (at most one) replaced so that the element count is ``size``.

    Raises
    ------
    TypeError
        If an entry is not an integer.
    ValueError
        On two -1 entries, an entry below -1, or a count that does not match ``size``.
    """
    dims = [check_int("shape", d, -1) for d in np.asarray(shape).ravel().tolist()]
    unknown = [i for i, d in enumerate(dims) if d == -1]
    if len(unknown) > 1:
        raise ValueError(f"shape may hold at most one -1, not {tuple(dims)}")
    known = int(np.prod([d for d in dims if d != -1]))
    if unknown:
        if known == 0 or size % known:
            raise ValueError(f"shape {tuple(dims)} cannot hold {size} elements")
        dims[unknown[0]] = size // known
    elif known != size:
        raise ValueError(f"shape {tuple(dims)} holds {known} elements, not {size}")
    return tuple(dims)


def reshape(x: object, shape: object) -> np.ndarray:
    """RESHAPE ``x`` (int8 values) to ``shape``; returns an int64 copy."""
    xa = int8_tensor("x", x)
    return xa.reshape(resolve_shape(shape, xa.size)).copy()


def flatten(x: object) -> np.ndarray:
    """Flatten (N, ...) to (N, prod(...)): the RESHAPE a Keras Flatten becomes."""
    xa = int8_tensor("x", x)
    if xa.ndim < 1:
        raise ValueError(f"x must have a batch dimension, not shape {xa.shape}")
    return reshape(xa, (xa.shape[0], -1))
