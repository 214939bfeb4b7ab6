"""Read a ``.tflite`` flatbuffer with LiteRT's schema: op list, tensor types, full-integer check.

Used by ``make_tflite_models.py`` (venv of that script; needs only ``ai-edge-litert`` and NumPy).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["OpInfo", "read_ops", "check_full_integer", "format_ops"]


def _names(cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


@dataclass
class OpInfo:
    """One operator of subgraph 0.

    Attributes
    ----------
    index : int
        Position in the subgraph's operator list (execution order).
    name : str
        Builtin operator name, e.g. ``"CONV_2D"``.
    inputs, outputs : list of int
        Tensor indices (-1 for an absent optional input such as a missing bias).
    options : dict
        The builtin options as stored (enums by name), e.g. ``{"padding": "SAME", ...}``.
    """

    index: int
    name: str
    inputs: list[int]
    outputs: list[int]
    options: dict = field(default_factory=dict)


_ENUM_FIELDS = {
    "padding": "Padding",
    "fusedActivationFunction": "ActivationFunctionType",
}


def read_ops(buf: bytes):
    """Parse ``buf`` and return ``(model, ops, tensor_type_names)``.

    ``model`` is the schema's ``ModelT`` object; ``ops`` a list of :class:`OpInfo` for subgraph 0;
    ``tensor_type_names`` maps TensorType values to names (``INT8``, ...).
    """
    from ai_edge_litert import schema_py_generated as s

    op_names = _names(s.BuiltinOperator)
    type_names = _names(s.TensorType)
    model = s.ModelT.InitFromPackedBuf(bytearray(buf), 0)
    sg = model.subgraphs[0]
    ops = []
    for i, op in enumerate(sg.operators):
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        opts = {}
        if op.builtinOptions is not None:
            for k, v in vars(op.builtinOptions).items():
                if k in _ENUM_FIELDS:
                    v = _names(getattr(s, _ENUM_FIELDS[k])).get(v, v)
                opts[k] = v
        ops.append(
            OpInfo(i, op_names.get(builtin, str(builtin)), list(op.inputs), list(op.outputs), opts)
        )
    return model, ops, type_names


def check_full_integer(buf: bytes) -> list[str]:
    """Return a list of problems; empty when the model is full-integer int8.

    Every activation and weight tensor must be INT8; INT32 is allowed only for biases (input 2 of
    CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) and for constant shape operands (input 1 of
    RESHAPE, input 1 of MEAN, input 1 of PAD). No QUANTIZE or DEQUANTIZE whose input or output is
    float may remain.
    """
    model, ops, type_names = read_ops(buf)
    sg = model.subgraphs[0]
    int32_ok = {
        ("CONV_2D", 2), ("DEPTHWISE_CONV_2D", 2), ("FULLY_CONNECTED", 2),
        ("RESHAPE", 1), ("MEAN", 1), ("PAD", 1),
    }  # fmt: skip
    problems = []
    for op in ops:
        for role, idxs in (("input", op.inputs), ("output", op.outputs)):
            for pos, t in enumerate(idxs):
                if t < 0:
                    continue
                tname = type_names[sg.tensors[t].type]
                ok = tname == "INT8" or (
                    tname == "INT32" and role == "input" and (op.name, pos) in int32_ok
                )
                if not ok:
                    problems.append(f"op {op.index} {op.name} {role} {pos}: tensor {t} is {tname}")
    return problems


def format_ops(buf: bytes) -> str:
    """One line per op: index, name, input/output shapes, options."""
    model, ops, type_names = read_ops(buf)
    sg = model.subgraphs[0]

    def desc(t: int) -> str:
        if t < 0:
            return "-"
        ten = sg.tensors[t]
        text = f"{type_names[ten.type].lower()}{[int(d) for d in ten.shape]}"
        q = ten.quantization
        if q is not None and q.scale is not None and len(q.scale) == 1:
            text += f" s={float(q.scale[0]):.6g} z={int(q.zeroPoint[0])}"
        elif q is not None and q.scale is not None and len(q.scale) > 1:
            text += f" per-channel({len(q.scale)}, axis {q.quantizedDimension})"
        return text

    lines = []
    for op in ops:
        ins = ", ".join(desc(t) for t in op.inputs)
        outs = ", ".join(desc(t) for t in op.outputs)
        lines.append(f"  {op.index:2d} {op.name:18s} ({ins}) -> {outs}  {op.options}")
    return "\n".join(lines)
