"""onnxruntime as the reference for imported ONNX models: every quantized tensor as onnxruntime
computes it inside the whole model's fused kernels.

Exposing an int8 tensor as a graph output changes which kernels onnxruntime fuses around it, so
a tensor is read from a sub-model instead: the graph cut after the tensor, with one
DequantizeLinear of it as the only output (onnxruntime fuses the producer exactly as in the
whole model; the float value ``(q - zp) * scale`` gives the stored integer back exactly).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

__all__ = ["session", "run_model", "tensor_values"]


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


def _sub_model(model: onnx.ModelProto, tensor: str, scale: float, zero_point: int,
               dtype: str) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    out = f"{tensor}__qmac_reference"
    np_dtype = np.uint8 if dtype == "uint8" else np.int8
    g.initializer.extend([
        numpy_helper.from_array(np.array(scale, np.float32), out + "_scale"),
        numpy_helper.from_array(np.array(zero_point, np_dtype), out + "_zp"),
    ])
    g.node.append(helper.make_node("DequantizeLinear", [tensor, out + "_scale", out + "_zp"],
                                   [out]))
    del g.output[:]
    g.output.append(helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None))
    inputs = [i.name for i in g.input if i.name not in {t.name for t in g.initializer}]
    return onnx.utils.Extractor(m).extract_model(inputs, [out])


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
    dict name -> int64 ndarray in the model's layout (NCHW for 4-D)
    """
    model = onnx.load(str(path))
    out = {}
    for name, scale, zp, dtype in specs:
        f = run_model(_sub_model(model, name, scale, zp, dtype), x)
        out[name] = np.rint(f.astype(np.float64) / np.float32(scale)).astype(np.int64) + zp
    return out
