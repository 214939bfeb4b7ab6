"""Which LiteRT kernels each golden rounding mode matches: one-op int8 conv models, measured.

A case is a random int8 CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED with per-channel weight
scales, as TensorFlow's converter makes them (weights symmetric, axis 0 for conv/FC and 3 for
depthwise; bias int32 of scale ``s_in * s_w[c]``), built with ``litert_one_op.build_model`` and
run on LiteRT's reference kernels, its optimized kernels and XNNPACK. Golden computes the same
layer from the same integers, with the multipliers ``golden.quantize_multiplier(s_in * s_w[c] /
s_out)`` that TFLite derives from the float32 scales (in double), in each rounding mode.

``negative_ties`` counts the outputs whose second rounding step (the shift by ``-shift``) is a
negative tie, the only outputs where ``"tflite"`` and ``"halfup"`` differ, so a table can show
that a case really tells the two apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import golden
from golden.accumulate import conv2d_acc, depthwise_conv2d_acc, fully_connected_acc
from tests.golden.hostops.litert_one_op import Tensor, build_model, run

__all__ = ["Case", "make_case", "agreement", "KINDS"]

#: kind -> (op, random dimensions)
KINDS = {
    "conv2d": "CONV_2D",
    "depthwise_conv2d": "DEPTHWISE_CONV_2D",
    "fully_connected": "FULLY_CONNECTED",
}


@dataclass
class Case:
    """One model and the golden layer with the same integers."""

    kind: str
    model: bytes
    x: np.ndarray
    layer: golden.Layer


def _scales(rng: np.random.Generator, k: int, cout: int):
    s_in = np.float32(rng.uniform(0.005, 0.05))
    s_w = rng.uniform(0.002, 0.02, size=cout).astype(np.float32)
    # outputs spread over the int8 range: |acc| ~ sqrt(K) * 50 * 60
    s_out = np.float32(s_in * float(s_w.mean()) * np.sqrt(k) * 3000 / 60)
    real = (np.float64(s_in) * s_w.astype(np.float64)) / np.float64(s_out)
    return s_in, s_w, s_out, real


def make_case(kind: str, rng: np.random.Generator) -> Case:
    """A random case of ``kind`` (a key of :data:`KINDS`)."""
    x_zp, y_zp = int(rng.integers(-20, 20)), int(rng.integers(-10, 10))
    if kind == "fully_connected":
        batch, fin, fout = int(rng.integers(1, 5)), int(rng.integers(16, 200)), 16
        x = rng.integers(-128, 128, size=(batch, fin))
        w = rng.integers(-127, 128, size=(fout, fin))
        k, cout, w_shape, qdim = fin, fout, (fout, fin), 0
        opts = {}
        in_shape, out_shape = (batch, fin), (batch, fout)
    else:
        h, wd, kh = int(rng.integers(5, 12)), int(rng.integers(5, 12)), 3
        stride = int(rng.integers(1, 3))
        padding = ["SAME", "VALID"][int(rng.integers(0, 2))]
        if kind == "conv2d":
            cin, cout = int(rng.integers(1, 9)), int(rng.integers(1, 17))
            w = rng.integers(-127, 128, size=(cout, kh, kh, cin))
            k, qdim = kh * kh * cin, 0
            opts = {}
        else:
            cin, mult = int(rng.integers(1, 9)), int(rng.integers(1, 3))
            cout = cin * mult
            w = rng.integers(-127, 128, size=(1, kh, kh, cout))
            k, qdim = kh * kh, 3
            opts = {"depthMultiplier": mult}
        x = rng.integers(-128, 128, size=(1, h, wd, cin))
        opts.update(padding=padding, strideH=stride, strideW=stride,
                    dilationHFactor=1, dilationWFactor=1)
        w_shape, in_shape = w.shape, x.shape
    s_in, s_w, s_out, real = _scales(rng, k, cout)
    bias = rng.integers(-20000, 20000, size=cout)
    m0, shift = golden.quantize_multiplier(real, 32)
    geometry = {} if kind == "fully_connected" else dict(stride=(stride, stride), padding=padding)
    layer = golden.Layer(kind, x, w, bias, m0, shift, x_zp=x_zp, y_zp=y_zp, **geometry)
    if kind != "fully_connected":
        out_shape = layer.output_shape
    inputs = [
        Tensor(tuple(in_shape), "int8", float(s_in), x_zp),
        Tensor(tuple(w_shape), "int8", s_w, 0, data=w, quantized_dimension=qdim),
        Tensor((cout,), "int32", (np.float64(s_in) * s_w).astype(np.float32), 0,
               data=bias),
    ]
    output = Tensor(tuple(out_shape), "int8", float(s_out), y_zp)
    model = build_model(KINDS[kind], inputs, [output], {"fusedActivationFunction": "NONE", **opts})
    return Case(kind, model, x, layer)


def _accumulators(layer: golden.Layer) -> np.ndarray:
    acc = {"conv2d": conv2d_acc, "depthwise_conv2d": depthwise_conv2d_acc,
           "fully_connected": fully_connected_acc}[layer.op]
    geometry = {} if layer.op == "fully_connected" else dict(
        stride=layer.stride, padding=layer.padding, dilation=layer.dilation)
    return acc(layer.x, layer.w, layer.bias, x_zp=layer.x_zp, **geometry)


def negative_ties(layer: golden.Layer) -> int:
    """Outputs whose second rounding step is a negative tie ("tflite" and "halfup" differ)."""
    acc = _accumulators(layer).astype(object)
    left = np.maximum(layer.shift, 0).astype(object)
    right = np.maximum(-layer.shift, 0).astype(object)
    high = ((acc << left) * layer.m0.astype(object) + (1 << 30)) >> 31
    tie = (right > 0) & (high < 0) & (high % (1 << right) == (1 << np.maximum(right - 1, 0)))
    return int(np.count_nonzero(tie))


def agreement(case: Case, resolver: str) -> dict[str, tuple[int, int]]:
    """Per rounding mode: (outputs that differ from LiteRT's ``resolver`` kernels, max |diff|)."""
    (got,) = run(case.model, [case.x], resolver)
    got = got.astype(np.int64)
    result = {}
    for rounding in golden.ROUNDINGS:
        want = case.layer.output(rounding=rounding)
        diff = np.abs(want.reshape(got.shape) - got)
        result[rounding] = (int(np.count_nonzero(diff)), int(diff.max()) if diff.size else 0)
    return result
