"""What every TFLite op converter shares: typed access to an op's tensors, with errors naming them.

An :class:`OpContext` wraps one operator of a :class:`~qmac.model.tflite_read.TfliteModel`.
Its accessors check what qmac needs (int8 activations quantized per tensor, constant int8
weights with zero point 0, int32 bias...) and raise :class:`~qmac.model.tflite_read.TfliteError`
naming the op, its index and the tensor otherwise. Activation tensors become
:class:`~qmac.model.network.TensorSpec` entries of the network as the converters meet them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from golden.hostops import ACTIVATIONS, TensorQuant
from qmac.model.network import TensorSpec
from qmac.model.tflite_read import TfliteError, TfliteModel, TfliteOp, TfliteTensor

__all__ = ["OpContext", "TensorNames", "ACTIVATION_CODES", "PADDING_CODES", "bind_constants"]

#: TFLite ActivationFunctionType codes -> names (golden.hostops.ACTIVATIONS are supported).
ACTIVATION_CODES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH",
                    5: "SIGN_BIT"}
#: TFLite Padding codes -> names.
PADDING_CODES = {0: "SAME", 1: "VALID"}

_FULL_INTEGER_HINT = ("qmac runs full-integer int8 models (TFLiteConverter with a representative "
                      "dataset and supported_ops=[TFLITE_BUILTINS_INT8])")


class TensorNames:
    """Unique network tensor names for TFLite tensor indices, and the specs made so far."""

    def __init__(self, model: TfliteModel) -> None:
        counts: dict[str, int] = {}
        for t in model.tensors:
            counts[t.name] = counts.get(t.name, 0) + 1
        self._names = {
            t.index: t.name if t.name and counts[t.name] == 1 else f"{t.name or 'tensor'}#{t.index}"
            for t in model.tensors
        }
        self.specs: dict[str, TensorSpec] = {}

    def __getitem__(self, index: int) -> str:
        return self._names[index]

    def spec(self, t: TfliteTensor, dtype: str) -> str:
        """The network name of activation tensor ``t``, adding its spec on first use."""
        name = self._names[t.index]
        if name not in self.specs:
            scale = zp = None
            if dtype == "int8":
                scale, zp = float(t.scales[0]), int(t.zero_points[0])
            self.specs[name] = TensorSpec(
                name, t.shape, dtype, scale, zp, source_name=str(t.index), source_dtype=t.dtype,
                source_layout="NHWC" if len(t.shape) == 4 else None)
        return name

    def add(self, spec: TensorSpec) -> str:
        """An extra tensor of qmac's own (no TFLite index), e.g. a 2-D view of a tensor."""
        if spec.name in self.specs or spec.name in self._names.values():
            raise ValueError(f"tensor name {spec.name!r} is taken")
        self.specs[spec.name] = spec
        return spec.name


