"""The ONNX importer on models quantized by onnxruntime, against onnxruntime itself.

Models: three small float graphs (``tests/qmac/model/onnx_models.py``: the digits CNN's
structure, a residual net with MaxPool/Add/GlobalAveragePool, an MLP with Gemm transB=0 and
MatMul) quantized by ``quantize_static`` in QDQ and QOperator form with int8 and uint8
activations. Reference: every quantized tensor as onnxruntime computes it in the whole model
(probed, ``ort_reference``).

Measured here (onnxruntime 1.32, x86-64 AVX-512, 16 inputs per model): on onnxruntime's own
inputs the host ops are exact and the array ops differ only by requantization rounding; an
emulation of onnxruntime's float32 requantization of golden's exact accumulators is exact, and
``rounding="single"`` differs on 0 of 44,352 outputs of the cnn and res models where ``"tflite"``
differs on 58 (0.13%), each by 1 LSB. Chained through the network, every tensor stays within
1 LSB (cnn 75 of 21,664 elements, res 214 of 39,584 differ).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

import golden  # noqa: E402
from qmac.model.network import ArrayOp  # noqa: E402
from qmac.model.onnx_import import load_onnx  # noqa: E402
from qmac.model.run import run_network  # noqa: E402
from qmac.model.source_io import from_network, to_network  # noqa: E402
from tests.qmac.model import onnx_models as M  # noqa: E402
from tests.qmac.model.onnx_agreement import chain_agreement, op_agreement, reference  # noqa: E402
from tests.qmac.model.ort_reference import run_model  # noqa: E402

FORMATS = [("QDQ", "int8"), ("QDQ", "uint8"), ("QOperator", "int8"), ("QOperator", "uint8")]
CASES = [(a, f, d) for a in M.ARCHS for f, d in FORMATS]
OPS = {
    "cnn": ["QuantizeLinear", "conv2d", "conv2d", "depthwise_conv2d", "Flatten",
            "fully_connected", "DequantizeLinear"],
    "res": ["QuantizeLinear", "conv2d", "MaxPool", "conv2d", "conv2d", "QLinearAdd",
            "QLinearGlobalAveragePool", "Flatten", "fully_connected", "DequantizeLinear"],
    "mlp": ["Flatten", "QuantizeLinear", "fully_connected", "fully_connected",
            "DequantizeLinear"],
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    logging.getLogger().setLevel(logging.ERROR)  # quantize_static's pre-processing advice
    return tmp_path_factory.mktemp("onnx_models")


def _model(model_dir, arch, fmt, act):
    return M.quantized_model(model_dir, arch, fmt, act)


def _inputs(arch, n=16):
    return M.calibration_images(arch, n, seed=7)


@pytest.mark.parametrize(("arch", "fmt", "act"), CASES)
def test_structure_and_source_form(model_dir, arch, fmt, act):
    net = load_onnx(_model(model_dir, arch, fmt, act))
    assert [op.op for op in net.ops] == OPS[arch]
    assert net.source == "onnx"
    quantized = [t for t in net.tensors.values() if t.dtype == "int8"]
    assert quantized and all(t.source_dtype == act for t in quantized)
    for t in net.tensors.values():
        assert t.source_layout == ("NCHW" if len(t.shape) == 4 else None)
        if t.dtype == "int8" and act == "uint8":  # the int8 form: zero point 128 lower
            assert -128 <= t.zero_point <= 127


@pytest.mark.parametrize(("arch", "fmt", "act"), CASES)
def test_every_op_on_onnxruntime_inputs(model_dir, arch, fmt, act):
    """Host ops exact; array ops within 1 LSB, and exact once requantized as onnxruntime does."""
    path = _model(model_dir, arch, fmt, act)
    net, ort_net = load_onnx(path), load_onnx(path, multiplier="onnxruntime")
    rows = op_agreement(net, ort_net, reference(path, net, _inputs(arch)))
    assert [r["op"] for r in rows] == [op for op in OPS[arch] if op not in (
        "QuantizeLinear", "DequantizeLinear") and not (arch == "mlp" and op == "Flatten")]
    for r in rows:
        if r["kind"] == "host":
            assert r["host"].differ == 0, (r["name"], r["host"])
        else:
            assert r["ort_emulation"].differ == 0, (r["name"], r["ort_emulation"])
            assert r["tflite"].max_abs <= 1 and r["single"].max_abs <= 1, r


@pytest.mark.parametrize(("arch", "fmt", "act"), CASES)
def test_every_tensor_chained_within_one_lsb(model_dir, arch, fmt, act):
    path = _model(model_dir, arch, fmt, act)
    net = load_onnx(path)
    x = _inputs(arch)
    ref = reference(path, net, x)
    np.testing.assert_array_equal(ref["__outputs__"][0], run_model(path, x))  # probes: no effect
    run = run_network(net, to_network(net.tensors[net.inputs[0]], x), keep_tensors=True)
    diffs = chain_agreement(net, run.tensors, ref)
    assert len(diffs) == sum(t.dtype == "int8" for t in net.tensors.values())
    assert max(d.max_abs for d in diffs) <= 1, diffs
    out = net.outputs[0]
    scale = net.ops[-1].params.scale
    got = from_network(net.tensors[out], run.outputs[out])
    assert got.dtype == np.float32 and got.shape == ref["__outputs__"][0].shape
    assert np.abs(got - ref["__outputs__"][0]).max() <= scale * 1.0001


@pytest.mark.parametrize("arch", M.ARCHS)
def test_formats_and_types_give_one_network(model_dir, arch):
    """QDQ/QOperator and int8/uint8 of one float model: the same integers (uint8 shift exact)."""
    x = _inputs(arch, 4)
    outs = []
    for fmt, act in FORMATS:
        net = load_onnx(_model(model_dir, arch, fmt, act))
        run = run_network(net, to_network(net.tensors[net.inputs[0]], x))
        outs.append(run.outputs[net.outputs[0]])
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


def test_weights_bias_and_multipliers_from_the_initializers(model_dir):
    """Layouts converted (OIHW -> OHWI / 1HW(C*mult)), bias as stored, m0/shift as TFLite."""
    import onnx
    from onnx import numpy_helper

    path = _model(model_dir, "cnn", "QOperator", "uint8")
    m = onnx.load(str(path))
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    convs = [n for n in m.graph.node if n.op_type == "QLinearConv"]
    net, ort_net = load_onnx(path), load_onnx(path, multiplier="onnxruntime")
    arr = [op for op in net.ops if isinstance(op, ArrayOp)]
    ort_arr = [op for op in ort_net.ops if isinstance(op, ArrayOp)]
    for node, op, ort_op in zip(convs, arr, ort_arr, strict=False):
        w = init[node.input[3]].astype(np.int64)
        want_w = w.transpose(1, 2, 3, 0) if op.op == "depthwise_conv2d" else w.transpose(0, 2, 3, 1)
        np.testing.assert_array_equal(op.w, want_w)
        np.testing.assert_array_equal(op.bias, init[node.input[8]])
        sx, sw, sy = (init[node.input[i]].astype(np.float64) for i in (1, 4, 6))
        m0, shift = golden.quantize_multiplier(sx * sw / sy)
        np.testing.assert_array_equal(op.m0, m0)
        np.testing.assert_array_equal(op.shift, shift)
        f32 = (np.float32(sx) * sw.astype(np.float32) / np.float32(sy)).astype(np.float64)
        np.testing.assert_array_equal(ort_op.m0 * np.exp2(ort_op.shift - 31.0), f32)
        assert op.x_zp == int(init[node.input[2]]) - 128  # uint8 -> int8
        assert op.y_zp == int(init[node.input[7]]) - 128
        assert (op.act_min, op.act_max) == (-128, 127)


def test_kept_relu_is_folded_into_the_clamp(model_dir):
    """A Relu the quantizer keeps (zero point above the minimum) narrows the clamp to it."""
    import onnx
    from onnx import helper

    path = _model(model_dir, "cnn", "QDQ", "int8")
    m = onnx.load(str(path))
    g = m.graph
    # Re-insert a Relu between the first Conv and its QuantizeLinear, with the Q's zero point
    # moved to the middle of the range so the clamp is no longer the type's.
    conv = next(n for n in g.node if n.op_type == "Conv")
    q = next(n for n in g.node if n.input and n.input[0] == conv.output[0])
    relu_out = conv.output[0] + "_relu"
    g.node.insert(list(g.node).index(q), helper.make_node("Relu", [conv.output[0]], [relu_out]))
    q.input[0] = relu_out
    zp = next(t for t in g.initializer if t.name == q.input[2])
    zp.CopyFrom(onnx.numpy_helper.from_array(np.array(-10, np.int8), zp.name))
    edited = model_dir / "cnn_kept_relu.onnx"
    onnx.save(m, str(edited))
    net = load_onnx(edited)
    first = next(op for op in net.ops if isinstance(op, ArrayOp))
    assert (first.y_zp, first.act_min, first.act_max) == (-10, -10, 127)
    x = _inputs("cnn", 4)
    ref = reference(edited, net, x)
    run = run_network(net, to_network(net.tensors[net.inputs[0]], x), keep_tensors=True)
    assert max(d.max_abs for d in chain_agreement(net, run.tensors, ref)) <= 1
    assert run.tensors[first.output].min() == -10
