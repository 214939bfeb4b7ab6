"""One-op onnxruntime models for the ONNX host-op tests: QuantizeLinear, DequantizeLinear,
QLinearAdd, QLinearGlobalAveragePool, MaxPool, each on int8 or uint8 (NCHW as ONNX holds it).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

__all__ = ["run_one_op", "ELEM"]

ELEM = {"int8": (TensorProto.INT8, np.int8), "uint8": (TensorProto.UINT8, np.uint8),
        "float32": (TensorProto.FLOAT, np.float32)}


def _init(name: str, value, dtype: str) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value, ELEM[dtype][1]), name)


def run_one_op(
    op: str,
    inputs: dict[str, tuple[np.ndarray, str]],
    consts: dict[str, tuple[object, str]],
    order: list[str],
    out_dtype: str,
    domain: str = "",
    **attrs,
) -> np.ndarray:
    """Run one node ``op(order...)`` on ``inputs`` (name -> (array, dtype)) in a CPU session.

    ``consts`` are initializers (name -> (value, dtype)); the result is returned as int64 for an
    integer output and float32 otherwise.
    """
    node = helper.make_node(op, order, ["y"], domain=domain, **attrs)
    vin = [helper.make_tensor_value_info(n, ELEM[dt][0], list(a.shape))
           for n, (a, dt) in inputs.items()]
    vout = [helper.make_tensor_value_info("y", ELEM[out_dtype][0], None)]
    inits = [_init(n, v, dt) for n, (v, dt) in consts.items()]
    graph = helper.make_graph([node], "one_op", vin, vout, initializer=inits)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    feed = {n: np.asarray(a, ELEM[dt][1]) for n, (a, dt) in inputs.items()}
    y = sess.run(None, feed)[0]
    return y.astype(np.int64) if out_dtype != "float32" else y