class OpContext:
    """One operator of the model, with checked access to its tensors and options."""

    def __init__(self, model: TfliteModel, op: TfliteOp, names: TensorNames) -> None:
        self.model, self.op, self.names = model, op, names
        self.options = op.options

    # ---- errors and naming -----------------------------------------------------------
    @property
    def op_name(self) -> str:
        """Network name of the op: TFLite's op name and index."""
        return f"{self.op.name}_{self.op.index}"

    def error(self, message: str) -> TfliteError:
        return TfliteError(f"{self.op.describe()}: {message}")

    def _dtype_error(self, t: TfliteTensor, role: str, want: str) -> TfliteError:
        what = f"{role} {t.describe()} is {t.dtype}"
        if t.dtype in ("float32", "float16") and want == "int8":
            return self.error(f"{what}, a float op: {_FULL_INTEGER_HINT}")
        if t.dtype == "int16":
            return self.error(f"{what} (16x8 quantization); qmac needs {want} here")
        if t.dtype == "uint8":
            return self.error(f"{what}; qmac needs {want} here (convert with int8 "
                              "inference_input_type/inference_output_type)")
        return self.error(f"{what}; qmac needs {want} here")

    # ---- tensors ----------------------------------------------------------------------
    def _tensor(self, side: str, pos: int, role: str, optional: bool = False):
        indices = self.op.inputs if side == "input" else self.op.outputs
        if pos >= len(indices) or indices[pos] < 0:
            if optional:
                return None
            raise self.error(f"has no {role} ({side} {pos})")
        return self.model.tensors[indices[pos]]

    def input_tensor(self, pos: int, role: str = "input", optional: bool = False):
        return self._tensor("input", pos, role, optional)

    def output_tensor(self, pos: int = 0, role: str = "output") -> TfliteTensor:
        return self._tensor("output", pos, role)

    def _quant(self, t: TfliteTensor, role: str) -> TensorQuant:
        if t.scales is None:
            raise self.error(f"{role} {t.describe()} is int8 without quantization parameters")
        if len(t.scales) != 1:
            raise self.error(f"{role} {t.describe()} is quantized per channel ({len(t.scales)} "
                             "scales); activations need one scale and zero point")
        try:
            return TensorQuant(float(t.scales[0]), int(t.zero_points[0]))
        except (TypeError, ValueError) as exc:
            raise self.error(f"{role} {t.describe()}: {exc}") from None

    def _check_batch(self, t: TfliteTensor, role: str) -> None:
        if t.is_variable:
            raise self.error(f"{role} {t.describe()} is a variable (stateful) tensor")
        if not t.shape or t.shape[0] != 1:
            raise self.error(
                f"{role} {t.describe()} has shape {t.shape}: qmac runs batch-1 models (leading "
                "dimension 1) on a stack of inputs"
            )

    def activation(self, t: TfliteTensor, role: str, dtype: str = "int8") -> tuple[str, object]:
        """``(network name, TensorQuant or None)`` of activation ``t`` of element type ``dtype``."""
        if t.dtype != dtype:
            raise self._dtype_error(t, role, dtype)
        if t.is_constant:
            raise self.error(f"{role} {t.describe()} is a constant; qmac needs an activation here")
        self._check_batch(t, role)
        q = self._quant(t, role) if dtype == "int8" else None
        return self.names.spec(t, dtype), q

    def act_input(self, pos: int = 0, role: str = "input", dtype: str = "int8"):
        """``(tensor, network name, TensorQuant)`` of an activation input."""
        t = self.input_tensor(pos, role)
        name, q = self.activation(t, role, dtype)
        return t, name, q

    def act_output(self, pos: int = 0, role: str = "output", dtype: str = "int8"):
        """``(tensor, network name, TensorQuant)`` of an activation output."""
        t = self.output_tensor(pos, role)
        name, q = self.activation(t, role, dtype)
        return t, name, q

    def int8_operand(self, pos: int, role: str):
        """An int8 input that may be an activation or a constant: ``(tensor, name|None, quant)``."""
        t = self.input_tensor(pos, role)
        if not t.is_constant:
            return self.act_input(pos, role)
        if t.dtype != "int8":
            raise self._dtype_error(t, role, "int8")
        return t, None, self._quant(t, role)

    def constant(self, pos: int, role: str, dtypes: tuple[str, ...] = ("int32", "int64"),
                 optional: bool = False) -> np.ndarray | None:
        """The contents of a constant input (int64 for integer types)."""
        t = self.input_tensor(pos, role, optional)
        if t is None:
            return None
        if not t.is_constant:
            raise self.error(f"{role} {t.describe()} must be a constant, not computed at run time")
        if t.dtype not in dtypes:
            raise self.error(f"{role} {t.describe()} is {t.dtype}, not {' or '.join(dtypes)}")
        return t.data.astype(np.int64) if t.data.dtype.kind in "iub" else t.data

    def weights(self, pos: int, axis: int, channels: int | None = None):
        """Constant int8 weights quantized symmetrically per tensor or per channel of ``axis``.

        Returns
        -------
        (w int64 ndarray, scales float32 (C,) ndarray, per_channel bool)
        """
        t = self.input_tensor(pos, "weights")
        if not t.is_constant:
            raise self.error(f"weights {t.describe()} are computed at run time; qmac needs "
                             "constant weights")
        if t.dtype != "int8":
            raise self._dtype_error(t, "weights", "int8")
        if t.scales is None:
            raise self.error(f"weights {t.describe()} have no quantization parameters")
        c = t.shape[axis] if channels is None else channels
        if len(t.scales) not in (1, c):
            raise self.error(f"weights {t.describe()} have {len(t.scales)} scales, not 1 or {c}")
        if len(t.scales) > 1 and t.quantized_dimension != axis:
            raise self.error(f"weights {t.describe()} are quantized along dimension "
                             f"{t.quantized_dimension}, not the output channels ({axis})")
        if np.any(t.zero_points != 0):
            raise self.error(f"weights {t.describe()} have a nonzero zero point; qmac needs "
                             "symmetric weights (zero point 0)")
        if not np.all(np.isfinite(t.scales)) or np.any(t.scales <= 0):
            raise self.error(f"weights {t.describe()} have a scale that is not finite and > 0")
        scales = np.broadcast_to(t.scales, (c,)).astype(np.float32)
        return t.data.astype(np.int64), scales, len(t.scales) > 1

    def bias(self, pos: int, channels: int) -> np.ndarray:
        """The int32 bias as int64 (zeros when the op has none)."""
        t = self.input_tensor(pos, "bias", optional=True)
        if t is None:
            return np.zeros(channels, np.int64)
        if not t.is_constant:
            raise self.error(f"bias {t.describe()} is computed at run time; qmac needs a "
                             "constant bias")
        if t.dtype != "int32":
            raise self.error(f"bias {t.describe()} is {t.dtype}; qmac needs int32 bias "
                             "(int8 activations)")
        if t.data.size != channels:
            raise self.error(f"bias {t.describe()} has {t.data.size} values for {channels} "
                             "output channels")
        return t.data.reshape(channels).astype(np.int64)

    # ---- options ------------------------------------------------------------------------
    def option(self, key: str, default=None):
        return self.options.get(key, default)

    def fused_activation(self) -> str:
        code = int(self.option("FusedActivationFunction", 0))
        name = ACTIVATION_CODES.get(code, f"code {code}")
        if name not in ACTIVATIONS:
            raise self.error(f"fused activation {name} is not supported (supported: "
                             f"{', '.join(ACTIVATIONS)})")
        return name

    def padding(self) -> str:
        code = int(self.option("Padding", 0))
        if code not in PADDING_CODES:
            raise self.error(f"padding code {code} is not SAME (0) or VALID (1)")
        return PADDING_CODES[code]

    def expect_shape(self, t: TfliteTensor, shape: tuple[int, ...], role: str = "output") -> None:
        if tuple(t.shape) != tuple(shape):
            raise self.error(f"{role} {t.describe()} has shape {t.shape}, but the op computes "
                             f"{tuple(shape)}")

    def batch_axis_error(self, what: str) -> TfliteError:
        return self.error(f"{what} the batch axis (0); qmac stacks inputs along it")


def bind_constants(
    fn: Callable[[list[np.ndarray]], np.ndarray], slots: list[np.ndarray | None]
) -> Callable[[list[np.ndarray]], np.ndarray]:
    """``fn`` over all operands, as a function of the activation operands only.

    ``slots`` holds one entry per operand: a constant's values, or None where the run passes
    an activation (in order).
    """
    if all(s is None for s in slots):
        return fn

    def apply(xs: list[np.ndarray]) -> np.ndarray:
        it = iter(xs)
        return fn([next(it) if s is None else s for s in slots])

    return apply
