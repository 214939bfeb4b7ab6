"""Host ops with TFLite's int8 integer semantics, bit-exact with LiteRT's reference kernels.

The ops that run beside the array, as a CPU would: ADD, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN,
PAD/PADV2, RESHAPE (and flatten), CONCATENATION, SOFTMAX, QUANTIZE and DEQUANTIZE, and the fused
activations as clamps. Each TFLite op has a frozen parameter record built once from the tensors'
float32 scales and zero points (:class:`TensorQuant`) exactly as TFLite's Prepare derives its
integers, and an apply function on int8 values held in int64 ndarrays (NHWC where it matters)::

    p = add_params(TensorQuant(0.05, 3), TensorQuant(0.07, -5), TensorQuant(0.1, -2), "RELU")
    y = add(x1, x2, p)

The ``onnx_*`` modules hold the ONNX ops as onnxruntime's CPU kernels compute them, on int8 or
uint8 values: QuantizeLinear, DequantizeLinear, QLinearAdd and QLinearGlobalAveragePool (float32
requantization, ties to even), MaxPool with ONNX's pads, and Flatten of an NCHW tensor held NHWC.

Pure NumPy, vectorized; the gemmlowp fixed-point pieces are in :mod:`golden.hostops.fixedpoint`.
"""

from .addition import AddParams, add, add_params
from .concatenation import ConcatParams, concatenate, concatenation_params
from .fused_activation import ACTIVATIONS, activation_range
from .multipliers import (
    quantize_multiplier_greater_than_one,
    quantize_multiplier_smaller_than_one_exp,
    quantize_multiplier_tflite,
)
from .onnx_add import QLinearAddParams, qlinear_add, qlinear_add_params
from .onnx_layout import flatten_nchw
from .onnx_pooling import (
    QLinearGlobalAveragePoolParams,
    max_pool_output_size,
    onnx_max_pool,
    qlinear_global_average_pool,
    qlinear_global_average_pool_params,
)
from .onnx_quant import (
    ONNX_QTYPES,
    QLinearQuant,
    dequantize_linear,
    fma_float32,
    quantize_linear,
    requantize_float32,
)
from .padding import PadParams, pad, pad_params
from .pooling import PoolParams, average_pool_2d, max_pool_2d, pool_geometry, pool_params
from .quantization import RequantizeParams, dequantize, quantize, requantize, requantize_params
from .reduction import MeanParams, mean, mean_params
from .reshaping import flatten, reshape
from .softmax_int8 import SoftmaxParams, softmax, softmax_params
from .softmax_lut import softmax_lut
from .tensor_quant import TensorQuant

__all__ = [
    "TensorQuant",
    "ACTIVATIONS",
    "activation_range",
    "AddParams",
    "add_params",
    "add",
    "PoolParams",
    "pool_params",
    "pool_geometry",
    "average_pool_2d",
    "max_pool_2d",
    "MeanParams",
    "mean_params",
    "mean",
    "PadParams",
    "pad_params",
    "pad",
    "reshape",
    "flatten",
    "ConcatParams",
    "concatenation_params",
    "concatenate",
    "SoftmaxParams",
    "softmax_params",
    "softmax",
    "softmax_lut",
    "quantize",
    "RequantizeParams",
    "requantize_params",
    "requantize",
    "dequantize",
    "quantize_multiplier_tflite",
    "quantize_multiplier_smaller_than_one_exp",
    "quantize_multiplier_greater_than_one",
    # ONNX (onnxruntime's kernels; int8 and uint8)
    "ONNX_QTYPES",
    "QLinearQuant",
    "quantize_linear",
    "dequantize_linear",
    "requantize_float32",
    "fma_float32",
    "QLinearAddParams",
    "qlinear_add_params",
    "qlinear_add",
    "QLinearGlobalAveragePoolParams",
    "qlinear_global_average_pool_params",
    "qlinear_global_average_pool",
    "max_pool_output_size",
    "onnx_max_pool",
    "flatten_nchw",
]
