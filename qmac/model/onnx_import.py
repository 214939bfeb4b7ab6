"""Import an ONNX model quantized by onnxruntime (QDQ or QOperator, int8 or uint8) as a Network.

Both formats become the same network: in QDQ graphs (``DequantizeLinear`` on inputs, weights and
bias, a float op, then ``QuantizeLinear``) the importer follows the pattern around each op; in
QOperator graphs it reads ``QLinearConv``, ``QLinearMatMul``, ``com.microsoft`` ``QGemm``,
``QLinearAdd`` and ``QLinearGlobalAveragePool`` directly. Ops are found by the graph's structure,
never by tensor names (onnxruntime names tensors after the graph before BatchNorm folding).

- Conv (2-D, any groups; depthwise when ``group = Cin``), Gemm and MatMul (constant weights) run
  on the array: weights per-channel symmetric int8, bias int32 with scale ``s_x * s_w``, m0/shift
  from the float32 scales as TFLite derives them. NCHW/OIHW become NHWC/OHWI.
- Add, GlobalAveragePool (requantizing in float32 as onnxruntime does), MaxPool and Flatten /
  Reshape-to-2-D (keeping the quantization), Relu/Clip left in the graph (folded into the clamp
  of the op before them) run on the host; the float model input is quantized by the graph's
  QuantizeLinear and the float output dequantized by its DequantizeLinear.
- uint8 activations become int8 exactly (values and zero points minus 128); a Relu that the
  quantizer deleted is the clamp to the type's range, its zero point being the type's minimum.

Network tensors keep the ONNX names of the quantized tensors, shapes NHWC for 4-D, and carry the
model's own dtype and layout (``source_dtype``, ``source_layout="NCHW"``) for I/O and dumps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qmac.model import onnx_ops as ops
from qmac.model.network import Network
from qmac.model.onnx_graph import OnnxGraph, OnnxImportError, load_graph, node_label
from qmac.model.onnx_ops import QTensor
from qmac.model.onnx_qparams import MULTIPLIERS, activation_quant, bias_values, weight_values
from qmac.model.onnx_resolve import GraphResolver

__all__ = ["SUPPORTED_OPS", "load_onnx", "import_graph", "OnnxImportError", "MULTIPLIERS"]

#: Node types the importer reads (QDQ float ops between DequantizeLinear and QuantizeLinear, and
#: QOperator ops); anything else is refused naming the node.
SUPPORTED_OPS = (
    "QuantizeLinear", "DequantizeLinear", "Conv", "Gemm", "MatMul", "Add", "GlobalAveragePool",
    "MaxPool", "Flatten", "Reshape", "Relu", "Clip", "Identity", "Constant", "QLinearConv",
    "QLinearMatMul", "com.microsoft.QGemm", "com.microsoft.QLinearAdd",
    "com.microsoft.QLinearGlobalAveragePool",
)
_QUANT_OPS = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "QGemm",
              "QLinearAdd", "QLinearGlobalAveragePool"}


def load_onnx(path: str | Path, *, multiplier: str = "tflite") -> Network:
    """Read a quantized ``.onnx`` file into a :class:`~qmac.model.network.Network`.

    Parameters
    ----------
    path : str or Path
    multiplier : {"tflite", "onnxruntime"}
        How m0/shift are derived from the float32 scales (:func:`qmac.model.onnx_qparams.
        multipliers`).

    Raises
    ------
    OnnxImportError
        (a ValueError) with a one-line message: a missing or corrupt file, an opset below 13, a
        float-only model, an unsupported op (named, with :data:`SUPPORTED_OPS`), weights that
        are not per-channel symmetric int8, or another pattern the array cannot run.
    """
    if multiplier not in MULTIPLIERS:
        raise ValueError(f"multiplier must be one of {', '.join(MULTIPLIERS)}, not "
                         f"{multiplier!r}")
    return import_graph(load_graph(path), multiplier=multiplier)


def import_graph(graph: OnnxGraph, *, multiplier: str = "tflite") -> Network:
    """The network of a loaded :class:`~qmac.model.onnx_graph.OnnxGraph`."""
    return _Importer(graph, multiplier).run()


def _op_key(node) -> str:
    return f"{node.domain}.{node.op_type}" if node.domain not in ("", "ai.onnx") else node.op_type


class _Importer(GraphResolver):
    """The walk over the graph's nodes: one handler per op type (see :data:`_HANDLERS`)."""

    # ---- the walk -----------------------------------------------------------------------
    def run(self) -> Network:
        g = self.g
        if not any(n.op_type in _QUANT_OPS for n in g.nodes):
            raise OnnxImportError("float-only model: it has no QuantizeLinear or QLinear op; "
                                  "qmac runs int8/uint8 models (quantize it with "
                                  "onnxruntime.quantization.quantize_static, QDQ or QOperator)")
        for name in g.inputs:
            if g.dtype(name) == "float32":
                self._spec(name, g.shape(name), "float32")
        for i, node in enumerate(g.nodes):
            self.index = i
            if i in self.done:
                continue
            key = _op_key(node)
            handler = _HANDLERS.get(key)
            if handler is None:
                raise OnnxImportError(f"unsupported op {node_label(node, i)}; supported: "
                                      f"{', '.join(SUPPORTED_OPS)}")
            handler(self, node)
        outputs = [self.alias.get(o, o) for o in g.outputs]
        for o in outputs:
            if o not in self.specs:
                raise OnnxImportError(f"graph output {o!r} is not produced by a quantized op or "
                                      "a DequantizeLinear of one")
        return Network(g.graph.name or g.name, list(self.specs.values()), self.ops,
                       list(self._network_inputs()), outputs, source="onnx")

    def _network_inputs(self):
        for name in self.g.inputs:
            if name in self.specs:
                yield name
            elif self.g.consumers_of(name):
                raise OnnxImportError(f"graph input {name!r} is read by no quantized op")

    # ---- handlers -----------------------------------------------------------------------
    def quantize_linear(self, node) -> None:
        x = node.input[0]
        q = activation_quant(self.g, node.input[1], node.input[2] if len(node.input) > 2 else None,
                             node, "output")
        y = node.output[0]
        _, prod = self.g.producer_of(x)
        x = self.alias.get(x, x)
        if x in self.specs and self.specs[x].dtype == "float32":  # the float input, or its Flatten
            self._spec(y, self._shape(x), q.dtype, q)
            self.ops.append(ops.quantize_op(self._name(node), x, QTensor(y, q)))
        elif prod is not None and prod.op_type == "DequantizeLinear" \
                and not self.g.is_const(prod.input[0]):
            src = self._qdq_in(x, node)
            self._spec(y, self._shape(src.name), q.dtype, q)
            self.ops.append(ops.requantize_op(self._name(node), src, QTensor(y, q)))
        else:
            raise OnnxImportError(f"{self.g.label(node)} quantizes {x!r}, a float "
                                  "tensor computed by no supported quantized op")

    def dequantize_linear(self, node) -> None:
        y = node.output[0]
        if self.g.is_const(node.input[0]) or y not in self.g.outputs:
            return  # weights and bias, or an input of a QDQ op: read through by its consumer
        q = activation_quant(self.g, node.input[1], node.input[2] if len(node.input) > 2 else None,
                             node, "input")
        x = self._known(node.input[0], q, node)
        self._spec(y, self._shape(x.name), "float32")
        self.ops.append(ops.dequantize_op(self._name(node), x, y))

    def conv(self, node) -> None:
        x = self._qdq_in(node.input[0], node)
        attrs, x_shape = self.g.attrs(node), self._shape(x.name)
        w_shape = self._weight_shape(node, node.input[1])
        w, ws = self._qdq_weight(node.input[1], node, 0, w_shape[0])
        b = self._qdq_bias(node.input[2] if len(node.input) > 2 else None, node, x, ws)
        out_shape = ops.conv_output_shape(self.g.label(node), attrs, x_shape, w.shape)
        y, clip = self._qdq_out(node.output[0], node, out_shape)
        self.ops.append(ops.conv_op(self._name(node), self.g.label(node), attrs, x, x_shape, w,
                                    ws, b, y, clip, self._m0_shift(x, ws, y)))

    def qlinear_conv(self, node) -> None:
        attrs = self.g.attrs(node)
        if attrs.get("channels_last", 0):
            raise OnnxImportError(f"{self.g.label(node)}: channels_last is not "
                                  "supported")
        x = self._qop_in(node, node.input[0], node.input[1], node.input[2])
        x_shape = self._shape(x.name)
        cout = self.g.shape(node.input[3], node)[0]
        w, ws = weight_values(self.g, node.input[3], node.input[4], node.input[5], node, 0, cout)
        b = bias_values(self.g, node.input[8] if len(node.input) > 8 else None, x.q, ws, node)
        out_shape = ops.conv_output_shape(self.g.label(node), attrs, x_shape, w.shape)
        y = self._qop_out(node, node.output[0], node.input[6], node.input[7], out_shape)
        self.ops.append(ops.conv_op(self._name(node), self.g.label(node), attrs, x, x_shape, w,
                                    ws, b, y, None, self._m0_shift(x, ws, y)))

    def _fc_weights(self, node, w_name: str, trans_b: bool, qdq: bool, scale=None, zp=None):
        shape = self._weight_shape(node, w_name)
        if len(shape) != 2:
            raise OnnxImportError(f"{self.g.label(node)}: weights {w_name!r} must be "
                                  f"2-D, not {shape}")
        axis = 0 if trans_b else 1
        if qdq:
            w, ws = self._qdq_weight(w_name, node, axis, shape[axis])
        else:
            w, ws = weight_values(self.g, w_name, scale, zp, node, axis, shape[axis])
        return (w if trans_b else w.T), ws

    def _check_k(self, node, x: QTensor, w_out_in: np.ndarray) -> None:
        k = self._shape(x.name)[-1]
        if w_out_in.shape[1] != k:
            raise OnnxImportError(f"{self.g.label(node)}: weights {w_out_in.shape} "
                                  f"(out, in) do not fit input features {k}")

    def _fc_shape(self, x: QTensor, w_out_in: np.ndarray) -> tuple:
        return (self._shape(x.name)[0], w_out_in.shape[0])

    def _check_fc_input(self, node, x: QTensor) -> None:
        if len(self.specs[x.name].shape) != 2:
            raise OnnxImportError(f"{self.g.label(node)}: input {x.name!r} must be 2-D "
                                  f"(batch, features), not {self.specs[x.name].shape}")

    def _gemm_attrs(self, node) -> bool:
        a = self.g.attrs(node)
        if a.get("transA", 0) or float(a.get("alpha", 1.0)) != 1.0 \
                or float(a.get("beta", 1.0)) != 1.0:
            raise OnnxImportError(f"{self.g.label(node)}: only transA=0, alpha=1, "
                                  "beta=1 are supported")
        return bool(a.get("transB", 0))

    def gemm(self, node) -> None:
        trans_b = self._gemm_attrs(node)
        x = self._qdq_in(node.input[0], node)
        self._check_fc_input(node, x)
        w, ws = self._fc_weights(node, node.input[1], trans_b, qdq=True)
        self._check_k(node, x, w)
        b = self._qdq_bias(node.input[2] if len(node.input) > 2 else None, node, x, ws)
        y, clip = self._qdq_out(node.output[0], node, self._fc_shape(x, w))
        self.ops.append(ops.fc_op(self._name(node), x, w, b, y, clip, self._m0_shift(x, ws, y)))

    def matmul(self, node) -> None:
        x = self._qdq_in(node.input[0], node)
        self._check_fc_input(node, x)
        w, ws = self._fc_weights(node, node.input[1], False, qdq=True)
        self._check_k(node, x, w)
        b = bias_values(self.g, None, x.q, ws, node)
        y, clip = self._qdq_out(node.output[0], node, self._fc_shape(x, w))
        self.ops.append(ops.fc_op(self._name(node), x, w, b, y, clip, self._m0_shift(x, ws, y)))

    def qgemm(self, node) -> None:
        trans_b = self._gemm_attrs(node)
        if len(node.input) < 8 or not node.input[7]:
            raise OnnxImportError(f"{self.g.label(node)}: a QGemm with a float output "
                                  "(no y_scale) is not supported")
        x = self._qop_in(node, node.input[0], node.input[1], node.input[2])
        self._check_fc_input(node, x)
        w, ws = self._fc_weights(node, node.input[3], trans_b, False, node.input[4],
                                 node.input[5])
        self._check_k(node, x, w)
        b = bias_values(self.g, node.input[6] or None, x.q, ws, node)
        y = self._qop_out(node, node.output[0], node.input[7],
                          node.input[8] if len(node.input) > 8 else "", self._fc_shape(x, w))
        self.ops.append(ops.fc_op(self._name(node), x, w, b, y, None, self._m0_shift(x, ws, y)))

    def qlinear_matmul(self, node) -> None:
        x = self._qop_in(node, node.input[0], node.input[1], node.input[2])
        self._check_fc_input(node, x)
        w, ws = self._fc_weights(node, node.input[3], False, False, node.input[4], node.input[5])
        self._check_k(node, x, w)
        b = bias_values(self.g, None, x.q, ws, node)
        y = self._qop_out(node, node.output[0], node.input[6], node.input[7],
                          self._fc_shape(x, w))
        self.ops.append(ops.fc_op(self._name(node), x, w, b, y, None, self._m0_shift(x, ws, y)))

    def _check_add_shapes(self, node, a: QTensor, b: QTensor) -> tuple:
        sa, sb = self._shape(a.name), self._shape(b.name)
        if sa == sb or int(np.prod(sb)) == 1:
            return sa
        if int(np.prod(sa)) == 1:
            return sb
        raise OnnxImportError(f"{self.g.label(node)}: inputs of shapes {sa} and {sb}: "
                              "only equal shapes (or a single value) are supported")

    def add(self, node) -> None:
        a, b = self._qdq_in(node.input[0], node), self._qdq_in(node.input[1], node)
        shape = self._check_add_shapes(node, a, b)
        y, clip = self._qdq_out(node.output[0], node, shape)
        self.ops.append(ops.add_op(self._name(node), self.g.label(node), a, b, y, clip))

    def qlinear_add(self, node) -> None:
        a = self._qop_in(node, node.input[0], node.input[1], node.input[2])
        b = self._qop_in(node, node.input[3], node.input[4], node.input[5])
        shape = self._check_add_shapes(node, a, b)
        y = self._qop_out(node, node.output[0], node.input[6], node.input[7], shape)
        self.ops.append(ops.add_op(self._name(node), self.g.label(node), a, b, y, None))

    def global_average_pool(self, node) -> None:
        x = self._qdq_in(node.input[0], node)
        y, clip = self._qdq_out(node.output[0], node, self._gap_shape(x))
        self.ops.append(ops.gap_op(self._name(node), self.g.label(node), x,
                                   self._shape(x.name), y, clip))

    def _gap_shape(self, x: QTensor) -> tuple:
        s = self._shape(x.name)
        return (*s[:2], *(1,) * (len(s) - 2))

    def qlinear_global_average_pool(self, node) -> None:
        if self.g.attrs(node).get("channels_last", 0):
            raise OnnxImportError(f"{self.g.label(node)}: channels_last is not "
                                  "supported")
        x = self._qop_in(node, node.input[0], node.input[1], node.input[2])
        y = self._qop_out(node, node.output[0], node.input[3], node.input[4], self._gap_shape(x))
        self.ops.append(ops.gap_op(self._name(node), self.g.label(node), x,
                                   self._shape(x.name), y, None))

    def max_pool(self, node) -> None:
        if len(node.output) > 1 and node.output[1]:
            raise OnnxImportError(f"{self.g.label(node)}: the Indices output is not supported")
        attrs = self.g.attrs(node)
        x, y, clip = self._passthrough_io(
            node, lambda s: ops.max_pool_output_shape(self.g.label(node), attrs, s))
        self.ops.append(ops.max_pool_op(self._name(node), self.g.label(node), attrs, x,
                                        self._shape(x.name), y))
        self._clip_after(node, y, clip)

    def _clip_after(self, node, y: QTensor, clip) -> None:
        if clip is not None:  # a Relu/Clip kept after a pass-through op: a clamp of its own
            raise OnnxImportError(f"{self.g.label(node)}: a Relu/Clip after it is not "
                                  "supported (move it before the op)")

    def flatten(self, node) -> None:
        if node.op_type == "Flatten" and int(self.g.attrs(node).get("axis", 1)) != 1:
            raise OnnxImportError(f"{self.g.label(node)}: only axis=1 is supported")

        def out_shape(shape):
            flat = (shape[0], int(np.prod(shape[1:])))
            if node.op_type == "Reshape":
                target = [int(d) for d in self.g.const(node.input[1], "shape", node).ravel()]
                if len(target) != 2 or target[0] not in (0, -1, shape[0]) \
                        or target[1] not in (-1, flat[1]) or target == [-1, -1]:
                    raise OnnxImportError(f"{self.g.label(node)}: only a reshape to "
                                          f"(batch, features) is supported, not {shape} -> "
                                          f"{tuple(target)}")
            return flat

        t = self.alias.get(node.input[0], node.input[0])
        if t in self.specs and self.specs[t].dtype == "float32":  # on the float model input
            y = node.output[0]
            self._spec(y, out_shape(self._shape(t)), "float32")
            self.ops.append(ops.float_flatten_op(self._name(node), node.op_type, t, y))
            return
        x, y, clip = self._passthrough_io(node, out_shape)
        self.ops.append(ops.flatten_op(self._name(node), self.g.label(node), node.op_type, x, y))
        self._clip_after(node, y, clip)

    def clip(self, node) -> None:
        t = self.alias.get(node.input[0], node.input[0])
        if t in self.quant:  # on the quantized tensor itself: bounds are stored values
            x = QTensor(t, self.quant[t])
            y = QTensor(node.output[0], x.q)
            self._spec(y.name, self._shape(t), x.q.dtype, x.q)
            lo, hi = self._clip_bounds(node)
            lo = x.q.zero_point if node.op_type == "Relu" else max(lo, x.q.qmin)
            self.ops.append(ops.int_clamp_op(self._name(node), node.op_type, x, y, int(lo),
                                             int(min(hi, x.q.qmax))))
            return
        bounds = self._clip_bounds(node)
        x = self._qdq_in(t, node)
        y, extra = self._qdq_out(node.output[0], node, self._shape(x.name))
        if extra is not None:
            bounds = (max(bounds[0], extra[0]), min(bounds[1], extra[1]))
        self.ops.append(ops.clip_op(self._name(node), node.op_type, x, y, bounds))

    def identity(self, node) -> None:
        self.alias[node.output[0]] = self.alias.get(node.input[0], node.input[0])

    def constant(self, node) -> None:
        return None


_HANDLERS = {
    "QuantizeLinear": _Importer.quantize_linear,
    "DequantizeLinear": _Importer.dequantize_linear,
    "Conv": _Importer.conv,
    "Gemm": _Importer.gemm,
    "MatMul": _Importer.matmul,
    "Add": _Importer.add,
    "GlobalAveragePool": _Importer.global_average_pool,
    "MaxPool": _Importer.max_pool,
    "Flatten": _Importer.flatten,
    "Reshape": _Importer.flatten,
    "Relu": _Importer.clip,
    "Clip": _Importer.clip,
    "Identity": _Importer.identity,
    "Constant": _Importer.constant,
    "QLinearConv": _Importer.qlinear_conv,
    "QLinearMatMul": _Importer.qlinear_matmul,
    "com.microsoft.QGemm": _Importer.qgemm,
    "com.microsoft.QLinearAdd": _Importer.qlinear_add,
    "com.microsoft.QLinearGlobalAveragePool": _Importer.qlinear_global_average_pool,
}
