"""Layer files: a :class:`golden.Layer` as a ``.npz`` in TFLite conventions (no pickles)."""

from __future__ import annotations

import os
import zipfile

import numpy as np

from .layer import Layer

__all__ = ["save_layer", "load_layer", "LAYER_FIELDS"]

LAYER_FIELDS = (
    "op",
    "x",
    "w",
    "bias",
    "m0",
    "shift",
    "x_zp",
    "y_zp",
    "act_min",
    "act_max",
    "stride",
    "padding",
    "dilation",
    "groups",
    "a_bits",
    "w_bits",
    "out_bits",
)
_ARRAYS = ("x", "w", "bias", "m0", "shift")
_INTS = ("x_zp", "y_zp", "act_min", "act_max", "groups", "a_bits", "w_bits", "out_bits")
_FORMAT = 1
#: First bytes of a zip archive (an .npz): a local file header, or an empty archive's end record.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def save_layer(path: str | os.PathLike, layer: Layer) -> None:
    """Write ``layer`` to ``path`` (.npz, format version 1).

    Tensors are stored as int64 arrays, scalars as 0-d int64, ``op`` as a string, padding as the
    string "SAME"/"VALID" or a (4,) int64 array (top, left, bottom, right).
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"layer must be a golden.Layer, not {type(layer).__name__}")
    data: dict[str, np.ndarray] = {"format": np.array(_FORMAT), "op": np.array(layer.op)}
    for name in _ARRAYS:
        data[name] = np.asarray(getattr(layer, name), dtype=np.int64)
    for name in _INTS:
        data[name] = np.array(getattr(layer, name), dtype=np.int64)
    data["stride"] = np.array(layer.stride, dtype=np.int64)
    data["dilation"] = np.array(layer.dilation, dtype=np.int64)
    data["padding"] = (
        np.array(layer.padding)
        if isinstance(layer.padding, str)
        else np.array(layer.padding, dtype=np.int64)
    )
    with open(path, "wb") as f:
        np.savez(f, **data)


def load_layer(path: str | os.PathLike) -> Layer:
    """Read and validate a layer file.

    Raises
    ------
    ValueError
        ``"<path>: ..."`` naming a missing or bad field (wrong dtype, shape, range), or a file
        that is not a readable .npz.
    """
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the layer file: {exc.strerror}") from None
    if magic not in _ZIP_MAGIC:
        # np.load would try to unpickle anything that is neither .npy nor .npz, and say so
        raise ValueError(
            f"{path}: not a layer file: expected a .npz archive (golden.save_layer), but the file "
            f"starts with {magic!r}"
        )
    data: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as z:
            for key in z.files:
                try:
                    data[key] = z[key]
                except ValueError:  # an object array: it would need unpickling
                    raise ValueError(
                        f"{path}: field {key!r} holds Python objects, expected numbers or a string"
                    ) from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npz layer file: {exc}") from None
    missing = [f for f in LAYER_FIELDS if f not in data]
    if missing:
        raise ValueError(
            f"{path}: missing field {missing[0]!r} (a layer file needs {', '.join(LAYER_FIELDS)})"
        )
    fmt = data.get("format")
    if fmt is not None and (fmt.shape != () or fmt.dtype.kind not in "iu" or int(fmt) != _FORMAT):
        raise ValueError(f"{path}: unsupported format {fmt!r}, expected {_FORMAT}")
    kwargs: dict[str, object] = {}
    op = data["op"]
    if op.dtype.kind != "U" or op.shape != ():
        raise ValueError(f"{path}: field 'op' must be a string, not {op!r}")
    kwargs["op"] = str(op)
    for name in _ARRAYS:
        kwargs[name] = data[name]
    for name in _INTS:
        v = data[name]
        if v.shape != () or v.dtype.kind not in "iu":
            raise ValueError(f"{path}: field {name!r} must be an integer scalar, not {v!r}")
        kwargs[name] = int(v)
    for name in ("stride", "dilation"):
        v = data[name]
        if v.shape != (2,) or v.dtype.kind not in "iu":
            raise ValueError(f"{path}: field {name!r} must be 2 integers, not {v!r}")
        kwargs[name] = (int(v[0]), int(v[1]))
    pad = data["padding"]
    if pad.dtype.kind == "U" and pad.shape == ():
        kwargs["padding"] = str(pad)
    elif pad.dtype.kind in "iu" and pad.shape == (4,):
        kwargs["padding"] = tuple(int(p) for p in pad)
    else:
        raise ValueError(
            f"{path}: field 'padding' must be 'SAME', 'VALID' or 4 integers, not {pad!r}"
        )
    try:
        return Layer(**kwargs)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: bad layer: {exc}") from None
