"""Host ops with TFLite's int8 integer semantics, bit-exact with LiteRT's reference kernels.

The ops that run beside the array, as a CPU would: ADD, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN,
PAD/PADV2, RESHAPE (and flatten), CONCATENATION, SOFTMAX, QUANTIZE and DEQUANTIZE, and the fused
activations as clamps. Each op has a frozen parameter record built once from the tensors'
float32 scales and zero points (:class:`TensorQuant`) exactly as TFLite's Prepare derives its
integers, and an apply function on int8 values held in int64 ndarrays (NHWC where it matters)::

    p = add_params(TensorQuant(0.05, 3), TensorQuant(0.07, -5), TensorQuant(0.1, -2), "RELU")
    y = add(x1, x2, p)

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
]
