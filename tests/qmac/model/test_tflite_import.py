"""The TFLite importer on models built in the test: each op's geometry and options against LiteRT.

Every case is a small model with random int8 weights and per-channel scales, run through the
importer and the golden backend and compared integer for integer with LiteRT's reference kernels
(``BUILTIN_REF``) on the same inputs; FULLY_CONNECTED with TFLite Micro's reference kernel, the
fixed-point one (LiteRT's reference FC requantizes in float; its optimized FC rounds both steps
half up, which differs on negative ties).
"""

from __future__ import annotations

import numpy as np
import pytest
from tflite_micro.python.tflite_micro import runtime as tflm

from qmac.model.run import run_network
from qmac.model.tflite_array_ops import fc_multipliers, tflite_padding
from qmac.model.tflite_import import SUPPORTED_OPS, load_tflite
from tests.golden.hostops.litert_one_op import run as litert_run
from tests.qmac.model.tflite_builder import ModelBuilder

RNG = np.random.default_rng(11)


def _int8(shape, rng=RNG):
    return rng.integers(-128, 128, size=shape)


def _weights(rng, shape):
    w = rng.integers(-127, 128, size=shape)
    return w


def _ours(model: bytes, feeds: list[np.ndarray]) -> list[np.ndarray]:
    net = load_tflite(model)
    values = {name: np.concatenate([f[None] for f in feed]) for name, feed in
              zip(net.inputs, feeds, strict=True)}
    run = run_network(net, values)
    return [run.outputs[n] for n in net.outputs]


def _litert(model: bytes, feeds: list[np.ndarray], resolver: str = "ref") -> list[np.ndarray]:
    n = len(feeds[0])
    per = [litert_run(model, [f[s:s + 1] for f in feeds], resolver) for s in range(n)]
    return [np.concatenate([p[k] for p in per]) for k in range(len(per[0]))]


def _tflm(model: bytes, feeds: list[np.ndarray]) -> np.ndarray:
    it = tflm.Interpreter.from_bytes(model)
    ys = []
    for s in range(len(feeds[0])):
        for k, f in enumerate(feeds):
            it.set_input(np.ascontiguousarray(f[s:s + 1], dtype=np.int8), k)
        it.invoke()
        ys.append(it.get_output(0).copy())
    return np.concatenate(ys)


