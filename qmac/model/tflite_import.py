"""The TFLite importer: a full-integer int8 ``.tflite`` model as a qmac network.

The result is a :class:`~qmac.model.network.Network`.

CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED become array ops (:mod:`.tflite_array_ops`); ADD,
AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, PAD, PADV2, RESHAPE, CONCATENATION, SOFTMAX, QUANTIZE and
DEQUANTIZE become host ops with TFLite's integer semantics (:mod:`.tflite_host_ops`). Every
tensor keeps its subgraph index as ``source_name`` (``qmac run --dump`` names files by it).

The whole model is checked while it is converted, before anything runs: an op outside the
supported set, a float op, int16 or uint8 tensors where int8 is required, per-channel
activations, non-constant weights, a batch other than 1... each is a
:class:`~qmac.model.tflite_read.TfliteError` (a ValueError) naming the op, its index and the
tensor. Float32 tensors are accepted only at the edges (QUANTIZE's input, DEQUANTIZE's output).
"""

from __future__ import annotations

from pathlib import Path

from qmac.model import tflite_array_ops as array_ops
from qmac.model import tflite_host_ops as host_ops
from qmac.model.network import Network
from qmac.model.tflite_context import OpContext, TensorNames
from qmac.model.tflite_read import TfliteError, TfliteModel, read_tflite

__all__ = ["SUPPORTED_OPS", "load_tflite", "network_from_tflite", "TfliteError"]

_CONVERTERS = {
    "CONV_2D": array_ops.conv_2d,
    "DEPTHWISE_CONV_2D": array_ops.depthwise_conv_2d,
    "FULLY_CONNECTED": array_ops.fully_connected,
    "ADD": host_ops.add,
    "AVERAGE_POOL_2D": host_ops.average_pool_2d,
    "MAX_POOL_2D": host_ops.max_pool_2d,
    "MEAN": host_ops.mean,
    "PAD": host_ops.pad,
    "PADV2": host_ops.padv2,
    "RESHAPE": host_ops.reshape,
    "CONCATENATION": host_ops.concatenation,
    "SOFTMAX": host_ops.softmax,
    "QUANTIZE": host_ops.quantize,
    "DEQUANTIZE": host_ops.dequantize,
}

#: The TFLite builtin ops qmac runs, array ops first.
SUPPORTED_OPS = tuple(_CONVERTERS)


def _check_supported(model: TfliteModel) -> None:
    bad = [op for op in model.ops if op.name not in _CONVERTERS]
    if bad:
        first, rest = bad[0], bad[1:]
        also = ""
        if rest:
            listed = ", ".join(f"{op.index} ({op.name})" for op in rest[:5])
            also = f" (also op{'s' if len(rest) > 1 else ''} {listed}" + \
                (", ..." if len(rest) > 5 else "") + ")"
        raise TfliteError(f"{first.describe()} is not supported{also}; supported ops: "
                          f"{', '.join(SUPPORTED_OPS)}")


def _graph_edge(model: TfliteModel, names: TensorNames, index: int, role: str) -> str:
    """Network name of a graph input/output (int8 or float32), checked like an op's tensor."""
    t = model.tensors[index]
    if t.dtype not in ("int8", "float32"):
        hint = (" (16x8 quantization)" if t.dtype == "int16" else
                " (convert with int8 inference_input_type/inference_output_type)"
                if t.dtype == "uint8" else "")
        raise TfliteError(f"model {role} {t.describe()} is {t.dtype}{hint}; qmac needs int8 or "
                          "float32 there")
    if t.is_constant:
        raise TfliteError(f"model {role} {t.describe()} is a constant")
    if not t.shape or t.shape[0] != 1:
        raise TfliteError(f"model {role} {t.describe()} has shape {t.shape}: qmac runs batch-1 "
                          "models (leading dimension 1) on a stack of inputs")
    if t.dtype == "int8" and (t.scales is None or len(t.scales) != 1):
        raise TfliteError(f"model {role} {t.describe()} is int8 without one scale and zero point")
    return names.spec(t, t.dtype)


def network_from_tflite(model: TfliteModel, name: str | None = None) -> Network:
    """The network of a read model (see the module docstring).

    Raises
    ------
    TfliteError
        Anything qmac cannot run, naming the op, its index and the tensor.
    """
    _check_supported(model)
    if not model.ops:
        raise TfliteError(f"{model.source} has no operators")
    names = TensorNames(model)
    ops = []
    for op in model.ops:
        ops.extend(_CONVERTERS[op.name](OpContext(model, op, names)))
    inputs = [_graph_edge(model, names, i, "input") for i in model.inputs]
    outputs = [_graph_edge(model, names, i, "output") for i in model.outputs]
    label = name or (Path(model.source).stem if model.source != "model bytes" else "tflite")
    try:
        return Network(label, list(names.specs.values()), ops, inputs, outputs, source="tflite")
    except ValueError as exc:
        raise TfliteError(f"{model.source}: {exc}") from None


def load_tflite(model: str | Path | bytes, name: str | None = None) -> Network:
    """Read a full-integer int8 .tflite model (path or bytes) as a Network.

    Examples
    --------
    >>> net = load_tflite("examples/models/digits_cnn.tflite")  # doctest: +SKIP
    >>> [op.op for op in net.ops]  # doctest: +SKIP
    ['conv2d', 'conv2d', 'depthwise_conv2d', 'RESHAPE', 'fully_connected']

    Raises
    ------
    TfliteError
        The file is missing or corrupt, or holds something qmac cannot run.
    """
    return network_from_tflite(read_tflite(model), name)
