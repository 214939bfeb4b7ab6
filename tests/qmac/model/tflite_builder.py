"""Build small multi-op .tflite models in a test from LiteRT's flatbuffer schema (object API).

``ModelBuilder`` adds tensors (shape, dtype, per-tensor or per-channel quantization, constant
data) and operators (a builtin name and its options as keyword arguments of the schema's
``<Options>T`` class), then packs a ``TFL3`` flatbuffer. Used for the importer's unit tests
(geometry, options, every op against LiteRT or TFLite Micro) and for the bad-input models.
"""

from __future__ import annotations

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

__all__ = ["ModelBuilder", "NUMPY_TYPES"]

NUMPY_TYPES = {
    "int8": (schema.TensorType.INT8, np.int8),
    "uint8": (schema.TensorType.UINT8, np.uint8),
    "int16": (schema.TensorType.INT16, np.int16),
    "int32": (schema.TensorType.INT32, np.int32),
    "int64": (schema.TensorType.INT64, np.int64),
    "float32": (schema.TensorType.FLOAT32, np.float32),
}

# op -> options union tag (None: the op takes no options)
_OPTIONS = {
    "CONV_2D": "Conv2DOptions",
    "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions",
    "ADD": "AddOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions",
    "MEAN": "ReducerOptions",
    "PAD": "PadOptions",
    "PADV2": "PadV2Options",
    "RESHAPE": "ReshapeOptions",
    "CONCATENATION": "ConcatenationOptions",
    "SOFTMAX": "SoftmaxOptions",
    "QUANTIZE": "QuantizeOptions",
    "DEQUANTIZE": "DequantizeOptions",
    "TANH": None,
    "LOGISTIC": None,
    "MUL": "MulOptions",
}
_ENUMS = {"fusedActivationFunction": schema.ActivationFunctionType, "padding": schema.Padding}


class ModelBuilder:
    """Accumulates tensors and ops of one subgraph; :meth:`build` packs the model."""

    def __init__(self) -> None:
        self.tensors: list = []
        self.buffers = [schema.BufferT()]  # buffer 0: the empty sentinel
        self.ops: list = []
        self.codes: list[str] = []

    def tensor(self, shape, dtype: str = "int8", scale=None, zero_point=0, data=None,
               axis: int = 0, name: str | None = None) -> int:
        """Add a tensor; ``scale`` a float (per tensor) or a sequence (per channel of ``axis``)."""
        t = schema.TensorT()
        t.shape = [int(d) for d in shape]
        t.type = NUMPY_TYPES[dtype][0]
        t.name = (name or f"t{len(self.tensors)}").encode()
        if scale is not None:
            q = schema.QuantizationParametersT()
            scales = np.atleast_1d(np.asarray(scale, np.float32))
            q.scale = [float(s) for s in scales]
            zps = np.broadcast_to(np.asarray(zero_point, np.int64), scales.shape)
            q.zeroPoint = [int(z) for z in zps]
            q.quantizedDimension = axis
            t.quantization = q
        if data is not None:
            buf = schema.BufferT()
            arr = np.ascontiguousarray(np.asarray(data).reshape(shape), NUMPY_TYPES[dtype][1])
            buf.data = np.frombuffer(arr.tobytes(), np.uint8).copy()
            self.buffers.append(buf)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, name: str, inputs, outputs, **options) -> None:
        """Add operator ``name`` (a BuiltinOperator) with the schema's option fields."""
        if name not in self.codes:
            self.codes.append(name)
        node = schema.OperatorT()
        node.opcodeIndex = self.codes.index(name)
        node.inputs = [int(i) for i in inputs]
        node.outputs = [int(i) for i in outputs]
        tag = _OPTIONS[name]
        if tag is not None:
            obj = getattr(schema, tag + "T")()
            for key, value in options.items():
                if key in _ENUMS and isinstance(value, str):
                    value = getattr(_ENUMS[key], value)
                if not hasattr(obj, key):
                    raise KeyError(f"{tag} has no field {key!r}")
                setattr(obj, key, value)
            node.builtinOptionsType = getattr(schema.BuiltinOptions, tag)
            node.builtinOptions = obj
        self.ops.append(node)

    def build(self, inputs, outputs) -> bytes:
        codes = []
        for name in self.codes:
            oc = schema.OperatorCodeT()
            code = getattr(schema.BuiltinOperator, name)
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = 1
            codes.append(oc)
        sg = schema.SubGraphT()
        sg.tensors = self.tensors
        sg.inputs = [int(i) for i in inputs]
        sg.outputs = [int(i) for i in outputs]
        sg.operators = self.ops
        model = schema.ModelT()
        model.version = 3
        model.operatorCodes = codes
        model.subgraphs = [sg]
        model.buffers = self.buffers
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())
