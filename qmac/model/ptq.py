"""Post-training quantization of the digits CNN, and integer inference of the quantized network.

Quantization follows the numeric contract of DESIGN.md (the network is in ``qmac.model.digits``):
per-channel symmetric weights, asymmetric per-tensor activations calibrated on the calibration
split, int bias with scale S_in * S_w[c], ReLU fused as the clamp, (m0, shift) from
``golden.quantize_multiplier``. Every quantized layer becomes a ``golden.Layer``, so the same
object runs through the golden model or the RTL (``sim.run_layer``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import golden
from golden.affine import round_half_away
from qmac.model.digits import (
    ARCH,
    FloatCNN,
    LayerSpec,
    float_forward,
    load_digits_data,
    load_float_cnn,
)
from qmac.model.network import ArrayOp, Network, TensorSpec
from qmac.model.quantizers import DEFAULT_GRID, WEIGHT_METHODS, quantize_weights, weight_scale
from qmac.model.quantizers import act_qparams as act_qparams_of_range

__all__ = [
    "QuantLayer",
    "QuantCNN",
    "Runner",
    "assemble_cnn",
    "check_calibration",
    "quantize_cnn",
    "quantized_digits_cnn",
]


@dataclass(frozen=True)
class QuantLayer:
    """One quantized layer: integer tensors, zero points and the scales they came from.

    ``w`` int64 in ``spec.w_shape``; ``bias``, ``m0`` (Q31, mult_bits=32 form), ``shift`` int64
    (cout,); ``x_scale``/``y_scale`` floats (per tensor); ``w_scale`` float64 (cout,).
    """

    spec: LayerSpec
    w: np.ndarray
    bias: np.ndarray
    m0: np.ndarray
    shift: np.ndarray
    x_zp: int
    y_zp: int
    act_min: int
    act_max: int
    x_scale: float
    w_scale: np.ndarray
    y_scale: float
    a_bits: int
    w_bits: int
    out_bits: int

    def array_op(self, input: str = "x", output: str | None = None) -> ArrayOp:
        """This layer as a network op reading tensor ``input`` (SAME padding; fc flattens)."""
        s = self.spec
        return ArrayOp(
            name=s.name, op=s.op, input=input, output=output or s.name, w=self.w, bias=self.bias,
            m0=self.m0, shift=self.shift, x_zp=self.x_zp, y_zp=self.y_zp, act_min=self.act_min,
            act_max=self.act_max, stride=(s.stride, s.stride),
            padding="VALID" if s.op == "fully_connected" else "SAME",
            a_bits=self.a_bits, w_bits=self.w_bits, out_bits=self.out_bits,
        )

    def to_layer(self, x: np.ndarray) -> golden.Layer:
        """The ``golden.Layer`` applying this layer to integer ``x`` (NHWC; flattened for fc)."""
        return self.array_op().layer(x)

    @property
    def k(self) -> int:
        """Reduction length: products summed into one accumulator."""
        return golden.reduction_length(self.spec.op, self.spec.w_shape)

    @property
    def multiplier(self) -> np.ndarray:
        """Real multiplier S_x * S_w[c] / S_y, float64 (cout,)."""
        return self.x_scale * self.w_scale / self.y_scale


Runner = Callable[["golden.Layer"], np.ndarray]


@dataclass(frozen=True)
class QuantCNN:
    """The quantized network: input quantization plus one ``QuantLayer`` per ``ARCH`` entry."""

    input_scale: float
    input_zp: int
    layers: tuple[QuantLayer, ...]
    a_bits: int
    w_bits: int
    out_bits: int

    def quantize_input(self, images: np.ndarray) -> np.ndarray:
        """(N, 8, 8, 1) float pixels in [0, 1] -> int64 NHWC at ``a_bits``."""
        return golden.quantize(
            np.asarray(images, dtype=np.float64),
            self.input_scale,
            self.input_zp,
            self.layers[0].a_bits,
        )

    def forward(
        self,
        x_q: np.ndarray,
        *,
        runner: Runner | None = None,
        rounding: str = "tflite",
        mult_bits: int = 32,
        all_layers: bool = False,
    ):
        """Integer inference.

        Parameters
        ----------
        x_q : (N, 8, 8, 1) int64 array, from ``quantize_input``
        runner : callable, optional
            ``runner(layer: golden.Layer) -> int64 array`` in the layer's output layout. Default:
            the golden model, ``layer.output(rounding=rounding, mult_bits=mult_bits)``. The demo
            passes the RTL (``sim.run_layer``) instead.

        Returns
        -------
        (N, 10) int64 logits, or the list of every layer's output if ``all_layers``.
        """
        if runner is None:

            def runner(layer: golden.Layer) -> np.ndarray:
                return layer.output(rounding=rounding, mult_bits=mult_bits)

        x, outs = np.asarray(x_q, dtype=np.int64), []
        for ql in self.layers:
            x = np.asarray(runner(ql.to_layer(x)), dtype=np.int64)
            outs.append(x)
        return outs if all_layers else x

    @property
    def logits_scale(self) -> float:
        return self.layers[-1].y_scale

    @property
    def logits_zp(self) -> int:
        return self.layers[-1].y_zp

    def to_network(self, name: str = "digits_cnn") -> Network:
        """The network as a :class:`~qmac.model.network.Network`: input, then one array op per
        layer (fc4 flattens its NHWC input), each writing a tensor named after the layer."""
        tensors = [TensorSpec("input", (1, 8, 8, 1), "int8", self.input_scale, self.input_zp)]
        ops, x = [], "input"
        shape = (1, 8, 8, 1)
        for ql in self.layers:
            s = ql.spec
            if s.op == "fully_connected":
                shape = (1, s.cout)
            else:
                shape = (1, -(-shape[1] // s.stride), -(-shape[2] // s.stride), s.cout)
            tensors.append(TensorSpec(s.name, shape, "int8", ql.y_scale, ql.y_zp))
            ops.append(ql.array_op(x))
            x = s.name
        return Network(name, tensors, ops, ["input"], [x], source="qmac")

    def dequantize_logits(self, q: np.ndarray) -> np.ndarray:
        """Integer logits -> float64 logits (``(q - Z) * S``)."""
        return golden.dequantize(q, self.logits_scale, self.logits_zp)

    def acc_bits_needed(self) -> int:
        """Smallest acc_bits for which no layer's accumulator (bias included) can overflow."""
        return max(
            golden.acc_bits_needed(
                ql.k, a_bits=ql.a_bits, w_bits=ql.w_bits, max_abs_bias=int(np.abs(ql.bias).max())
            )
            for ql in self.layers
        )


