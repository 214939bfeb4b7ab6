"""Build one-op .tflite models in memory from LiteRT's flatbuffer schema, and run them.

The schema is ``ai_edge_litert.schema_py_generated`` (the object API: ``ModelT``, ``TensorT``,
``OperatorT``...), packed with ``flatbuffers``. A model holds a single operator whose non-constant
inputs are the graph inputs; constant inputs (axes, paddings, PADV2's value) get a buffer.
``run`` executes it on one of three LiteRT kernel sets:

- ``"ref"``: ``OpResolverType.BUILTIN_REF``, the reference kernels;
- ``"opt"``: ``OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES``, the optimized kernels;
- ``"xnnpack"``: the default interpreter, which applies the XNNPACK delegate where it can.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter, OpResolverType

__all__ = ["Tensor", "build_model", "run", "run_one", "RESOLVERS", "ACTIVATION_CODES"]

RESOLVERS = {
    "ref": OpResolverType.BUILTIN_REF,
    "opt": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    "xnnpack": OpResolverType.AUTO,
}

_TYPES = {
    "int8": (schema.TensorType.INT8, np.int8),
    "uint8": (schema.TensorType.UINT8, np.uint8),
    "int16": (schema.TensorType.INT16, np.int16),
    "int32": (schema.TensorType.INT32, np.int32),
    "float32": (schema.TensorType.FLOAT32, np.float32),
}

ACTIVATION_CODES = {
    "NONE": schema.ActivationFunctionType.NONE,
    "RELU": schema.ActivationFunctionType.RELU,
    "RELU_N1_TO_1": schema.ActivationFunctionType.RELU_N1_TO_1,
    "RELU6": schema.ActivationFunctionType.RELU6,
    "TANH": schema.ActivationFunctionType.TANH,
}

# op name -> (BuiltinOperator, BuiltinOptions union tag, options class or None)
_OPS = {
    "ADD": ("ADD", "AddOptions", schema.AddOptionsT),
    "AVERAGE_POOL_2D": ("AVERAGE_POOL_2D", "Pool2DOptions", schema.Pool2DOptionsT),
    "MAX_POOL_2D": ("MAX_POOL_2D", "Pool2DOptions", schema.Pool2DOptionsT),
    "MEAN": ("MEAN", "ReducerOptions", schema.ReducerOptionsT),
    "PAD": ("PAD", "PadOptions", schema.PadOptionsT),
    "PADV2": ("PADV2", "PadV2Options", schema.PadV2OptionsT),
    "RESHAPE": ("RESHAPE", "ReshapeOptions", schema.ReshapeOptionsT),
    "CONCATENATION": ("CONCATENATION", "ConcatenationOptions", schema.ConcatenationOptionsT),
    "SOFTMAX": ("SOFTMAX", "SoftmaxOptions", schema.SoftmaxOptionsT),
    "QUANTIZE": ("QUANTIZE", "QuantizeOptions", schema.QuantizeOptionsT),
    "DEQUANTIZE": ("DEQUANTIZE", "DequantizeOptions", schema.DequantizeOptionsT),
    # the array ops, for the rounding agreement of tests/golden/test_litert_rounding.py
    "CONV_2D": ("CONV_2D", "Conv2DOptions", schema.Conv2DOptionsT),
    "DEPTHWISE_CONV_2D": (
        "DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions", schema.DepthwiseConv2DOptionsT
    ),
    "FULLY_CONNECTED": ("FULLY_CONNECTED", "FullyConnectedOptions", schema.FullyConnectedOptionsT),
}

#: Operator versions where version 1 lacks int8 per-channel quantization.
_VERSIONS = {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 4}


@dataclass
class Tensor:
    """One tensor of the model: shape, element type, quantization, constant data.

    ``scale`` is a float (per tensor) or a sequence (per channel along ``quantized_dimension``,
    with zero points 0 unless ``zero_point`` is a sequence too).
    """

    shape: tuple[int, ...]
    dtype: str = "int8"
    scale: object = None
    zero_point: object = None
    data: np.ndarray | None = field(default=None, repr=False)
    quantized_dimension: int = 0


def _options(op: str, options: dict) -> tuple[int, object]:
    _, tag, cls = _OPS[op]
    obj = cls()
    for key, value in options.items():
        if key == "fusedActivationFunction" and isinstance(value, str):
            value = ACTIVATION_CODES[value]
        if key == "padding" and isinstance(value, str):
            value = getattr(schema.Padding, value)
        if not hasattr(obj, key):
            raise KeyError(f"{cls.__name__} has no field {key!r}")
        setattr(obj, key, value)
    return getattr(schema.BuiltinOptions, tag), obj


def build_model(
    op: str, inputs: list[Tensor], outputs: list[Tensor], options: dict | None = None
) -> bytes:
    """A .tflite flatbuffer with one ``op`` node from ``inputs`` to ``outputs``."""
    code = getattr(schema.BuiltinOperator, _OPS[op][0])
    opcode = schema.OperatorCodeT()
    opcode.builtinCode = code
    opcode.deprecatedBuiltinCode = min(code, 127)
    opcode.version = _VERSIONS.get(op, 1)
    buffers = [schema.BufferT()]  # buffer 0 is the empty sentinel
    tensors = []
    for i, spec in enumerate([*inputs, *outputs]):
        t = schema.TensorT()
        t.shape = [int(d) for d in spec.shape]
        t.type = _TYPES[spec.dtype][0]
        t.name = f"t{i}".encode()
        if spec.scale is not None:
            q = schema.QuantizationParametersT()
            scales = np.atleast_1d(np.asarray(spec.scale, dtype=np.float32))
            zps = np.broadcast_to(np.asarray(spec.zero_point or 0, dtype=np.int64), scales.shape)
            q.scale = [float(v) for v in scales]
            q.zeroPoint = [int(v) for v in zps]
            q.quantizedDimension = int(spec.quantized_dimension)
            t.quantization = q
        if spec.data is not None:
            buf = schema.BufferT()
            arr = np.ascontiguousarray(spec.data, dtype=_TYPES[spec.dtype][1])
            buf.data = list(arr.tobytes())
            buffers.append(buf)
            t.buffer = len(buffers) - 1
        tensors.append(t)
    n_in = len(inputs)
    node = schema.OperatorT()
    node.opcodeIndex = 0
    node.inputs = list(range(n_in))
    node.outputs = list(range(n_in, n_in + len(outputs)))
    node.builtinOptionsType, node.builtinOptions = _options(op, options or {})
    sub = schema.SubGraphT()
    sub.tensors = tensors
    sub.inputs = [i for i, spec in enumerate(inputs) if spec.data is None]
    sub.outputs = node.outputs
    sub.operators = [node]
    model = schema.ModelT()
    model.version = 3
    model.operatorCodes = [opcode]
    model.subgraphs = [sub]
    model.buffers = buffers
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def run(model: bytes, feeds: list[np.ndarray], resolver: str = "ref") -> list[np.ndarray]:
    """Run ``model`` once on ``feeds`` (one array per graph input) with a LiteRT kernel set."""
    interp = Interpreter(model_content=model, experimental_op_resolver_type=RESOLVERS[resolver])
    interp.allocate_tensors()
    for detail, value in zip(interp.get_input_details(), feeds, strict=True):
        interp.set_tensor(detail["index"], np.ascontiguousarray(value, dtype=detail["dtype"]))
    interp.invoke()
    return [interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()]


def run_one(
    op: str,
    inputs: list[Tensor],
    output: Tensor,
    feeds: list[np.ndarray],
    options: dict | None = None,
    resolver: str = "ref",
) -> np.ndarray:
    """Build and run a one-output model; the output as int64 (or float32 for float outputs)."""
    (out,) = run(build_model(op, inputs, [output], options), feeds, resolver)
    return out if out.dtype == np.float32 else out.astype(np.int64)
