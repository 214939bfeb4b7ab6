"""LiteRT as the oracle for whole .tflite models: every tensor of a run, and one op cut out alone.

``run_all`` runs a model sample by sample (the models are batch 1) with
``experimental_preserve_all_tensors=True`` and returns every tensor stacked over the samples.
``cut_op`` makes a one-op model from one operator of a model file (its tensors, buffers and
options unchanged; its non-constant inputs become the graph inputs), so that a kernel can be run
on inputs of our choosing: qmac's own inputs to that op. Kernel sets as in
``tests/golden/hostops/litert_one_op.py``: ``"ref"`` (BUILTIN_REF), ``"opt"``
(BUILTIN_WITHOUT_DEFAULT_DELEGATES), ``"xnnpack"`` (the default interpreter).
"""

from __future__ import annotations

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter

from tests.golden.hostops.litert_one_op import RESOLVERS

__all__ = ["run_all", "cut_op", "run_cut", "activation_indices", "RESOLVERS"]


def _interpreter(model: bytes, resolver: str, preserve: bool = False) -> Interpreter:
    it = Interpreter(model_content=model, experimental_op_resolver_type=RESOLVERS[resolver],
                     experimental_preserve_all_tensors=preserve)
    it.allocate_tensors()
    return it


def run_all(model: bytes, x: np.ndarray, resolver: str = "ref") -> dict[int, np.ndarray]:
    """Every tensor of ``model`` on each sample of ``x`` (N, ...), stacked: index -> (N, ...).

    With ``"xnnpack"`` the delegate hides intermediates; only the outputs are returned then.
    """
    it = _interpreter(model, resolver, preserve=resolver != "xnnpack")
    (inp,) = it.get_input_details()
    wanted = ([d["index"] for d in it.get_output_details()] if resolver == "xnnpack"
              else [d["index"] for d in it.get_tensor_details()])
    per_sample: dict[int, list] = {i: [] for i in wanted}
    for sample in x:
        it.set_tensor(inp["index"], np.ascontiguousarray(sample[None], dtype=inp["dtype"]))
        it.invoke()
        for i in wanted:
            try:
                per_sample[i].append(it.get_tensor(i)[0].copy())
            except (ValueError, IndexError):  # scratch tensors without data
                per_sample[i] = None
        per_sample = {i: v for i, v in per_sample.items() if v is not None}
    return {i: np.stack(v) for i, v in per_sample.items()}


def activation_indices(model: bytes) -> list[int]:
    """Indices of the tensors that ops write (the activations qmac dumps), in op order."""
    m = schema.ModelT.InitFromPackedBuf(model, 0)
    return [t for op in m.subgraphs[0].operators for t in op.outputs]


def _has_data(m, t) -> bool:
    buf = m.buffers[m.subgraphs[0].tensors[t].buffer]
    return buf.data is not None and len(buf.data) > 0


def cut_op(model: bytes, op_index: int) -> tuple[bytes, list[int]]:
    """A one-op model of operator ``op_index`` and the tensor indices of its graph inputs."""
    m = schema.ModelT.InitFromPackedBuf(model, 0)
    sg = m.subgraphs[0]
    op = sg.operators[op_index]
    sg.operators = [op]
    sg.inputs = [t for t in op.inputs if t >= 0 and not _has_data(m, t)]
    sg.outputs = list(op.outputs)
    m.subgraphs = [sg]
    m.signatureDefs = None
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), list(sg.inputs)


def run_cut(model: bytes, op_index: int, feeds: dict[int, np.ndarray],
            resolver: str = "ref") -> np.ndarray:
    """Operator ``op_index`` of ``model`` alone on ``feeds`` (tensor index -> (N, ...) values),
    sample by sample; its first output stacked, (N, ...)."""
    cut, inputs = cut_op(model, op_index)
    it = _interpreter(cut, resolver)
    details = {d["index"]: d for d in it.get_input_details()}
    out = it.get_output_details()[0]
    n = len(next(iter(feeds.values())))
    ys = []
    for s in range(n):
        for t in inputs:
            d = details[t]
            it.set_tensor(t, np.ascontiguousarray(feeds[t][s][None], dtype=d["dtype"]))
        it.invoke()
        ys.append(it.get_tensor(out["index"])[0].copy())
    return np.stack(ys)