def _conv_model(rng, *, op, h, w, cin, cout, k, stride, dilation, padding, act="NONE",
                per_channel=True, groups=1):
    b = ModelBuilder()
    x = b.tensor((1, h, w, cin), scale=0.02, zero_point=-7)
    if op == "CONV_2D":
        wshape, axis = (cout, k[0], k[1], cin // groups), 0
    else:
        wshape, axis = (1, k[0], k[1], cout), 3
    scales = rng.uniform(0.002, 0.01, size=cout) if per_channel else 0.006
    wt = b.tensor(wshape, scale=scales, zero_point=0, data=_weights(rng, wshape), axis=axis)
    kk = k[0] * k[1] * (cin // groups if op == "CONV_2D" else 1)
    bias = b.tensor((cout,), "int32", scale=0.02 * np.atleast_1d(scales),
                    data=rng.integers(-3000, 3000, size=cout))
    (oh, ow), _ = tflite_padding(padding, (h, w), k, stride, dilation)
    y = b.tensor((1, oh, ow, cout), scale=0.02 * 0.006 * np.sqrt(kk) * 40, zero_point=3)
    opts = dict(padding=padding, strideH=stride[0], strideW=stride[1],
                dilationHFactor=dilation[0], dilationWFactor=dilation[1],
                fusedActivationFunction=act)
    if op == "DEPTHWISE_CONV_2D":
        opts["depthMultiplier"] = cout // cin
    b.op(op, [x, wt, bias], [y], **opts)
    return b.build([x], [y]), (h, w, cin)


CONV_CASES = {
    "3x3-same-s1": dict(op="CONV_2D", h=7, w=9, cin=3, cout=5, k=(3, 3), stride=(1, 1),
                        dilation=(1, 1), padding="SAME"),
    "3x3-same-s2-odd-pad": dict(op="CONV_2D", h=8, w=7, cin=4, cout=6, k=(3, 3), stride=(2, 2),
                                dilation=(1, 1), padding="SAME", act="RELU6"),
    "5x3-valid-s2x1": dict(op="CONV_2D", h=9, w=6, cin=2, cout=4, k=(5, 3), stride=(2, 1),
                           dilation=(1, 1), padding="VALID", act="RELU"),
    "dilated-same": dict(op="CONV_2D", h=10, w=10, cin=3, cout=4, k=(3, 3), stride=(1, 1),
                         dilation=(2, 2), padding="SAME"),
    "grouped": dict(op="CONV_2D", h=6, w=6, cin=8, cout=6, k=(3, 3), stride=(1, 1),
                    dilation=(1, 1), padding="SAME", groups=2),
    "per-tensor-1x1": dict(op="CONV_2D", h=5, w=5, cin=6, cout=7, k=(1, 1), stride=(1, 1),
                           dilation=(1, 1), padding="VALID", per_channel=False,
                           act="RELU_N1_TO_1"),
    "dw-mult2-s2-same": dict(op="DEPTHWISE_CONV_2D", h=9, w=8, cin=3, cout=6, k=(3, 3),
                             stride=(2, 2), dilation=(1, 1), padding="SAME", act="RELU6"),
    "dw-dilated-valid": dict(op="DEPTHWISE_CONV_2D", h=9, w=9, cin=4, cout=4, k=(3, 3),
                             stride=(1, 1), dilation=(2, 2), padding="VALID"),
}


@pytest.mark.parametrize("case", list(CONV_CASES))
def test_conv_and_depthwise_equal_litert_reference(case):
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    model, shape = _conv_model(rng, **CONV_CASES[case])
    x = _int8((6, *shape), rng)
    (ours,) = _ours(model, [x])
    (ref,) = _litert(model, [x], "ref")
    assert ours.shape == ref.shape
    assert np.array_equal(ours, ref.astype(np.int64))
    assert len(np.unique(ours)) > 10  # the outputs are spread, not clamped flat


def _fc_model(rng, *, k, units, per_channel, keep_num_dims=False, in_shape=None, bias=True):
    b = ModelBuilder()
    in_shape = in_shape or (1, k)
    x = b.tensor(in_shape, scale=0.03, zero_point=5)
    scales = rng.uniform(0.002, 0.01, size=units) if per_channel else 0.0047
    wt = b.tensor((units, k), scale=scales, data=_weights(rng, (units, k)))
    bias = b.tensor((units,), "int32", scale=0.03 * np.atleast_1d(scales),
                    data=rng.integers(-5000, 5000, size=units)) if bias else -1
    out_shape = (*in_shape[:-1], units) if keep_num_dims else (1, units)
    y = b.tensor(out_shape, scale=0.03 * 0.006 * np.sqrt(k) * 20, zero_point=-4)
    b.op("FULLY_CONNECTED", [x, wt, bias], [y], keepNumDims=keep_num_dims)
    return b.build([x], [y]), in_shape[1:]


@pytest.mark.parametrize(
    "kw",
    [dict(k=40, units=12, per_channel=True), dict(k=33, units=7, per_channel=False),
     dict(k=24, units=5, per_channel=True, keep_num_dims=True, in_shape=(1, 1, 1, 24)),
     dict(k=50, units=9, per_channel=True, bias=False, in_shape=(1, 5, 10))],
    ids=["per-channel", "per-tensor", "keep-num-dims-4d", "no-bias-3d-input"],
)
def test_fully_connected_equals_tflite_micro(kw):
    rng = np.random.default_rng(kw["k"])
    model, shape = _fc_model(rng, **kw)
    x = _int8((40, *shape), rng)
    (ours,) = _ours(model, [x])
    want = _tflm(model, [x])
    assert np.array_equal(ours, want.astype(np.int64)) and len(np.unique(ours)) > 10
    # LiteRT's optimized kernel rounds both steps half up: within 1 LSB (negative ties differ).
    (opt,) = _litert(model, [x], "opt")
    assert np.abs(ours - opt).max() <= 1


def test_per_tensor_fc_multiplier_rounds_the_scale_product_to_float32():
    """GetQuantizedConvolutionMultipler: double(float(s_in * s_w)) / s_out, not double products."""
    s_in, s_w, s_out = 0.1, np.float32(0.3), 0.7
    per_tensor = fc_multipliers(s_in, np.array([s_w]), s_out, per_channel=False)[0]
    per_channel = fc_multipliers(s_in, np.array([s_w]), s_out, per_channel=True)[0]
    assert per_tensor == float(np.float32(np.float32(s_in) * s_w)) / float(np.float32(s_out))
    assert per_channel == float(np.float32(s_in)) * float(s_w) / float(np.float32(s_out))
    assert per_tensor != per_channel


def _host_model(kind: str, rng):
    b = ModelBuilder()
    if kind == "add-const":
        x = b.tensor((1, 4, 4, 3), scale=0.05, zero_point=2)
        c = b.tensor((1, 1, 1, 3), scale=0.07, zero_point=-3, data=_int8((1, 1, 1, 3), rng))
        y = b.tensor((1, 4, 4, 3), scale=0.09, zero_point=1)
        b.op("ADD", [x, c], [y], fusedActivationFunction="RELU")
        return b.build([x], [y]), [(4, 4, 3)]
    if kind == "padv2":
        x = b.tensor((1, 3, 4, 2), scale=0.05, zero_point=2)
        p = b.tensor((4, 2), "int32", data=np.array([[0, 0], [1, 2], [0, 1], [0, 0]]))
        v = b.tensor((1,), scale=0.05, zero_point=2, data=np.array([-9]))
        y = b.tensor((1, 6, 5, 2), scale=0.05, zero_point=2)
        b.op("PADV2", [x, p, v], [y])
        return b.build([x], [y]), [(3, 4, 2)]
    if kind == "mean-keepdims":
        x = b.tensor((1, 5, 3, 4), scale=0.05, zero_point=-2)
        a = b.tensor((2,), "int32", data=np.array([1, 2]))
        y = b.tensor((1, 1, 1, 4), scale=0.03, zero_point=4)
        b.op("MEAN", [x, a], [y], keepDims=True)
        return b.build([x], [y]), [(5, 3, 4)]
    if kind == "concat-two-inputs":
        x1 = b.tensor((1, 2, 3, 2), scale=0.05, zero_point=1)
        x2 = b.tensor((1, 2, 3, 5), scale=0.05, zero_point=1)
        y = b.tensor((1, 2, 3, 7), scale=0.05, zero_point=1)
        b.op("CONCATENATION", [x1, x2], [y], axis=-1)
        return b.build([x1, x2], [y]), [(2, 3, 2), (2, 3, 5)]
    if kind == "avgpool-same":
        x = b.tensor((1, 7, 6, 3), scale=0.05, zero_point=1)
        y = b.tensor((1, 3, 3, 3), scale=0.05, zero_point=1)
        b.op("AVERAGE_POOL_2D", [x], [y], padding="SAME", strideH=3, strideW=2, filterHeight=3,
             filterWidth=3, fusedActivationFunction="RELU6")
        return b.build([x], [y]), [(7, 6, 3)]
    if kind == "requantize-softmax":
        x = b.tensor((1, 12), scale=0.05, zero_point=1)
        q = b.tensor((1, 12), scale=0.11, zero_point=-6)
        y = b.tensor((1, 12), scale=1 / 256, zero_point=-128)
        b.op("QUANTIZE", [x], [q])
        b.op("SOFTMAX", [q], [y], beta=1.0)
        return b.build([x], [y]), [(12,)]
    raise KeyError(kind)


@pytest.mark.parametrize("kind", ["add-const", "padv2", "mean-keepdims", "concat-two-inputs",
                                  "avgpool-same", "requantize-softmax"])
def test_host_ops_equal_litert_reference(kind):
    rng = np.random.default_rng(len(kind))
    model, shapes = _host_model(kind, rng)
    xs = [_int8((5, *s), rng) for s in shapes]
    ours = _ours(model, xs)
    ref = _litert(model, xs, "ref")
    for a, b in zip(ours, ref, strict=True):
        assert a.shape == b.shape and np.array_equal(a, b.astype(np.int64))


def test_float_edges_quantize_and_dequantize_like_litert():
    """float32 in -> QUANTIZE -> conv -> DEQUANTIZE -> float32 out, as a float-interface model."""
    rng = np.random.default_rng(5)
    b = ModelBuilder()
    xf = b.tensor((1, 6, 6, 2), "float32")
    xq = b.tensor((1, 6, 6, 2), scale=0.02, zero_point=-3)
    wt = b.tensor((4, 3, 3, 2), scale=rng.uniform(0.002, 0.01, 4), data=_weights(rng, (4, 3, 3, 2)))
    bias = b.tensor((4,), "int32", data=rng.integers(-900, 900, 4))
    yq = b.tensor((1, 6, 6, 4), scale=0.05, zero_point=2)
    yf = b.tensor((1, 6, 6, 4), "float32")
    b.op("QUANTIZE", [xf], [xq])
    b.op("CONV_2D", [xq, wt, bias], [yq], padding="SAME", strideH=1, strideW=1)
    b.op("DEQUANTIZE", [yq], [yf])
    model = b.build([xf], [yf])
    net = load_tflite(model)
    assert net.tensors[net.inputs[0]].dtype == "float32"
    x = rng.uniform(-2.6, 2.6, size=(4, 6, 6, 2)).astype(np.float32)
    (ours,) = _ours(model, [x])
    (ref,) = _litert(model, [x], "ref")
    assert ours.dtype == np.float32 and np.array_equal(ours, ref)


def test_network_record_of_a_shipped_style_model():
    """Names, source indices and dtypes the run and --dump rely on."""
    model, _ = _conv_model(np.random.default_rng(0), **CONV_CASES["3x3-same-s1"])
    net = load_tflite(model)
    (op,) = net.ops
    assert op.name == "CONV_2D_0" and op.op == "conv2d" and op.padding == (1, 1, 1, 1)
    assert [net.tensors[n].source_name for n in (*net.inputs, *net.outputs)] == ["0", "3"]
    assert all(t.source_dtype == "int8" and t.source_layout == "NHWC"
               for t in net.tensors.values())
    assert net.source == "tflite" and SUPPORTED_OPS[:3] == ("CONV_2D", "DEPTHWISE_CONV_2D",
                                                            "FULLY_CONNECTED")


def test_reader_agrees_with_litert_on_the_shipped_models():
    """Ops, tensor shapes, types and quantization as LiteRT's own interpreter reports them."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from qmac.model.tflite_read import read_tflite
    from tests.qmac.model.model_agreement import shipped_models

    for path, _ in shipped_models().values():
        m = read_tflite(path)
        it = Interpreter(model_path=str(path),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        ops = it._get_ops_details()
        assert [(op.name, list(op.inputs), list(op.outputs)) for op in m.ops] == \
            [(op["op_name"], list(op["inputs"]), list(op["outputs"])) for op in ops]
        for d in it.get_tensor_details():
            t = m.tensors[d["index"]]
            q = d["quantization_parameters"]
            assert t.name == d["name"] and t.shape == tuple(d["shape"])
            assert np.dtype(t.dtype) == d["dtype"]
            if len(q["scales"]):
                assert np.array_equal(t.scales, q["scales"])
                assert np.array_equal(t.zero_points, q["zero_points"])
                assert t.quantized_dimension == q["quantized_dimension"]
            if t.is_constant:
                assert np.array_equal(t.data, it.get_tensor(d["index"]))
