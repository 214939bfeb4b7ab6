"""The network record: an ordered graph of array ops and host ops over named quantized tensors.

A :class:`Network` is what an importer (TFLite, ONNX) or a quantization flow (the digits CNN)
produces and what :func:`qmac.model.run.run_network` executes: tensors with shape, dtype and
per-tensor quantization; array ops (``golden.Layer`` ops: conv2d, depthwise_conv2d,
fully_connected, matmul) that run on the array; host ops (TFLite's integer semantics from
``golden.hostops``) that run beside it, as a CPU would. Ops are in execution order: every input
of an op is a network input or the output of an earlier op.

Shapes are the network's own, batch first, in the array's layout (NHWC for 4-D activations); a
batch-1 model runs on a stack of N inputs, every tensor then having N in place of the leading 1.
How a tensor looks in the user's own runtime (its name there, dtype and layout) is kept beside it
(:class:`TensorSpec` ``source_*``), so results can be handed back in the user's terms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

import golden
from golden.hostops import TensorQuant

__all__ = ["DTYPES", "TensorSpec", "ArrayOp", "HostOp", "Network"]

#: Tensor element types of a network: quantized values, and float at the model's edges.
DTYPES = ("int8", "float32")


@dataclass(frozen=True)
class TensorSpec:
    """One tensor of a network.

    Parameters
    ----------
    name : str
        Unique within the network.
    shape : tuple of int
        Batch first (1 in a batch-1 model), NHWC for 4-D activations.
    dtype : {"int8", "float32"}
    scale, zero_point : float, int
        Per-tensor quantization of an int8 tensor (None for float32).
    source_name : str, optional
        The tensor's name or index in the model file (TFLite subgraph index, ONNX name).
    source_dtype : str, optional
        Element type in the user's runtime (``"int8"``, ``"uint8"``, ``"float32"``).
    source_layout : str, optional
        ``"NHWC"`` or ``"NCHW"`` for 4-D tensors as the user's runtime holds them.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str = "int8"
    scale: float | None = None
    zero_point: int | None = None
    source_name: str | None = None
    source_dtype: str | None = None
    source_layout: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"tensor name must be a non-empty string, not {self.name!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"tensor {self.name!r}: dtype must be one of {DTYPES}, not "
                             f"{self.dtype!r}")
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        if self.dtype == "int8":
            TensorQuant(self.scale, self.zero_point)  # validates scale and zero point

    @property
    def quant(self) -> TensorQuant:
        """The tensor's quantization (int8 tensors)."""
        if self.dtype != "int8":
            raise ValueError(f"tensor {self.name!r} is {self.dtype}, it has no quantization")
        return TensorQuant(self.scale, self.zero_point)


@dataclass(frozen=True, eq=False)
class ArrayOp:
    """A conv2d, depthwise_conv2d, fully_connected or matmul op that runs on the array.

    Everything of a ``golden.Layer`` but the activations: the layer is made for each input by
    :meth:`layer`. ``m0``/``shift`` are Q31 (mult_bits = 32 form, as TFLite derives them).
    A fully connected op flattens an input of more than two dimensions to (batch, features), as
    TFLite's FULLY_CONNECTED does.
    """

    name: str
    op: str
    input: str
    output: str
    w: np.ndarray
    bias: np.ndarray
    m0: np.ndarray
    shift: np.ndarray
    x_zp: int
    y_zp: int
    act_min: int
    act_max: int
    stride: tuple[int, int] = (1, 1)
    padding: str | tuple[int, int, int, int] = "VALID"
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    a_bits: int = 8
    w_bits: int = 8
    out_bits: int = 8

    kind = "array"

    def __post_init__(self) -> None:
        if self.op not in golden.OPS:
            raise ValueError(f"op {self.name!r}: op must be one of {', '.join(golden.OPS)}, "
                             f"not {self.op!r}")

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,)

    def layer(self, x: np.ndarray) -> golden.Layer:
        """The ``golden.Layer`` applying this op to integer activations ``x``."""
        x = np.asarray(x, dtype=np.int64)
        if self.op == "fully_connected" and x.ndim != 2:
            x = x.reshape(len(x), -1)
        return golden.Layer(
            op=self.op, x=x, w=self.w, bias=self.bias, m0=self.m0, shift=self.shift,
            x_zp=self.x_zp, y_zp=self.y_zp, act_min=self.act_min, act_max=self.act_max,
            stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups,
            a_bits=self.a_bits, w_bits=self.w_bits, out_bits=self.out_bits,
        )

    @property
    def k(self) -> int:
        """Reduction length of one output (products per accumulator)."""
        return golden.reduction_length(self.op, self.w.shape)


