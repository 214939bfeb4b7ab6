"""Inputs for an imported ONNX network, as ``qmac run MODEL.onnx --input X.npy`` takes them.

``X.npy`` is in the model's own layout (NCHW) with the batch first. Float values go through the
model's own QuantizeLinear (as onnxruntime computes it); integer values are taken as the model's
already-quantized input (uint8 or int8, its first QuantizeLinear's output), and that op is
skipped. For a model whose input is itself quantized, floats are quantized with its scale and
zero point (onnxruntime's QuantizeLinear) and integers are taken as they are.
"""

from __future__ import annotations

import numpy as np

from golden.hostops import QLinearQuant, quantize_linear
from qmac.model.network import Network
from qmac.model.source_io import skip_input_quantize, to_network

__all__ = ["prepare_onnx_input", "source_quant"]


def source_quant(spec) -> QLinearQuant:
    """The ONNX quantization (model's own type) of an int8 network tensor."""
    off = 128 if spec.source_dtype == "uint8" else 0
    return QLinearQuant(spec.scale, spec.zero_point + off, spec.source_dtype or "int8")


def _describe(spec) -> str:
    q = source_quant(spec)
    return f"{spec.source_name!r} ({q.dtype}, scale {q.scale:.6g}, zero point {q.zero_point})"


def prepare_onnx_input(network: Network, x: np.ndarray) -> tuple[Network, np.ndarray, str]:
    """``(network to run, its input in the network's form, what was done)`` for user values.

    Parameters
    ----------
    network : Network
        From :func:`qmac.model.onnx_import.load_onnx`, one input.
    x : ndarray
        (N, ...) in the model's layout: floats, or integers of the model's quantized input.

    Raises
    ------
    ValueError, TypeError
        Several inputs, a wrong shape, or values outside the quantized type.
    """
    if len(network.inputs) != 1:
        raise ValueError(f"the model has {len(network.inputs)} inputs; qmac run takes one")
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise TypeError(f"input values must be numbers, not {x.dtype}")
    spec = network.tensors[network.inputs[0]]
    if spec.dtype == "float32":
        if x.dtype.kind == "f":
            q = network.tensors[next(op.output for op in network.ops
                                     if spec.name in op.inputs)]
            note = f"float input, quantized by the model's QuantizeLinear to {_describe(q)}"
            return network, to_network(spec, x.astype(np.float32)), note
        trimmed = skip_input_quantize(network)
        if trimmed is network:
            raise ValueError("integer input values, but the model's float input is not "
                             "quantized by one QuantizeLinear: give float values")
        qspec = trimmed.tensors[trimmed.inputs[0]]
        note = f"integer input taken as the model's quantized input {_describe(qspec)}"
        return trimmed, to_network(qspec, x), note
    if x.dtype.kind == "f":
        q = source_quant(spec)
        v = quantize_linear(x.astype(np.float32), q)  # elementwise: any layout
        note = f"float input, quantized with the model's input quantization {_describe(spec)}"
        return network, to_network(spec, v), note
    return network, to_network(spec, x), f"integer input {_describe(spec)}"
