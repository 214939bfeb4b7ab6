"""qmac.model.source_io: the model's dtype and layout to the network's form and back, dumps."""

from __future__ import annotations

import numpy as np
import pytest

from golden.hostops import QLinearQuant
from qmac.model.network import HostOp, Network, TensorSpec
from qmac.model.onnx_ops import QTensor, quantize_op
from qmac.model.source_io import (
    dump_name,
    dump_tensors,
    from_network,
    skip_input_quantize,
    to_network,
)

U8 = TensorSpec("t", (1, 3, 4, 2), "int8", 0.1, -28, source_name="t", source_dtype="uint8",
                source_layout="NCHW")
F32 = TensorSpec("x", (1, 3, 4, 2), "float32", source_name="x", source_dtype="float32",
                 source_layout="NCHW")
I8_2D = TensorSpec("v", (1, 5), "int8", 0.1, 3, source_name="7", source_dtype="int8")


def test_uint8_nchw_round_trip():
    rng = np.random.default_rng(0)
    src = rng.integers(0, 256, size=(2, 2, 3, 4)).astype(np.uint8)  # N, C, H, W
    net = to_network(U8, src)
    assert net.shape == (2, 3, 4, 2) and net.dtype == np.int64
    np.testing.assert_array_equal(net, src.transpose(0, 2, 3, 1).astype(np.int64) - 128)
    back = from_network(U8, net)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, src)


def test_float_and_int8_forms():
    x = np.arange(2 * 2 * 3 * 4, dtype=np.float32).reshape(2, 2, 3, 4)
    np.testing.assert_array_equal(from_network(F32, to_network(F32, x)), x)
    v = np.array([[-128, 0, 5, 7, 127]])
    np.testing.assert_array_equal(to_network(I8_2D, v), v)  # int8, 2-D: the identity
    assert from_network(I8_2D, v).dtype == np.int8


@pytest.mark.parametrize(
    ("spec", "value", "exc", "pattern"),
    [
        (U8, np.zeros((1, 2, 3, 4), np.float32), TypeError,
         r"^tensor 't' holds uint8 values, not float32$"),
        (U8, np.full((1, 2, 3, 4), 256), ValueError,
         r"^tensor 't' must hold uint8 values in \[0, 255\], found 256\.\.256$"),
        (U8, np.zeros((1, 3, 4, 2), np.uint8), ValueError,
         r"^tensor 't' must have shape \(N, 2, 3, 4\) as the model holds it, not \(1, 3, 4, 2\)$"),
        (F32, np.zeros((1, 2, 3, 4), np.int8), TypeError,
         r"^tensor 'x' holds float values, not int8$"),
        (I8_2D, np.array([[0, 0, 0, 0, -129]]), ValueError,
         r"^tensor '7' must hold int8 values in \[-128, 127\], found -129\.\.0$"),
    ],
)
def test_to_network_refuses(spec, value, exc, pattern):
    with pytest.raises(exc, match=pattern):
        to_network(spec, value)


def _net():
    q = QLinearQuant(0.1, 100, "uint8")
    y = TensorSpec("a/b:0", (1, 3, 4, 2), "int8", 0.1, -28, source_name="a/b:0",
                   source_dtype="uint8", source_layout="NCHW")
    z = TensorSpec("a:b/0", (1, 3, 4, 2), "int8", 0.1, -28, source_name="a:b/0",
                   source_dtype="uint8", source_layout="NCHW")
    ops = [quantize_op("q", "x", QTensor("a/b:0", q)),
           HostOp("neg", "Identity", ("a/b:0",), "a:b/0", lambda xs: xs[0])]
    return Network("n", [F32, y, z], ops, ["x"], ["a:b/0"], source="onnx")


def test_dump_names_collisions_and_forms(tmp_path):
    net = _net()
    x = np.random.default_rng(1).random((2, 3, 4, 2)).astype(np.float32)  # network form
    from qmac.model.run import run_network

    run = run_network(net, x, keep_tensors=True)
    files = dump_tensors(net, run.tensors, tmp_path)
    assert [f.name for f in files] == ["x.npy", "a_b_0.npy", "a_b_0.1.npy"]
    q = np.load(tmp_path / "a_b_0.npy")
    assert q.dtype == np.uint8 and q.shape == (2, 2, 3, 4)
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), x.transpose(0, 3, 1, 2))
    assert dump_name("") == "_"


def test_skip_input_quantize():
    net = _net()
    trimmed = skip_input_quantize(net)
    assert trimmed.inputs == ("a/b:0",) and [op.name for op in trimmed.ops] == ["neg"]
    assert "x" not in trimmed.tensors
    assert skip_input_quantize(trimmed) is trimmed
