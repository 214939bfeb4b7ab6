"""Resolving an ONNX graph's quantized tensors for the importer, in QDQ and QOperator form.

:class:`GraphResolver` holds the network being built (tensor specs, their ONNX quantization, the
ops) and answers, for a node, "which quantized network tensor is this input" and "which one is
this output":

- QDQ: a float input is the output of a ``DequantizeLinear`` of an activation; weights and bias
  are ``DequantizeLinear`` of initializers; a float output goes to exactly one
  ``QuantizeLinear``, possibly through one ``Relu``/``Clip`` whose bounds fold into the clamp.
- QOperator: the op reads and writes quantized tensors, with (scale, zero point) inputs.

Shapes are propagated by the importer itself (ONNX's shape inference does not know the
``com.microsoft`` ops): each tensor is registered with its ONNX (NCHW) shape when its producer
is imported, and kept NHWC in the network.
"""

from __future__ import annotations

import numpy as np

from qmac.model.network import TensorSpec
from qmac.model.onnx_graph import OnnxGraph, OnnxImportError
from qmac.model.onnx_ops import QTensor
from qmac.model.onnx_qparams import activation_quant, bias_values, multipliers, weight_values

__all__ = ["GraphResolver"]


class GraphResolver:
    """Tensor registry and input/output resolution shared by the importer's op handlers."""

    def __init__(self, graph: OnnxGraph, multiplier: str) -> None:
        self.g = graph
        self.mode = multiplier
        self.specs: dict[str, TensorSpec] = {}
        self.quant: dict[str, object] = {}
        self.ops: list = []
        self.done: set[int] = set()
        self.alias: dict[str, str] = {}
        self.index = 0

    # ---- tensors ------------------------------------------------------------------------
    def _net_shape(self, onnx_shape: tuple) -> tuple:
        s = tuple(onnx_shape)
        return (s[0], s[2], s[3], s[1]) if len(s) == 4 else s

    def _shape(self, name: str) -> tuple:
        """ONNX-layout shape of a network tensor (as computed by the importer)."""
        spec = self.specs[self.alias.get(name, name)]
        s = spec.shape
        return (s[0], s[3], s[1], s[2]) if spec.source_layout == "NCHW" else s

    def _spec(self, name: str, shape: tuple, dtype: str, q=None) -> None:
        if name in self.specs:
            return
        self.specs[name] = TensorSpec(
            name=name, shape=self._net_shape(shape), dtype="int8" if q is not None else dtype,
            scale=None if q is None else q.scale,
            zero_point=None if q is None else q.zero_point - q.offset,
            source_name=name, source_dtype=q.dtype if q is not None else dtype,
            source_layout="NCHW" if len(shape) == 4 else None,
        )
        if q is not None:
            self.quant[name] = q

    def _known(self, name: str, q, node) -> QTensor:
        """The registered quantized tensor ``name``, checked against the quantization ``q``."""
        name = self.alias.get(name, name)
        if name not in self.quant:
            if name in self.g.inputs and self.g.dtype(name) == q.dtype:
                self._spec(name, self.g.shape(name, node), q.dtype, q)  # a quantized input
            else:
                raise OnnxImportError(f"{self.g.label(node)}: input {name!r} is not a "
                                      "quantized tensor of the network")
        have = self.quant[name]
        if (have.scale, have.zero_point, have.dtype) != (q.scale, q.zero_point, q.dtype):
            raise OnnxImportError(f"{self.g.label(node)}: reads {name!r} as {q}, but it "
                                  f"was quantized as {have}")
        return QTensor(name, q)

    def _qdq_in(self, t: str, node) -> QTensor:
        """The quantized tensor behind the float input ``t`` of a QDQ op (its DequantizeLinear)."""
        t = self.alias.get(t, t)
        _, dq = self.g.producer_of(t)
        if dq is None or dq.op_type != "DequantizeLinear" or self.g.is_const(dq.input[0]):
            label = self.g.label(node)
            if t in self.quant:
                raise OnnxImportError(f"{label}: reads the quantized tensor {t!r} directly; "
                                      "a QDQ op needs a DequantizeLinear before it")
            raise OnnxImportError(f"{label} computes in float: its input {t!r} is not a "
                                  "dequantized int8/uint8 tensor (quantize the model with "
                                  "onnxruntime.quantization.quantize_static)")
        q = activation_quant(self.g, dq.input[1], dq.input[2] if len(dq.input) > 2 else None, dq)
        return self._known(dq.input[0], q, node)

    def _qdq_weight(self, t: str, node, axis: int, cout: int):
        """(int weights, per-channel scales) behind the float weight input ``t`` of a QDQ op."""
        _, dq = self.g.producer_of(t)
        if dq is None or dq.op_type != "DequantizeLinear" or not self.g.is_const(dq.input[0]):
            if self.g.is_const(t):
                raise OnnxImportError(f"{self.g.label(node)} computes in float: its "
                                      f"weights {t!r} are {self.g.dtype(t)}, not a "
                                      "DequantizeLinear of int8 weights")
            raise OnnxImportError(f"{self.g.label(node)}: weights {t!r} must be a "
                                  "DequantizeLinear of an int8 initializer")
        dq_axis = int(self.g.attrs(dq).get("axis", 1))
        w = self.g.const(dq.input[0], "weights", dq)
        if dq_axis < 0:
            dq_axis += w.ndim
        scale = self.g.const(dq.input[1], "weight scale", dq)
        if scale.size > 1 and dq_axis != axis:
            raise OnnxImportError(f"{self.g.label(node)}: weights {dq.input[0]!r} are "
                                  f"quantized along axis {dq_axis}, not the output-channel "
                                  f"axis {axis}")
        zp = dq.input[2] if len(dq.input) > 2 else None
        wv, ws = weight_values(self.g, dq.input[0], dq.input[1], zp, node, axis, cout)
        return wv, ws

    def _qdq_bias(self, t: str | None, node, x: QTensor, w_scale: np.ndarray) -> np.ndarray:
        if not t:
            return bias_values(self.g, None, x.q, w_scale, node)
        _, dq = self.g.producer_of(t)
        if dq is None or dq.op_type != "DequantizeLinear" or not self.g.is_const(dq.input[0]):
            raise OnnxImportError(f"{self.g.label(node)}: bias {t!r} must be a "
                                  "DequantizeLinear of an int32 initializer")
        zp = dq.input[2] if len(dq.input) > 2 else None
        return bias_values(self.g, dq.input[0], x.q, w_scale, node, dq.input[1], zp)

    def _clip_bounds(self, node) -> tuple[float, float]:
        if node.op_type == "Relu":
            return (0.0, float("inf"))
        attrs = self.g.attrs(node)
        lo, hi = attrs.get("min", -np.inf), attrs.get("max", np.inf)
        if len(node.input) > 1 and node.input[1]:
            lo = self.g.const(node.input[1], "Clip min", node).reshape(())
        if len(node.input) > 2 and node.input[2]:
            hi = self.g.const(node.input[2], "Clip max", node).reshape(())
        return float(lo), float(hi)

    def _qdq_out(self, t: str, node, shape: tuple) -> tuple[QTensor, tuple | None]:
        """The QuantizeLinear after the float output ``t`` (through one Relu/Clip, folded)."""
        clip = None
        label = self.g.label(node)
        users = self.g.consumers_of(t)
        if len(users) == 1 and self.g.node(users[0]).op_type in ("Relu", "Clip") \
                and users[0] not in self.done:
            act = self.g.node(users[0])
            clip = self._clip_bounds(act)
            self.done.add(users[0])
            t, users = act.output[0], self.g.consumers_of(act.output[0])
        if len(users) != 1 or self.g.node(users[0]).op_type != "QuantizeLinear" \
                or t in self.g.outputs:
            found = ", ".join(self.g.label(self.g.node(u)) for u in users) or "none"
            raise OnnxImportError(f"{label}: its output {t!r} must go to exactly one "
                                  f"QuantizeLinear (the array's output is quantized); consumers: "
                                  f"{found}")
        qn = self.g.node(users[0])
        self.done.add(users[0])
        q = activation_quant(self.g, qn.input[1], qn.input[2] if len(qn.input) > 2 else None, qn)
        self._spec(qn.output[0], shape, q.dtype, q)
        return QTensor(qn.output[0], q), clip

    def _qop_in(self, node, t: str, scale: str, zp: str) -> QTensor:
        q = activation_quant(self.g, scale, zp, node, "input")
        return self._known(t, q, node)

    def _qop_out(self, node, t: str, scale: str, zp: str, shape: tuple) -> QTensor:
        q = activation_quant(self.g, scale, zp, node, "output")
        self._spec(t, shape, q.dtype, q)
        return QTensor(t, q)

    def _name(self, node) -> str:
        base = node.name or f"{node.op_type}_{self.index}"
        taken = {op.name for op in self.ops}
        return base if base not in taken else f"{base}_{self.index}"

    def _m0_shift(self, x: QTensor, ws: np.ndarray, y: QTensor):
        return multipliers(x.q, ws, y.q, self.mode)

    def _weight_shape(self, node, t: str) -> tuple:
        """Shape of the (dequantized) weight tensor ``t``: its int8 initializer's."""
        _, dq = self.g.producer_of(t)
        src = dq.input[0] if dq is not None and dq.op_type == "DequantizeLinear" else t
        return self.g.shape(src, node)

    def _passthrough_io(self, node, out_shape) -> tuple[QTensor, QTensor, tuple | None]:
        """Input and output of an op that keeps the quantization, in either format.

        ``out_shape(x_shape)`` gives the output's ONNX shape from the input's.
        """
        t = self.alias.get(node.input[0], node.input[0])
        if t in self.quant:  # QOperator: the op reads the quantized tensor itself
            x = QTensor(t, self.quant[t])
            y = node.output[0]
            self._spec(y, out_shape(self._shape(t)), x.q.dtype, x.q)
            return x, QTensor(y, x.q), None
        x = self._qdq_in(t, node)
        y, clip = self._qdq_out(node.output[0], node, out_shape(self._shape(x.name)))
        return x, y, clip
