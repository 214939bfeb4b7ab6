"""golden: the NumPy reference model of qmac (pure NumPy; imports no other qmac package).

Quantization and calibration (min/max, percentile, entropy, MSE), multiplier decomposition,
requantization (TFLite double rounding, single rounding and half-up double rounding), the
accumulator-width rule, integer layers with exact accumulators, their float twins, error measures,
the :class:`Layer` record with its ``.npz`` file format, the lowering of a layer onto array jobs
with its K splits (:mod:`golden.lowering`) and the ideal cycle model (:mod:`golden.cycles`, with
the dataflow names); TFLite's integer host ops are in :mod:`golden.hostops`.
The numeric contract is DESIGN.md, "Numeric contract".
"""

from ._check import check_bits
from .accwidth import acc_bits_needed, check_accumulator, max_product, max_safe_k, worst_case_acc
from .cycles import DATAFLOWS
from .error import max_abs_error_lsb, sqnr_db
from .float_layers import conv2d_float, depthwise_conv2d_float, fully_connected_float, matmul_float
from .geometry import (
    ConvGeometry,
    conv_channels,
    conv_geometry,
    conv_output_size,
    im2col,
    normalize_padding,
    reduction_length,
    resolve_padding,
)
from .layer import OPS, RANDOM_LAYER_DIMS, Layer, make_random_layer
from .layerfile import load_layer, save_layer
from .layers import (
    ACCUMULATORS,
    conv2d,
    conv2d_acc,
    depthwise_conv2d,
    depthwise_conv2d_acc,
    fully_connected,
    fully_connected_acc,
    matmul,
    matmul_acc,
    requantize_output,
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
    "requantize_output",
    "ROUNDINGS",
    "DATAFLOWS",
    "check_bits",
    "max_safe_k",
    "max_product",
    "worst_case_acc",
    "acc_bits_needed",
    "check_accumulator",
    "ACCUMULATORS",
    "ConvGeometry",
    "conv_channels",
    "conv_geometry",
    "reduction_length",
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
