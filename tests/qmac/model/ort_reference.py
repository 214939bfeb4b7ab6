"""onnxruntime as the reference for imported ONNX models: every quantized tensor as onnxruntime
computes it inside the whole model's fused kernels.

Exposing an int8 tensor as a graph output changes which kernels onnxruntime fuses around it
(and cutting the graph after it changes them too: a DequantizeLinear read by fewer ops fuses
differently). So every tensor is read through a probe: one more DequantizeLinear consumer of
it, whose float output is an extra graph output, in the whole unchanged graph. The float value
``(q - zp) * scale`` gives the stored integer back exactly. ``tensor_values`` also returns the
model's own outputs of the probed run, for checking that probing changed no kernel.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

__all__ = ["session", "run_model", "probe_model", "tensor_values"]


def session(model) -> ort.InferenceSession:
    """A one-thread CPU session (default optimizations) of a path or ModelProto."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    src = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    return ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])


def run_model(model, x: np.ndarray) -> np.ndarray:
    """The model's first output for each sample of ``x`` (batch-1 model, samples stacked)."""
    sess = session(model)
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])


def probe_model(model: onnx.ModelProto, specs: list) -> onnx.ModelProto:
    """``model`` with one DequantizeLinear per tensor of ``specs`` added as extra outputs.

    The original nodes and outputs stay; each probed tensor gains one more DequantizeLinear
    consumer (as its own consumers in a QDQ graph are), so onnxruntime fuses the graph as it fuses
    the whole model. ``specs``: (name, scale, zero_point, dtype) in the model's own type.
    """
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    for name, scale, zero_point, dtype in specs:
        out = f"{name}__qmac_probe"
        np_dtype = np.uint8 if dtype == "uint8" else np.int8
        g.initializer.extend([
            numpy_helper.from_array(np.array(scale, np.float32), out + "_scale"),
            numpy_helper.from_array(np.array(zero_point, np_dtype), out + "_zp"),
        ])
        g.node.append(helper.make_node("DequantizeLinear", [name, out + "_scale", out + "_zp"],
                                       [out], name=out))
        g.output.append(helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None))
    return m


def tensor_values(path, specs: list, x: np.ndarray) -> dict[str, np.ndarray]:
    """Stored values of quantized tensors as onnxruntime computes them in the whole model.

    Parameters
    ----------
    path : str or Path
        The quantized model.
    specs : list of (name, scale, zero_point, dtype)
        The tensors, with their quantization in the model's own type.
    x : ndarray
        Model inputs, stacked on the batch axis.

    Returns
    -------
    dict name -> int64 ndarray in the model's layout (NCHW for 4-D); ``"__outputs__"`` holds
    the model's own outputs of the probed run (a list), to check that probing changed nothing.
    """
    model = onnx.load(str(path))
    sess = session(probe_model(model, specs))
    name = sess.get_inputs()[0].name
    n_out = len(model.graph.output)
    runs = [sess.run(None, {name: x[i:i + 1]}) for i in range(len(x))]
    out: dict = {"__outputs__": [np.concatenate([r[k] for r in runs]) for k in range(n_out)]}
    for k, (t, scale, zp, _) in enumerate(specs):
        f = np.concatenate([r[n_out + k] for r in runs]).astype(np.float64)
        out[t] = np.rint(f / np.float32(scale)).astype(np.int64) + zp
    return out
