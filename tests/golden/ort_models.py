"""onnxruntime oracles for the golden tests and benchmark: tiny ONNX models built with onnx.helper.

Layouts are converted here: ONNX convolutions are NCHW with OIHW weights, the golden model is NHWC
with OHWI weights.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

__all__ = ["session", "matmul_integer", "conv_integer", "qlinear_conv", "qlinear_matmul", "OPSET"]

OPSET = 13


def session(model: onnx.ModelProto, threads: int = 1) -> ort.InferenceSession:
    """A CPU session with ``threads`` intra-op threads."""
    onnx.checker.check_model(model)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _model(nodes: list, inputs: list, outputs: list, inits: list) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model


def _int8(name: str, a: np.ndarray) -> onnx.TensorProto:
    return helper.make_tensor(
        name, TensorProto.INT8, a.shape, np.asarray(a, np.int8).ravel().tolist()
    )


def matmul_integer(x: np.ndarray, w: np.ndarray, x_zp: int) -> np.ndarray:
    """MatMulInteger int8 x int8 -> int32 of (x - x_zp) @ w, x (M, K), w (K, N)."""
    m, k = x.shape
    n = w.shape[1]
    node = helper.make_node("MatMulInteger", ["x", "w", "xz"], ["y"])
    model = _model(
        [node],
        [helper.make_tensor_value_info("x", TensorProto.INT8, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])],
        [_int8("w", w), _int8("xz", np.array(x_zp))],
    )
    return session(model).run(None, {"x": x.astype(np.int8)})[0].astype(np.int64)


def _conv_attrs(in_hw, kh: int, kw: int, stride, padding, dilation, groups: int) -> dict:
    attrs = dict(
        kernel_shape=[kh, kw], strides=list(stride), dilations=list(dilation), group=groups
    )
    if padding == "SAME" and tuple(dilation) != (1, 1):
        # onnxruntime rejects auto_pad SAME_* with dilation: use golden's resolution there.
        from golden import resolve_padding

        padding = resolve_padding("SAME", in_hw, (kh, kw), stride, dilation)
    if padding == "SAME":
        # ONNX SAME_UPPER: total pad as TFLite SAME, extra pixel at the end (bottom/right): an
        # independent statement of the same rule golden.resolve_padding implements.
        attrs["auto_pad"] = "SAME_UPPER"
    elif padding == "VALID":
        attrs["auto_pad"] = "VALID"
    else:
        top, left, bottom, right = padding
        attrs["pads"] = [top, left, bottom, right]  # ONNX order: begins (H, W), then ends (H, W)
    return attrs


def conv_integer(
    x: np.ndarray,
    w: np.ndarray,
    x_zp: int,
    *,
    stride=(1, 1),
    padding="VALID",
    dilation=(1, 1),
    groups: int = 1,
    threads: int = 1,
) -> tuple[ort.InferenceSession, dict]:
    """A ConvInteger session for x NHWC int8, w OHWI int8 and its feed (x converted to NCHW).

    Run it with ``sess.run(None, feed)[0]``: int32 NCHW accumulators of sum w * (x - x_zp).
    """
    n, h, wd, cin = x.shape
    cout, kh, kw, _ = w.shape
    node = helper.make_node(
        "ConvInteger",
        ["x", "w", "xz"],
        ["y"],
        **_conv_attrs((h, wd), kh, kw, stride, padding, dilation, groups),
    )
    model = _model(
        [node],
        [helper.make_tensor_value_info("x", TensorProto.INT8, [n, cin, h, wd])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [None, None, None, None])],
        [_int8("w", w.transpose(0, 3, 1, 2)), _int8("xz", np.array(x_zp))],
    )
    feed = {"x": np.ascontiguousarray(x.transpose(0, 3, 1, 2)).astype(np.int8)}
    return session(model, threads), feed


def qlinear_conv(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray,
    *,
    x_scale: float,
    x_zp: int,
    w_scale: np.ndarray,
    y_scale: float,
    y_zp: int,
    stride=(1, 1),
    padding="VALID",
    dilation=(1, 1),
    groups: int = 1,
    threads: int = 1,
) -> tuple[ort.InferenceSession, dict]:
    """A QLinearConv session (int8, per-channel w_scale, int32 bias) and its NCHW feed."""
    n, h, wd, cin = x.shape
    cout, kh, kw, _ = w.shape
    f32 = TensorProto.FLOAT
    inits = [
        helper.make_tensor("xs", f32, [], [float(x_scale)]),
        _int8("xz", np.array(x_zp)),
        _int8("w", w.transpose(0, 3, 1, 2)),
        helper.make_tensor("ws", f32, [cout], np.asarray(w_scale, np.float32).tolist()),
        _int8("wz", np.zeros(cout, np.int8)),
        helper.make_tensor("ys", f32, [], [float(y_scale)]),
        _int8("yz", np.array(y_zp)),
        helper.make_tensor("b", TensorProto.INT32, [cout], np.asarray(bias, np.int32).tolist()),
    ]
    node = helper.make_node(
        "QLinearConv",
        ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"],
        ["y"],
        **_conv_attrs((h, wd), kh, kw, stride, padding, dilation, groups),
    )
    model = _model(
        [node],
        [helper.make_tensor_value_info("x", TensorProto.INT8, [n, cin, h, wd])],
        [helper.make_tensor_value_info("y", TensorProto.INT8, [None, None, None, None])],
        inits,
    )
    feed = {"x": np.ascontiguousarray(x.transpose(0, 3, 1, 2)).astype(np.int8)}
    return session(model, threads), feed


def qlinear_matmul(
    x: np.ndarray,
    w: np.ndarray,
    *,
    x_scale: float,
    x_zp: int,
    w_scale: np.ndarray,
    y_scale: float,
    y_zp: int,
) -> np.ndarray:
    """QLinearMatMul int8 (x (M, K), w (K, N), per-column w_scale) -> int8 (M, N) as int64."""
    m, k = x.shape
    n = w.shape[1]
    f32 = TensorProto.FLOAT
    inits = [
        helper.make_tensor("xs", f32, [], [float(x_scale)]),
        _int8("xz", np.array(x_zp)),
        _int8("w", w),
        helper.make_tensor("ws", f32, [n], np.asarray(w_scale, np.float32).tolist()),
        _int8("wz", np.zeros(n, np.int8)),
        helper.make_tensor("ys", f32, [], [float(y_scale)]),
        _int8("yz", np.array(y_zp)),
    ]
    node = helper.make_node("QLinearMatMul", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"])
    model = _model(
        [node],
        [helper.make_tensor_value_info("x", TensorProto.INT8, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.INT8, [m, n])],
        inits,
    )
    return session(model).run(None, {"x": x.astype(np.int8)})[0].astype(np.int64)
