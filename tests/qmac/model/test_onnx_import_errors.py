"""Models the importer refuses: each a one-line OnnxImportError (a ValueError) naming the node,
tensor or reason, raised before anything runs; ``qmac run`` prints it and exits with 2."""

from __future__ import annotations

import logging

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

pytest.importorskip("onnxruntime")

from qmac.cli import main  # noqa: E402
from qmac.model.onnx_import import OnnxImportError, load_onnx  # noqa: E402
from tests.qmac.model import onnx_models as M  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    logging.getLogger().setLevel(logging.ERROR)
    return tmp_path_factory.mktemp("onnx_bad")


def _edit(src, dst, fn):
    m = onnx.load(str(src))
    fn(m)
    onnx.save(m, str(dst))
    return dst


def _set_init(m, name, value):
    t = next(t for t in m.graph.initializer if t.name == name)
    t.CopyFrom(numpy_helper.from_array(value, name))


def _with_sigmoid(model_dir):
    """The cnn with a Sigmoid after its first Relu, quantized (DQ -> Sigmoid -> Q)."""
    from onnxruntime import quantization as q

    m = M.float_model("cnn")
    g = m.graph
    i = next(k for k, n in enumerate(g.node) if n.output[0] == "r1")
    g.node.insert(i + 1, helper.make_node("Sigmoid", ["r1"], ["s1"], name="gate"))
    nxt = next(n for n in g.node if "r1" in n.input and n.op_type == "Conv")
    nxt.input[0] = "s1"
    f32, out = model_dir / "sig_f32.onnx", model_dir / "sig_qdq.onnx"
    onnx.save(m, str(f32))
    q.quantize_static(str(f32), str(out), M._Reader(M.calibration_images("cnn")),
                      quant_format=q.QuantFormat.QDQ, per_channel=True)
    return out


def _float_conv(model_dir):
    from onnxruntime import quantization as q

    f32, out = model_dir / "cnn_f32.onnx", model_dir / "cnn_excl.onnx"
    onnx.save(M.float_model("cnn"), str(f32))
    q.quantize_static(str(f32), str(out), M._Reader(M.calibration_images("cnn")),
                      quant_format=q.QuantFormat.QDQ, per_channel=True,
                      nodes_to_exclude=["Conv_c2"])
    return out


def _weight_zero_point(model_dir):
    src = M.quantized_model(model_dir, "cnn", "QOperator", "int8")

    def fn(m):
        _set_init(m, "c1.w_zero_point", np.array([0, 1, 0, 0, 0, 0, 0, 0], np.int8))

    return _edit(src, model_dir / "wzp.onnx", fn)


def _old_opset(model_dir):
    src = M.quantized_model(model_dir, "cnn", "QDQ", "int8")

    def fn(m):
        for o in m.opset_import:
            if o.domain in ("", "ai.onnx"):
                o.version = 12

    return _edit(src, model_dir / "opset12.onnx", fn)


def _float_only(model_dir):
    p = model_dir / "float.onnx"
    onnx.save(M.float_model("res"), str(p))
    return p


def _corrupt(model_dir):
    p = model_dir / "corrupt.onnx"
    p.write_bytes(b"\x08\x07not a protobuf\xff\xff\xff")
    return p


CASES = [
    ("float_only", _float_only, r"^float-only model: it has no QuantizeLinear or QLinear op; "
     r"qmac runs int8/uint8 models \(quantize it with onnxruntime\.quantization\."
     r"quantize_static, QDQ or QOperator\)$"),
    ("unsupported_op", _with_sigmoid, r"^unsupported op Sigmoid 'gate' \(node \d+\); supported: "
     r"QuantizeLinear, DequantizeLinear, Conv, .*com\.microsoft\.QLinearGlobalAveragePool$"),
    ("float_conv", _float_conv, r"^Conv 'Conv_c2' \(node \d+\) computes in float: its weights "
     r"'c2\.w' are float32, not a DequantizeLinear of int8 weights$"),
    ("per_tensor_weights",
     lambda d: M.quantized_model(d, "cnn", "QDQ", "int8", per_channel=False),
     r"^Conv 'Conv_c1' \(node \d+\): weights 'c1\.w_quantized' must be per-channel symmetric "
     r"int8 .*; found one scale \(per-tensor\) for 8 channels$"),
    ("uint8_weights", lambda d: M.quantized_model(d, "cnn", "QDQ", "uint8", weight="uint8"),
     r"^Conv 'Conv_c1' \(node \d+\): weights 'c1\.w_quantized' must be per-channel symmetric "
     r"int8 .*; found uint8 weights$"),
    ("weight_zero_point", _weight_zero_point,
     r"^QLinearConv 'Conv_c1_quant' \(node \d+\): weights 'c1\.w_quantized' must be per-channel "
     r"symmetric int8 .*; found int8 zero point 1$"),
    ("old_opset", _old_opset, r"^model opset 12 is too old: qmac needs opset 13 or later"),
    ("missing", lambda d: d / "nope.onnx", r"^model file '.*nope\.onnx' not found$"),
    ("corrupt", _corrupt, r"^'.*corrupt\.onnx' is not an ONNX model \("),
]


@pytest.mark.parametrize(("name", "make", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_refused_with_one_line(model_dir, name, make, pattern):
    path = make(model_dir)
    with pytest.raises(OnnxImportError, match=pattern) as info:
        load_onnx(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("name", "make", "pattern"), CASES[:3] + CASES[-2:],
                         ids=[c[0] for c in CASES[:3] + CASES[-2:]])
def test_qmac_run_exits_2(model_dir, tmp_path, capsys, name, make, pattern):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 1, 8, 8), np.float32))
    assert main(["run", str(make(model_dir)), "--input", str(x), "--backend", "golden",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("qmac run: error: ")


def test_bad_multiplier_mode(model_dir):
    with pytest.raises(ValueError, match=r"^multiplier must be one of tflite, onnxruntime, not "
                                         r"'float'$"):
        load_onnx(M.quantized_model(model_dir, "cnn"), multiplier="float")