@dataclass(frozen=True, eq=False)
class HostOp:
    """An op that runs beside the array with TFLite's integer semantics (``golden.hostops``).

    Parameters
    ----------
    name : str
        Unique within the network.
    op : str
        The op's name in the model's framework (``"ADD"``, ``"MEAN"``, ``"QuantizeLinear"``...).
    inputs : tuple of str
        Tensor names, in the order ``apply`` takes them.
    output : str
    apply : callable
        ``apply(list of ndarrays) -> ndarray`` with the op's parameters bound (built once by the
        importer from the tensors' quantization); batch-agnostic.
    params : object, optional
        The parameter record, for display and tests.
    """

    name: str
    op: str
    inputs: tuple[str, ...]
    output: str
    apply: Callable[[list[np.ndarray]], np.ndarray]
    params: object = None

    kind = "host"


@dataclass(frozen=True, eq=False)
class Network:
    """An ordered graph of ops over named tensors (checked on construction).

    Parameters
    ----------
    name : str
    tensors : sequence of TensorSpec
    ops : sequence of ArrayOp or HostOp
        In execution order.
    inputs, outputs : sequence of str
        The network's input and output tensor names.
    source : str
        Where it came from (``"tflite"``, ``"onnx"``, ``"qmac"``), for messages.

    Raises
    ------
    ValueError
        A duplicate name, an op reading a tensor not produced before it, an unknown tensor.
    """

    name: str
    tensors: dict[str, TensorSpec]
    ops: tuple
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    source: str = "qmac"
    _producer: dict[str, int] = field(default_factory=dict, repr=False)

    def __init__(
        self,
        name: str,
        tensors: Sequence[TensorSpec],
        ops: Sequence[ArrayOp | HostOp],
        inputs: Sequence[str],
        outputs: Sequence[str],
        source: str = "qmac",
    ) -> None:
        table: dict[str, TensorSpec] = {}
        for t in tensors:
            if t.name in table:
                raise ValueError(f"tensor name {t.name!r} appears twice")
            table[t.name] = t
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "tensors", table)
        set_(self, "ops", tuple(ops))
        set_(self, "inputs", tuple(inputs))
        set_(self, "outputs", tuple(outputs))
        set_(self, "source", source)
        set_(self, "_producer", self._check())

    def _check(self) -> dict[str, int]:
        known = set()
        for name in self.inputs:
            if name not in self.tensors:
                raise ValueError(f"network input {name!r} is not a tensor of the network")
            known.add(name)
        producer: dict[str, int] = {}
        names = set()
        for i, op in enumerate(self.ops):
            if op.name in names:
                raise ValueError(f"op name {op.name!r} appears twice")
            names.add(op.name)
            for t in op.inputs:
                if t not in self.tensors:
                    raise ValueError(f"op {i} ({op.op} {op.name!r}) reads unknown tensor {t!r}")
                if t not in known:
                    raise ValueError(
                        f"op {i} ({op.op} {op.name!r}) reads tensor {t!r} before it is produced"
                    )
            if op.output not in self.tensors:
                raise ValueError(f"op {i} ({op.op} {op.name!r}) writes unknown tensor "
                                 f"{op.output!r}")
            if op.output in known:
                raise ValueError(f"op {i} ({op.op} {op.name!r}) writes tensor {op.output!r}, "
                                 "which already has a value")
            known.add(op.output)
            producer[op.output] = i
        for name in self.outputs:
            if name not in known:
                raise ValueError(f"network output {name!r} is produced by no op")
        return producer

    @property
    def array_ops(self) -> list[ArrayOp]:
        return [op for op in self.ops if isinstance(op, ArrayOp)]

    def producer(self, tensor: str) -> int | None:
        """Index of the op that writes ``tensor`` (None for a network input)."""
        return self._producer.get(tensor)
