"""golden: the NumPy reference model of qmac (pure NumPy; imports no other qmac package).

Quantization and calibration (min/max, percentile, entropy, MSE), multiplier decomposition,
requantization (TFLite double rounding and single rounding), the accumulator-width rule, integer
layers with exact accumulators, their float twins, error measures, and the :class:`Layer` record
with its ``.npz`` file format.
The numeric contract is DESIGN.md, "Numeric contract".
"""

from .accwidth import check_accumulator, max_product, max_safe_k
from .error import max_abs_error_lsb, sqnr_db
from .float_layers import conv2d_float, depthwise_conv2d_float, fully_connected_float, matmul_float
from .geometry import conv_output_size, im2col, normalize_padding, resolve_padding
from .layer import OPS, RANDOM_LAYER_DIMS, Layer, make_random_layer
from .layerfile import load_layer, save_layer
from .layers import (
    conv2d,
    conv2d_acc,
    depthwise_conv2d,
    depthwise_conv2d_acc,
    fully_connected,
    fully_connected_acc,
    matmul,
    matmul_acc,
)
from .multiplier import quantize_multiplier, reduce_multiplier
from .quant import METHODS as CALIBRATION_METHODS
from .quant import QuantParams, choose_qparams, dequantize, quantize
from .requant import ROUNDINGS, requantize

__all__ = [
    "quantize",
    "dequantize",
    "QuantParams",
    "choose_qparams",
    "CALIBRATION_METHODS",
    "quantize_multiplier",
    "reduce_multiplier",
    "requantize",
    "ROUNDINGS",
    "max_safe_k",
    "max_product",
    "check_accumulator",
    "im2col",
    "conv_output_size",
    "resolve_padding",
    "normalize_padding",
    "matmul_acc",
    "matmul",
    "fully_connected_acc",
    "fully_connected",
    "conv2d_acc",
    "conv2d",
    "depthwise_conv2d_acc",
    "depthwise_conv2d",
    "matmul_float",
    "fully_connected_float",
    "conv2d_float",
    "depthwise_conv2d_float",
    "sqnr_db",
    "max_abs_error_lsb",
    "Layer",
    "OPS", "RANDOM_LAYER_DIMS",
    "make_random_layer",
    "save_layer",
    "load_layer",
]
