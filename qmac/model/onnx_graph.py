"""Reading an ONNX graph for the importer: load and check, constants, shapes, producers, consumers.

:class:`OnnxGraph` wraps a loaded ``onnx.ModelProto`` after shape inference: initializers and
``Constant`` outputs as NumPy arrays, every tensor's static shape and element type, and which
node produces and which nodes consume each tensor. Errors are :class:`OnnxImportError`, a
ValueError whose one-line message names the node (op type, name, index) or tensor at fault.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["OnnxImportError", "OnnxGraph", "MIN_OPSET", "load_graph", "node_label"]

#: Per-axis (per-channel) QuantizeLinear/DequantizeLinear need opset 13 of the default domain.
MIN_OPSET = 13


class OnnxImportError(ValueError):
    """A model qmac cannot import; the message is one line naming the node or tensor."""


def node_label(node, index: int | None = None) -> str:
    """``"Conv 'conv1' (node 3)"``: how every message names a node."""
    domain = f"{node.domain}." if node.domain and node.domain != "ai.onnx" else ""
    name = f" {node.name!r}" if node.name else ""
    where = f" (node {index})" if index is not None else ""
    return f"{domain}{node.op_type}{name}{where}"


def load_graph(path: str | Path) -> OnnxGraph:
    """Load ``path``, check its opset and run shape inference.

    Raises
    ------
    OnnxImportError
        Missing or unreadable file, not an ONNX model, opset below :data:`MIN_OPSET`, or a
        model that onnx's checker or shape inference rejects.
    """
    import onnx

    p = Path(path)
    if not p.is_file():
        raise OnnxImportError(f"model file {str(path)!r} not found")
    try:
        model = onnx.load(str(p))
    except Exception as exc:  # protobuf's DecodeError and friends: the file is not a model
        detail = str(exc).splitlines()[0] if str(exc) else "unreadable"
        raise OnnxImportError(f"{str(path)!r} is not an ONNX model ({type(exc).__name__}: "
                              f"{detail})") from None
    if not model.graph.node:
        raise OnnxImportError(f"{str(path)!r} is not an ONNX model (its graph has no nodes)")
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if opset < MIN_OPSET:
        raise OnnxImportError(
            f"model opset {opset} is too old: qmac needs opset {MIN_OPSET} or later (per-channel "
            "QuantizeLinear/DequantizeLinear); upgrade it with onnx.version_converter."
            "convert_version(model, 13) and quantize again"
        )
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    except Exception as exc:
        raise OnnxImportError(f"onnx shape inference failed on {str(path)!r}: "
                              f"{str(exc).splitlines()[0]}") from None
    return OnnxGraph(inferred, opset, name=p.stem)


class OnnxGraph:
    """An ONNX graph with its constants, shapes and the producer/consumer maps.

    Parameters
    ----------
    model : onnx.ModelProto
        After shape inference.
    opset : int
        Version of the default domain.
    name : str
    """

    def __init__(self, model, opset: int, name: str = "onnx") -> None:
        from onnx import numpy_helper

        self.model = model
        self.graph = model.graph
        self.opset = opset
        self.name = name
        self.nodes = list(self.graph.node)
        self._index = {id(n): i for i, n in enumerate(self.nodes)}
        self.consts: dict[str, np.ndarray] = {
            t.name: numpy_helper.to_array(t) for t in self.graph.initializer
        }
        for node in self.nodes:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                self.consts[node.output[0]] = self._constant_value(node)
        self.producer: dict[str, int] = {}
        self.consumers: dict[str, list[int]] = {}
        for i, node in enumerate(self.nodes):
            for t in node.output:
                self.producer[t] = i
            for t in node.input:
                if t:
                    self.consumers.setdefault(t, []).append(i)
        self._types: dict[str, tuple[int, tuple | None]] = {}
        for vi in (*self.graph.input, *self.graph.value_info, *self.graph.output):
            tt = vi.type.tensor_type
            shape = None
            if tt.HasField("shape"):
                shape = tuple(d.dim_value if d.HasField("dim_value") else None
                              for d in tt.shape.dim)
            self._types[vi.name] = (tt.elem_type, shape)
        self.inputs = [vi.name for vi in self.graph.input if vi.name not in self.consts]
        self.outputs = [vi.name for vi in self.graph.output]

    @staticmethod
    def _constant_value(node) -> np.ndarray:
        from onnx import helper, numpy_helper

        for a in node.attribute:
            if a.name == "value":
                return numpy_helper.to_array(a.t)
            if a.name in ("value_float", "value_int"):
                return np.asarray(helper.get_attribute_value(a))
            if a.name in ("value_floats", "value_ints"):
                return np.asarray(list(helper.get_attribute_value(a)))
        raise OnnxImportError(f"{node_label(node)}: unsupported Constant attribute")

    def label(self, node) -> str:
        """How messages name ``node``: op type, name and index in the graph."""
        return node_label(node, self._index.get(id(node)))

    # ---- tensors ------------------------------------------------------------------------
    def is_const(self, name: str) -> bool:
        return name in self.consts

    def const(self, name: str, what: str, node=None) -> np.ndarray:
        """The constant ``name`` (an initializer or a Constant's output), else an error."""
        if name not in self.consts:
            where = f"{self.label(node)}: " if node is not None else ""
            raise OnnxImportError(f"{where}{what} {name!r} must be a constant (an initializer)")
        return self.consts[name]

    def dtype(self, name: str) -> str | None:
        """NumPy name of the element type of ``name`` (``"int8"``, ``"uint8"``, ``"float32"``)."""
        from onnx import helper

        if name in self.consts:
            return self.consts[name].dtype.name
        elem = self._types.get(name, (0, None))[0]
        if not elem:
            return None
        return np.dtype(helper.tensor_dtype_to_np_dtype(elem)).name

    def shape(self, name: str, node=None) -> tuple[int, ...]:
        """Static shape of ``name``; an unknown leading (batch) dimension counts as 1.

        Raises
        ------
        OnnxImportError
            If the shape is unknown or has an unknown dimension after the first.
        """
        if name in self.consts:
            return tuple(self.consts[name].shape)
        shape = self._types.get(name, (0, None))[1]
        where = f"{self.label(node)}: " if node is not None else ""
        if shape is None:
            raise OnnxImportError(f"{where}tensor {name!r} has no known shape (run "
                                  "onnx.shape_inference or export with static shapes)")
        dims = list(shape)
        if dims and dims[0] in (None, 0):
            dims[0] = 1  # an open batch: the network runs on a stack of inputs
        if any(d is None or d <= 0 for d in dims):
            raise OnnxImportError(f"{where}tensor {name!r} has a dynamic shape {shape}; qmac "
                                  "needs static shapes (batch may be open)")
        return tuple(int(d) for d in dims)

    def node(self, index: int):
        return self.nodes[index]

    def producer_of(self, name: str):
        """``(index, node)`` producing ``name``, or ``(None, None)`` for inputs and constants."""
        i = self.producer.get(name)
        return (None, None) if i is None else (i, self.nodes[i])

    def consumers_of(self, name: str) -> list[int]:
        return list(self.consumers.get(name, ()))

    def attrs(self, node) -> dict:
        """The node's attributes as Python values."""
        from onnx import helper

        return {a.name: helper.get_attribute_value(a) for a in node.attribute}
