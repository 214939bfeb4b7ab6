"""Small float ONNX graphs built with onnx.helper and quantized by onnxruntime's quantize_static,
for the importer tests (no PyTorch needed): the shapes of the shipped examples in miniature.

- ``cnn``: Conv 3x3 + Relu, Conv stride 2 + Relu, depthwise Conv + Clip(0, 6), Flatten, Gemm
  (the digits CNN's structure).
- ``res``: Conv + Relu, MaxPool, a residual block (Conv + Relu, Conv, Add, Relu),
  GlobalAveragePool, Flatten, Gemm.
- ``mlp``: Flatten, Gemm (transB=0) + Relu, MatMul without bias.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["ARCHS", "INPUT_HW", "float_model", "quantized_model", "calibration_images"]

INPUT_HW = {"cnn": 8, "res": 12, "mlp": 6}
ARCHS = tuple(INPUT_HW)


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: list = []

    def const(self, name: str, value) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], out: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{op}_{out}", **attrs))
        return out

    def conv(self, x: str, out: str, cin: int, cout: int, k: int, stride: int = 1,
             group: int = 1, pad: int | None = None) -> str:
        fan_in = cin // group * k * k
        w = self.rng.normal(0, 1.0 / np.sqrt(fan_in), (cout, cin // group, k, k))
        b = self.rng.normal(0, 0.05, cout)
        p = k // 2 if pad is None else pad
        return self.node("Conv", [x, self.const(out + ".w", w), self.const(out + ".b", b)], out,
                         kernel_shape=[k, k], strides=[stride, stride], pads=[p] * 4, group=group)

    def gemm(self, x: str, out: str, k: int, n: int, trans_b: int = 1, bias: bool = True) -> str:
        w = self.rng.normal(0, 1.0 / np.sqrt(k), (n, k) if trans_b else (k, n))
        ins = [x, self.const(out + ".w", w)]
        if bias:
            ins.append(self.const(out + ".b", self.rng.normal(0, 0.05, n)))
        return self.node("Gemm", ins, out, transB=trans_b)

    def model(self, name: str, in_shape: list[int], out: str, n_out: int) -> onnx.ModelProto:
        g = helper.make_graph(
            self.nodes, name, [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                             in_shape)],
            [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, n_out])],
            initializer=self.inits,
        )
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m


def float_model(arch: str, seed: int = 0) -> onnx.ModelProto:
    """The float graph ``arch`` (see the module docstring), input ``image`` (1, 1, H, W)."""
    b = _Builder(seed)
    hw = INPUT_HW[arch]
    if arch == "cnn":
        x = b.node("Relu", [b.conv("image", "c1", 1, 8, 3)], "r1")
        x = b.node("Relu", [b.conv(x, "c2", 8, 16, 3, stride=2)], "r2")
        x = b.conv(x, "c3", 16, 16, 3, group=16)
        x = b.node("Clip", [x, b.const("lo", 0.0), b.const("hi", 6.0)], "r3")
        x = b.node("Flatten", [x], "flat", axis=1)
        return b.model(arch, [1, 1, hw, hw], b.gemm(x, "logits", 16 * (hw // 2) ** 2, 10),
                       10)
    if arch == "res":
        x = b.node("Relu", [b.conv("image", "c0", 1, 8, 3)], "r0")
        p = b.node("MaxPool", [x], "p0", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
        x = b.node("Relu", [b.conv(p, "c1", 8, 8, 3)], "r1")
        x = b.node("Add", [b.conv(x, "c2", 8, 8, 3), p], "sum")
        x = b.node("Relu", [x], "r2")
        x = b.node("GlobalAveragePool", [x], "gap")
        x = b.node("Flatten", [x], "flat", axis=1)
        return b.model(arch, [1, 1, hw, hw], b.gemm(x, "logits", 8, 10), 10)
    if arch == "mlp":
        x = b.node("Flatten", ["image"], "flat", axis=1)
        x = b.node("Relu", [b.gemm(x, "h1", hw * hw, 24, trans_b=0)], "r1")
        w = b.const("h2.w", b.rng.normal(0, 0.2, (24, 10)))
        return b.model(arch, [1, 1, hw, hw], b.node("MatMul", [x, w], "logits"), 10)
    raise ValueError(f"arch must be one of {ARCHS}, not {arch!r}")


def calibration_images(arch: str, n: int = 24, seed: int = 1) -> np.ndarray:
    """(n, 1, H, W) float32 in [0, 1): smooth random blobs, digit-like in range."""
    rng = np.random.default_rng(seed)
    hw = INPUT_HW[arch]
    x = rng.random((n, 1, hw, hw))
    return np.clip(x * x * 1.2, 0, 1).astype(np.float32)


class _Reader:
    def __init__(self, images: np.ndarray) -> None:
        self._it = iter(images)

    def get_next(self):
        img = next(self._it, None)
        return None if img is None else {"image": img[None]}


def quantized_model(tmp: Path, arch: str, fmt: str = "QDQ", act: str = "int8",
                    per_channel: bool = True, weight: str = "int8", seed: int = 0) -> Path:
    """``arch`` quantized by onnxruntime's ``quantize_static`` (MinMax); returns the file."""
    from onnxruntime import quantization as q

    tmp = Path(tmp)
    src = tmp / f"{arch}_{seed}_f32.onnx"
    if not src.exists():
        onnx.save(float_model(arch, seed), str(src))
    out = tmp / f"{arch}_{seed}_{fmt}_{act}_{'pc' if per_channel else 'pt'}_{weight}.onnx"
    if out.exists():
        return out
    qtype = {"int8": q.QuantType.QInt8, "uint8": q.QuantType.QUInt8}
    q.quantize_static(
        str(src), str(out), _Reader(calibration_images(arch)),
        quant_format=getattr(q.QuantFormat, fmt), per_channel=per_channel,
        activation_type=qtype[act], weight_type=qtype[weight],
        calibrate_method=q.CalibrationMethod.MinMax,
    )
    return out
