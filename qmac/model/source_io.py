"""Tensors between a network and the user's own runtime: dtype, layout, file names.

A network holds int8 values, NHWC for 4-D tensors; the model it came from may hold the same
tensor as uint8 (ONNX: 128 higher, exactly) and NCHW. :class:`~qmac.model.network.TensorSpec`
keeps how (``source_dtype``, ``source_layout``, ``source_name``); these functions convert both
ways and name dump files after the model's own tensor names. Format-agnostic: a TFLite network
(``source_layout`` NHWC, int8) converts as the identity.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from qmac.model.network import HostOp, Network, TensorSpec

__all__ = ["to_network", "from_network", "dump_name", "dump_tensors", "skip_input_quantize"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_NP = {"int8": np.int8, "uint8": np.uint8, "float32": np.float32}


def _offset(spec: TensorSpec) -> int:
    return 128 if spec.dtype == "int8" and spec.source_dtype == "uint8" else 0


def _nchw(spec: TensorSpec, ndim: int) -> bool:
    return spec.source_layout == "NCHW" and ndim == 4


def to_network(spec: TensorSpec, values: np.ndarray) -> np.ndarray:
    """Values as the model holds them (its dtype and layout, batch first) -> the network's form.

    Raises
    ------
    TypeError
        Floats for an integer tensor or integers for a float tensor.
    ValueError
        Values outside the model's integer type, or a shape that does not match (after the batch
        dimension), naming the tensor.
    """
    x = np.asarray(values)
    want = spec.source_dtype or spec.dtype
    if spec.dtype == "int8":
        if x.dtype.kind not in "iu":
            raise TypeError(f"tensor {spec.source_name or spec.name!r} holds {want} values, not "
                            f"{x.dtype}")
        lo, hi = (0, 255) if want == "uint8" else (-128, 127)
        if x.size and (int(x.min()) < lo or int(x.max()) > hi):
            raise ValueError(f"tensor {spec.source_name or spec.name!r} must hold {want} values "
                             f"in [{lo}, {hi}], found {int(x.min())}..{int(x.max())}")
        x = x.astype(np.int64) - _offset(spec)
    elif x.dtype.kind != "f":
        raise TypeError(f"tensor {spec.source_name or spec.name!r} holds float values, not "
                        f"{x.dtype}")
    if _nchw(spec, x.ndim):
        x = x.transpose(0, 2, 3, 1)
    if x.shape[1:] != spec.shape[1:]:
        have = tuple(x.shape)
        shape = spec.shape
        if _nchw(spec, len(shape)):
            shape = (shape[0], shape[3], shape[1], shape[2])
            have = (have[0], have[3], have[1], have[2]) if len(have) == 4 else have
        raise ValueError(f"tensor {spec.source_name or spec.name!r} must have shape (N, "
                         f"{', '.join(map(str, shape[1:]))}) as the model holds it, not {have}")
    return np.ascontiguousarray(x)


def from_network(spec: TensorSpec, values: np.ndarray) -> np.ndarray:
    """The network's values of ``spec`` as the model holds them (its dtype and layout)."""
    x = np.asarray(values)
    if spec.dtype == "int8":
        x = x.astype(np.int64) + _offset(spec)
    if _nchw(spec, x.ndim):
        x = x.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x.astype(_NP.get(spec.source_dtype or spec.dtype, x.dtype)))


def dump_name(name: str) -> str:
    """A file stem for a model tensor name: characters outside ``A-Za-z0-9._-`` become ``_``."""
    return _UNSAFE.sub("_", str(name)) or "_"


def dump_tensors(network: Network, tensors: dict[str, np.ndarray], directory: str | Path
                 ) -> list[Path]:
    """Write each tensor as ``DIR/<model name>.npy`` in the model's own dtype and layout.

    Names that sanitize to the same stem get ``.1``, ``.2``... in network order. Returns the
    files written.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    written = []
    for name, spec in network.tensors.items():
        if name not in tensors:
            continue
        stem = dump_name(spec.source_name if spec.source_name is not None else name)
        base, k = stem, 0
        while stem in used:
            k += 1
            stem = f"{base}.{k}"
        used.add(stem)
        path = d / f"{stem}.npy"
        np.save(path, from_network(spec, tensors[name]))
        written.append(path)
    return written


def skip_input_quantize(network: Network) -> Network:
    """The network without the QuantizeLinear/QUANTIZE ops that quantize its float inputs.

    For inputs given already quantized: each float input read only by one quantize host op is
    replaced by that op's output. Networks without such ops are returned unchanged.
    """
    drop, inputs = set(), []
    for name in network.inputs:
        readers = [op for op in network.ops if name in op.inputs]
        if (network.tensors[name].dtype == "float32" and len(readers) == 1
                and isinstance(readers[0], HostOp)
                and readers[0].op in ("QuantizeLinear", "QUANTIZE")):
            drop.add(id(readers[0]))
            inputs.append(readers[0].output)
        else:
            inputs.append(name)
    if not drop:
        return network
    ops = [op for op in network.ops if id(op) not in drop]
    keep = set(inputs) | {op.output for op in ops}
    tensors = [t for n, t in network.tensors.items() if n in keep]
    return Network(network.name, tensors, ops, inputs, network.outputs, source=network.source)