def _widths(
    n_layers: int, a_bits: int, w_bits: int, out_bits: int | None, tensor_bits, layer_w_bits
) -> tuple[list[int], list[int]]:
    """Activation widths per tensor (input, each layer's output) and weight widths per layer."""
    a_bits, w_bits = golden.check_bits("a_bits", a_bits), golden.check_bits("w_bits", w_bits)
    out_bits = a_bits if out_bits is None else golden.check_bits("out_bits", out_bits)
    if tensor_bits is None:
        tb = [a_bits] * n_layers + [out_bits]
    else:
        if len(tensor_bits) != n_layers + 1:
            raise ValueError(
                f"tensor_bits must have {n_layers + 1} entries (input and each layer's output), "
                f"not {len(tensor_bits)}"
            )
        tb = [golden.check_bits("tensor_bits", b) for b in tensor_bits]
    if layer_w_bits is None:
        wb = [w_bits] * n_layers
    else:
        if len(layer_w_bits) != n_layers:
            raise ValueError(f"layer_w_bits must have {n_layers} entries, not {len(layer_w_bits)}")
        wb = [golden.check_bits("layer_w_bits", b) for b in layer_w_bits]
    return tb, wb


def check_calibration(
    calib_images: np.ndarray, method: str, percentile: float, bits: int
) -> np.ndarray:
    """``calib_images`` as float64 (N, 8, 8, 1), N >= 1, after checking ``method`` and
    ``percentile`` with golden's own rules (errors name the parameter)."""
    golden.choose_qparams(np.array([0.0, 1.0]), bits, method=method, percentile=percentile)
    x = np.asarray(calib_images, dtype=np.float64)
    if x.ndim != 4 or x.shape[1:] != (8, 8, 1):
        raise ValueError(f"calib_images must have shape (N, 8, 8, 1), not {x.shape}")
    if len(x) == 0:
        raise ValueError("calib_images must hold at least one image (the calibration set is empty)")
    return x


