"""A user's arrays as a TFLite network's inputs (the way back: ``qmac.model.source_io``).

An int8 network input takes int8 values in its quantization, or float values that are quantized
with its scale and zero point exactly as TFLite's QUANTIZE does (``golden.hostops.quantize``:
float32 division, rounding half away from zero). A float32 input (a model that quantizes its own
input) takes floats. Each array is a stack of samples ``(N, ...)`` or one sample in the model's
shape without its batch axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from golden.hostops import quantize
from qmac.model.network import Network, TensorSpec

__all__ = ["prepare_inputs"]


def _describe(spec: TensorSpec) -> str:
    return f"tensor {spec.source_name} {spec.name!r}" if spec.source_name else repr(spec.name)


def _one(spec: TensorSpec, x: np.ndarray, label: str) -> tuple[np.ndarray, str]:
    want = tuple(spec.shape[1:])
    if x.shape == want:
        x = x[None]
    elif x.shape[1:] != want or x.ndim != len(spec.shape):
        dims = ", ".join(map(str, want))
        raise ValueError(f"{label} has shape {x.shape}; model input {_describe(spec)} needs "
                         f"(N, {dims}) or ({dims})")
    if len(x) == 0:
        raise ValueError(f"{label} holds no sample (shape {x.shape})")
    if x.dtype.kind == "b" or x.dtype.kind not in "iuf":
        raise TypeError(f"{label} holds {x.dtype} values; give int8 values or floats")
    if spec.dtype == "float32":
        if x.dtype.kind != "f":
            raise TypeError(f"{label} holds {x.dtype} values, but model input {_describe(spec)} "
                            "is float32 (the model quantizes it): give floats")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{label} holds NaN or infinite values")
        return x.astype(np.float32), "float32 values, as the model's float32 input takes them"
    q = spec.quant
    if x.dtype.kind == "f":
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{label} holds NaN or infinite values")
        return quantize(x, q), (f"float values, quantized with the model's input scale "
                                f"{q.scale:.8g} and zero point {q.zero_point} (TFLite QUANTIZE)")
    lo, hi = int(x.min()), int(x.max())
    if lo < -128 or hi > 127:
        raise ValueError(f"{label} holds integers {lo}..{hi}, outside int8: give int8 values in "
                         f"the model's input quantization (scale {q.scale:.8g}, zero point "
                         f"{q.zero_point}) or floats")
    return x.astype(np.int64), (f"int8 values in the model's input quantization (scale "
                                f"{q.scale:.8g}, zero point {q.zero_point})")


def prepare_inputs(
    network: Network, arrays: Sequence[np.ndarray], labels: Sequence[str] | None = None
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The values to run ``network`` on, and a sentence per input saying how each was taken.

    Parameters
    ----------
    network : Network
    arrays : sequence of ndarray
        One per network input, in order: (N, ...) or one sample without the batch axis.
    labels : sequence of str, optional
        How to name each array in messages (file names); default ``input 0``, ``input 1``...

    Returns
    -------
    values : dict
        Network input name -> (N, ...) int64 (int8 inputs) or float32 values.
    how : list of str

    Raises
    ------
    ValueError, TypeError
        Wrong count, shape, dtype, batch sizes that differ, integers outside int8, NaN.
    """
    labels = list(labels) if labels is not None else [f"input {i}" for i in range(len(arrays))]
    if len(arrays) != len(network.inputs):
        names = ", ".join(_describe(network.tensors[n]) for n in network.inputs)
        raise ValueError(f"the model has {len(network.inputs)} input(s) ({names}), but "
                         f"{len(arrays)} array(s) were given")
    values, how, batch = {}, [], None
    for name, x, label in zip(network.inputs, arrays, labels, strict=True):
        v, text = _one(network.tensors[name], np.asarray(x), label)
        if batch is not None and len(v) != batch:
            raise ValueError(f"{label} holds {len(v)} samples, the other inputs {batch}")
        batch = len(v)
        values[name] = v
        how.append(text)
    return values, how
