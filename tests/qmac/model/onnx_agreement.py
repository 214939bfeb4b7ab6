"""Agreement of an imported ONNX network with onnxruntime, tensor by tensor and op by op.

- ``reference``: every quantized tensor as onnxruntime computes it in the whole model's fused
  kernels (:func:`tests.qmac.model.ort_reference.tensor_values`), in the network's form, and
  the model's own outputs of that run under ``"__outputs__"``.
- ``op_agreement``: each op applied to onnxruntime's own inputs, compared with onnxruntime's
  output: host ops must be exact; array ops are measured for each rounding mode, beside an
  emulation of onnxruntime's float32 requantization of the same exact accumulators (which must be
  exact: it shows that rounding is the whole difference).
- ``chain_agreement``: the network's own tensors (each computed from the network's previous
  ones, as ``qmac run`` computes them) against onnxruntime's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import golden.hostops as H
from qmac.model.network import ArrayOp, Network
from qmac.model.onnx_io import source_quant
from qmac.model.source_io import to_network
from tests.qmac.model.ort_reference import tensor_values

__all__ = ["Diff", "reference", "op_agreement", "chain_agreement", "ort_requantized"]


@dataclass
class Diff:
    """How one tensor differs: elements, elements that differ, largest |difference| in LSB."""

    name: str
    op: str
    outputs: int
    differ: int
    max_abs: int

    @property
    def share(self) -> float:
        return self.differ / self.outputs if self.outputs else 0.0


def _diff(name: str, op: str, got: np.ndarray, want: np.ndarray) -> Diff:
    d = np.abs(np.asarray(got, np.int64) - np.asarray(want, np.int64))
    return Diff(name, op, int(d.size), int(np.count_nonzero(d)), int(d.max()) if d.size else 0)


def reference(path, network: Network, x_source: np.ndarray) -> dict[str, np.ndarray]:
    """onnxruntime's value of every int8 network tensor (network form) for model inputs ``x``."""
    specs = [t for t in network.tensors.values() if t.dtype == "int8"]
    rows = [(t.source_name, t.scale, source_quant(t).zero_point, source_quant(t).dtype)
            for t in specs]
    vals = tensor_values(path, rows, x_source)
    ref = {t.name: to_network(t, vals[t.source_name]) for t in specs}
    ref["__outputs__"] = vals["__outputs__"]
    return ref


def ort_requantized(op: ArrayOp, ort_op: ArrayOp, x: np.ndarray) -> np.ndarray:
    """onnxruntime's QLinearConv/QGemm output: golden's exact accumulators, float32 requant.

    ``ort_op`` is the same op imported with ``multiplier="onnxruntime"``: its Q31 m0/shift hold
    onnxruntime's float32 multiplier exactly (24 significant bits).
    """
    scale = ort_op.m0.astype(np.float64) * np.exp2(ort_op.shift.astype(np.float64) - 31)
    if not np.array_equal(scale.astype(np.float32).astype(np.float64), scale):
        raise AssertionError(f"{op.name}: the onnxruntime multiplier is not a float32")
    y = H.requantize_float32(op.layer(x).acc(), scale.astype(np.float32), op.y_zp, -128, 127)
    return np.clip(y, op.act_min, op.act_max)


def op_agreement(network: Network, ort_network: Network, ref: dict[str, np.ndarray],
                 roundings=("tflite", "single")) -> list[dict]:
    """Per op on onnxruntime's inputs: ``{"op", "name", "kind", <mode>: Diff, ...}``.

    Array ops get one Diff per rounding and ``"ort_emulation"``; host ops get ``"host"``.
    """
    ort_ops = {o.name: o for o in ort_network.ops}
    rows = []
    ref = {k: v for k, v in ref.items() if k != "__outputs__"}
    for op in network.ops:
        if op.output not in ref or any(t not in ref for t in op.inputs):
            continue  # the float edges: QuantizeLinear's input, DequantizeLinear's output
        xs = [ref[t] for t in op.inputs]
        want = ref[op.output]
        row = {"op": op.op, "name": op.name, "kind": op.kind}
        if isinstance(op, ArrayOp):
            layer = op.layer(xs[0])
            for r in roundings:
                row[r] = _diff(op.output, op.op, layer.output(rounding=r), want)
            row["ort_emulation"] = _diff(op.output, op.op,
                                         ort_requantized(op, ort_ops[op.name], xs[0]), want)
        else:
            row["host"] = _diff(op.output, op.op, op.apply(xs), want)
        rows.append(row)
    return rows


def chain_agreement(network: Network, tensors: dict[str, np.ndarray],
                    ref: dict[str, np.ndarray]) -> list[Diff]:
    """The network's own tensors (a run with ``keep_tensors``) against onnxruntime's."""
    producer = {op.output: op.op for op in network.ops}
    ref = {k: v for k, v in ref.items() if k != "__outputs__"}
    return [_diff(name, producer.get(name, "input"), tensors[name], ref[name])
            for name in ref if name in tensors]