def assemble_cnn(
    model: FloatCNN,
    act_qparams: list[tuple[float, int]],
    *,
    tensor_bits: list[int],
    layer_w_bits: list[int],
    w_method: str = "minmax",
    w_grid: int = DEFAULT_GRID,
    a_bits: int | None = None,
    w_bits: int | None = None,
) -> QuantCNN:
    """The integer network of ``model`` for given activation parameters (PTQ's and QAT's export).

    Parameters
    ----------
    act_qparams : list of (scale, zero_point)
        One per layer output, at ``tensor_bits[i + 1]`` (the input's is fixed: [0, 1]).
    tensor_bits : list of int
        Widths of the input and of every layer's output (len(ARCH) + 1).
    layer_w_bits : list of int
        Weight width per layer.
    w_method : {"minmax", "mse"}
        Per-channel weight scale (``qmac.model.quantizers.weight_scale``); codes are clamped to
        ``±(2^(b-1) - 1)``; ``w_grid`` candidates for ``"mse"``.
    """
    in_scale, in_zp = act_qparams_of_range(0.0, 1.0, tensor_bits[0])
    x_scale, x_zp, layers = in_scale, in_zp, []
    for i, spec in enumerate(ARCH):
        bits_x, bits_y, bits_w = tensor_bits[i], tensor_bits[i + 1], layer_w_bits[i]
        w = model.weights[spec.name]
        w_scale = weight_scale(w, bits_w, spec.channel_axis, w_method, w_grid)
        w_q = quantize_weights(w, w_scale, bits_w, spec.channel_axis)
        bias_q = round_half_away(model.biases[spec.name] / (x_scale * w_scale))
        y_scale, y_zp = act_qparams[i]
        m0, shift = golden.quantize_multiplier(x_scale * w_scale / y_scale, 32)
        qmin, qmax = -(1 << (bits_y - 1)), (1 << (bits_y - 1)) - 1
        layers.append(
            QuantLayer(
                spec=spec,
                w=np.asarray(w_q, dtype=np.int64),
                bias=bias_q.astype(np.int64),
                m0=np.asarray(m0, dtype=np.int64).reshape(spec.cout),
                shift=np.asarray(shift, dtype=np.int64).reshape(spec.cout),
                x_zp=x_zp,
                y_zp=y_zp,
                act_min=y_zp if spec.relu else qmin,
                act_max=qmax,
                x_scale=x_scale,
                w_scale=w_scale,
                y_scale=y_scale,
                a_bits=bits_x,
                w_bits=bits_w,
                out_bits=bits_y,
            )
        )
        x_scale, x_zp = y_scale, y_zp
    a_nom = tensor_bits[0] if a_bits is None else a_bits
    w_nom = layer_w_bits[0] if w_bits is None else w_bits
    return QuantCNN(in_scale, in_zp, tuple(layers), a_nom, w_nom, tensor_bits[-1])


def quantize_cnn(
    model: FloatCNN,
    calib_images: np.ndarray,
    *,
    a_bits: int = 8,
    w_bits: int = 8,
    out_bits: int | None = None,
    method: str = "minmax",
    percentile: float = 99.99,
    w_method: str = "minmax",
    tensor_bits: list[int] | None = None,
    layer_w_bits: list[int] | None = None,
) -> QuantCNN:
    """Post-training quantization of ``model`` calibrated on ``calib_images``.

    Parameters
    ----------
    calib_images : (N, 8, 8, 1) float array in [0, 1], N >= 1
        Activation ranges are the float network's outputs on these images (``method`` of
        ``golden.choose_qparams``); the input range is fixed to [0, 1].
    a_bits, w_bits : int
        Activation and weight widths, 2..16. Inner layers output ``a_bits`` (they feed the next).
    out_bits : int, optional
        Width of the logits (default ``a_bits``).
    method : {"minmax", "percentile", "entropy", "mse"}
        Activation calibration (``golden.CALIBRATION_METHODS``); ``percentile`` for
        ``"percentile"``.
    w_method : {"minmax", "mse"}
        Weight scales (default min/max, DESIGN.md's rule).
    tensor_bits, layer_w_bits : list of int, optional
        Mixed widths: the input's and each layer output's width (len(ARCH) + 1 entries), each
        layer's weight width (len(ARCH)); they override ``a_bits``/``out_bits`` and ``w_bits``.

    Raises
    ------
    TypeError, ValueError
        A width outside 2..16, an unknown ``method``/``w_method``, a ``percentile`` outside its
        range, an empty or misshapen ``calib_images`` (before any work).
    """
    tb, wb = _widths(len(ARCH), a_bits, w_bits, out_bits, tensor_bits, layer_w_bits)
    images = check_calibration(calib_images, method, percentile, tb[0])
    if not isinstance(w_method, str) or w_method not in WEIGHT_METHODS:
        raise ValueError(f"w_method must be one of {', '.join(WEIGHT_METHODS)}, not {w_method!r}")
    floats = float_forward(model, images, all_layers=True)
    act = []
    for i in range(len(ARCH)):
        qp = golden.choose_qparams(
            floats[i], tb[i + 1], symmetric=False, method=method, percentile=percentile
        )
        act.append((float(qp.scale), int(qp.zero_point)))
    return assemble_cnn(
        model, act, tensor_bits=tb, layer_w_bits=wb, w_method=w_method, a_bits=a_bits,
        w_bits=w_bits,
    )


@functools.lru_cache(maxsize=64)
def quantized_digits_cnn(
    a_bits: int = 8,
    w_bits: int = 8,
    out_bits: int | None = None,
    method: str = "minmax",
    w_method: str = "minmax",
) -> QuantCNN:
    """The shipped network quantized on the shipped calibration split (cached)."""
    data = load_digits_data()
    return quantize_cnn(
        load_float_cnn(),
        data.images[data.calib],
        a_bits=a_bits,
        w_bits=w_bits,
        out_bits=out_bits,
        method=method,
        w_method=w_method,
    )
