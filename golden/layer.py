"""One quantized layer with everything needed to compute it exactly, and a random generator.

A :class:`Layer` is what the lowering, the simulator and the layer files exchange: TFLite
conventions (NHWC, OHWI, 1HW(C*mult), FC weights [out, in]), a Q31 multiplier per output channel.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ._check import check_bits, check_in_range, check_int, int_array, int_range, pair
from .accwidth import max_product
from .geometry import ConvGeometry, conv_geometry, normalize_padding, reduction_length
from .layers import ACCUMULATORS, requantize_output
from .multiplier import SHIFT_MAX, SHIFT_MIN, quantize_multiplier, reduce_multiplier

__all__ = ["Layer", "OPS", "RANDOM_LAYER_DIMS", "make_random_layer"]

OPS = ("matmul", "fully_connected", "conv2d", "depthwise_conv2d")
_X_NDIM = {"matmul": 2, "fully_connected": 2, "conv2d": 4, "depthwise_conv2d": 4}


@dataclass(frozen=True, eq=False)
class Layer:
    """A quantized layer (validated on construction; arrays are read-only int64 copies).

    Attributes
    ----------
    op : {"matmul", "fully_connected", "conv2d", "depthwise_conv2d"}
    x : int64 ndarray
        matmul (M, K); fully_connected (B, in); conv NHWC (N, H, W, Cin). Signed a_bits-bit.
    w : int64 ndarray
        matmul (K, N); fully_connected (out, in); conv2d OHWI (Cout, KH, KW, Cin // groups);
        depthwise_conv2d (1, KH, KW, Cin * mult). Signed w_bits-bit.
    bias : (C_out,) int64 ndarray
    m0 : (C_out,) int64 ndarray
        Q31 multipliers (mult_bits = 32 form, as TFLite stores them), in [0, 2^31).
    shift : (C_out,) int64 ndarray
        In [-31, 30], positive = left.
    x_zp : int
        Signed a_bits-bit.
    y_zp, act_min, act_max : int
        Signed out_bits-bit; act_min/act_max default to the out_bits range.
    stride, dilation : (int, int)
    padding : "SAME", "VALID" or (top, left, bottom, right)
    groups : int
    a_bits, w_bits, out_bits : int
        2..16.

    Raises
    ------
    TypeError, ValueError
        Naming the field and the bad value.
    """

    op: str
    x: np.ndarray
    w: np.ndarray
    bias: np.ndarray
    m0: np.ndarray
    shift: np.ndarray
    x_zp: int
    y_zp: int
    act_min: int | None = None
    act_max: int | None = None
    stride: tuple[int, int] = (1, 1)
    padding: str | tuple[int, int, int, int] = "VALID"
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    a_bits: int = 8
    w_bits: int = 8
    out_bits: int = 8
    _cout: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        if self.op not in OPS:
            raise ValueError(f"op must be one of {', '.join(OPS)}, not {self.op!r}")
        for name in ("a_bits", "w_bits", "out_bits"):
            put(name, check_bits(name, getattr(self, name)))
        x = int_array("x", self.x, _X_NDIM[self.op]).copy()
        w = int_array("w", self.w, 2 if self.op in ("matmul", "fully_connected") else 4).copy()
        lo, hi = int_range(self.a_bits)
        check_in_range("x", x, lo, hi, f"a_bits={self.a_bits}")
        put("x_zp", check_int("x_zp", self.x_zp, lo, hi))
        wlo, whi = int_range(self.w_bits)
        check_in_range("w", w, wlo, whi, f"w_bits={self.w_bits}")
        olo, ohi = int_range(self.out_bits)
        put("y_zp", check_int("y_zp", self.y_zp, olo, ohi))
        put(
            "act_min", olo if self.act_min is None else check_int("act_min", self.act_min, olo, ohi)
        )
        put(
            "act_max", ohi if self.act_max is None else check_int("act_max", self.act_max, olo, ohi)
        )
        if self.act_min > self.act_max:
            raise ValueError(f"act_min must be <= act_max, not {self.act_min} > {self.act_max}")
        put("stride", pair("stride", self.stride))
        put("dilation", pair("dilation", self.dilation))
        put("padding", normalize_padding(self.padding))
        put("groups", check_int("groups", self.groups, 1))
        cout = self._check_shapes(x, w)
        put("_cout", cout)
        for name in ("bias", "m0", "shift"):
            arr = int_array(name, getattr(self, name), 1).copy()
            if arr.shape != (cout,):
                raise ValueError(
                    f"{name} must have shape ({cout},) (one per output channel), not {arr.shape}"
                )
            arr.flags.writeable = False
            put(name, arr)
        check_in_range("m0", self.m0, 0, (1 << 31) - 1, "Q31")
        check_in_range("shift", self.shift, SHIFT_MIN, SHIFT_MAX)
        for name, arr in (("x", x), ("w", w)):
            arr.flags.writeable = False
            put(name, arr)

    def _check_shapes(self, x: np.ndarray, w: np.ndarray) -> int:
        op = self.op
        if op in ("matmul", "fully_connected"):
            if (
                self.stride != (1, 1)
                or self.dilation != (1, 1)
                or self.groups != 1
                or self.padding != "VALID"
            ):
                raise ValueError(
                    f"stride, padding, dilation and groups must be defaults for op {op!r}"
                )
            k_w = w.shape[0] if op == "matmul" else w.shape[1]
            if x.shape[1] != k_w:
                raise ValueError(
                    f"x has {x.shape[1]} columns but w expects {k_w} (x {x.shape}, w {w.shape})"
                )
            return w.shape[1] if op == "matmul" else w.shape[0]
        if op == "depthwise_conv2d" and self.groups != 1:
            raise ValueError(
                f"groups must be 1 for depthwise_conv2d (it is implied), not {self.groups}"
            )
        geo = conv_geometry(
            x.shape,
            w.shape,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
            depthwise=op == "depthwise_conv2d",
        )
        return geo.cout

    # ---- derived figures ---------------------------------------------------------------
    @property
    def channels_out(self) -> int:
        """Number of output channels (length of bias, m0, shift)."""
        return self._cout

    @property
    def k(self) -> int:
        """Reduction length: products summed into one accumulator."""
        return reduction_length(self.op, self.w.shape)

    @property
    def geometry(self) -> ConvGeometry:
        """Sizes of a conv2d / depthwise layer (``groups = Cin`` for depthwise)."""
        if self.op not in ("conv2d", "depthwise_conv2d"):
            raise ValueError(f"layer.op must be 'conv2d' or 'depthwise_conv2d', not {self.op!r}")
        return conv_geometry(
            self.x.shape,
            self.w.shape,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
            depthwise=self.op == "depthwise_conv2d",
        )

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of :meth:`acc` and :meth:`output`."""
        if self.op in ("matmul", "fully_connected"):
            return (self.x.shape[0], self._cout)
        geo = self.geometry
        return (geo.batch, geo.oh, geo.ow, geo.cout)

    @property
    def macs(self) -> int:
        """Multiply-accumulates: outputs x K (padded taps included, as usually counted)."""
        return int(np.prod(self.output_shape)) * self.k

    # ---- computation ------------------------------------------------------------------
    def acc(self, *, acc_bits: int = 64) -> np.ndarray:
        """Exact int64 accumulators including bias, in the output layout.

        ``acc_bits`` bounds K like the hardware would (default 64: only int64 exactness).
        """
        kw = dict(x_zp=self.x_zp, a_bits=self.a_bits, w_bits=self.w_bits, acc_bits=acc_bits)
        if self.op in ("conv2d", "depthwise_conv2d"):
            kw.update(stride=self.stride, padding=self.padding, dilation=self.dilation)
        if self.op == "conv2d":
            kw["groups"] = self.groups
        return ACCUMULATORS[self.op](self.x, self.w, self.bias, **kw)

    def output(
        self, *, rounding: str = "tflite", mult_bits: int = 32, acc_bits: int = 64
    ) -> np.ndarray:
        """Requantized int64 output: m0/shift reduced to ``mult_bits`` first (reduce_multiplier)."""
        m0, shift = reduce_multiplier(self.m0, self.shift, mult_bits)
        return requantize_output(
            self.acc(acc_bits=acc_bits),
            m0=m0,
            shift=shift,
            y_zp=self.y_zp,
            act_min=self.act_min,
            act_max=self.act_max,
            rounding=rounding,
            mult_bits=mult_bits,
            out_bits=self.out_bits,
        )

    def replace(self, **changes: object) -> Layer:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


#: op -> dimension name -> default (None: required) of ``make_random_layer``.
RANDOM_LAYER_DIMS: dict[str, dict[str, object]] = {
    "matmul": {"m": None, "k": None, "n": None},
    "fully_connected": {"batch": None, "in_features": None, "out_features": None},
    "conv2d": {
        "batch": 1,
        "h": None,
        "w": None,
        "cin": None,
        "cout": None,
        "kernel": None,
        "stride": 1,
        "padding": "VALID",
        "dilation": 1,
        "groups": 1,
    },
    "depthwise_conv2d": {
        "batch": 1,
        "h": None,
        "w": None,
        "cin": None,
        "multiplier": 1,
        "kernel": None,
        "stride": 1,
        "padding": "VALID",
        "dilation": 1,
    },
}


def _dims(op: str, dims: dict) -> dict:
    spec = RANDOM_LAYER_DIMS[op]
    unknown = sorted(set(dims) - set(spec))
    if unknown:
        raise TypeError(
            f"unknown dimension {unknown[0]!r} for op {op!r}; expected {', '.join(spec)}"
        )
    out = {**spec, **dims}
    missing = [k for k, v in out.items() if v is None]
    if missing:
        raise ValueError(f"missing dimension {missing[0]!r} for op {op!r}")
    for k in (
        "m",
        "k",
        "n",
        "batch",
        "in_features",
        "out_features",
        "h",
        "w",
        "cin",
        "cout",
        "multiplier",
    ):
        if k in out:
            out[k] = check_int(k, out[k], 1)
    return out


def make_random_layer(
    op: str,
    *,
    rng: np.random.Generator,
    a_bits: int = 8,
    w_bits: int = 8,
    out_bits: int = 8,
    acc_bits: int | None = None,
    **dims: object,
) -> Layer:
    """A random layer with realistic requantization.

    Parameters
    ----------
    op : {"matmul", "fully_connected", "conv2d", "depthwise_conv2d"}
    rng : numpy.random.Generator
    a_bits, w_bits, out_bits : int
        2..16.
    acc_bits : int or None
        Accumulator width the bias must respect (``|bias| + K * max_product`` fits); None picks
        the smallest of 32, 48, 64 that holds K products.
    **dims
        matmul ``m, k, n``; fully_connected ``batch, in_features, out_features``; conv2d
        ``batch=1, h, w, cin, cout, kernel, stride=1, padding="VALID", dilation=1, groups=1``;
        depthwise_conv2d ``batch=1, h, w, cin, multiplier=1, kernel, stride, padding, dilation``.

    Returns
    -------
    Layer
        x, w uniform over their full ranges; random x_zp, y_zp; bias around a quarter of the
        accumulator spread; y_zp within an eighth of the output range; per-channel multipliers
        scaled from the actual accumulators so that each channel's largest |acc| maps to 0.5..1.2
        times the output half-range (the range is used, a few outputs saturate, most do not).
    """
    if op not in OPS:
        raise ValueError(f"op must be one of {', '.join(OPS)}, not {op!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, not {type(rng).__name__}")
    a_bits, w_bits, out_bits = (
        check_bits(n, v)
        for n, v in (("a_bits", a_bits), ("w_bits", w_bits), ("out_bits", out_bits))
    )
    d = _dims(op, dims)
    alo, ahi = int_range(a_bits)
    wlo, whi = int_range(w_bits)
    geo: dict = {}
    if op == "matmul":
        xs, ws, k = (d["m"], d["k"]), (d["k"], d["n"]), d["k"]
    elif op == "fully_connected":
        xs, ws, k = (
            (d["batch"], d["in_features"]),
            (d["out_features"], d["in_features"]),
            d["in_features"],
        )
    else:
        kh, kw = pair("kernel", d["kernel"])
        xs = (d["batch"], d["h"], d["w"], d["cin"])
        geo = dict(stride=d["stride"], padding=d["padding"], dilation=d["dilation"])
        if op == "conv2d":
            groups = check_int("groups", d["groups"], 1)
            if d["cin"] % groups:
                raise ValueError(f"groups={groups} must divide cin={d['cin']}")
            ws, k = (d["cout"], kh, kw, d["cin"] // groups), kh * kw * d["cin"] // groups
            geo["groups"] = groups
        else:
            ws, k = (1, kh, kw, d["cin"] * d["multiplier"]), kh * kw
    x = rng.integers(alo, ahi, size=xs, endpoint=True, dtype=np.int64)
    w = rng.integers(wlo, whi, size=ws, endpoint=True, dtype=np.int64)
    x_zp = int(rng.integers(alo, ahi, endpoint=True))
    worst = k * max_product(a_bits, w_bits)
    if acc_bits is None:
        acc_bits = next((b for b in (32, 48, 64) if worst <= (1 << (b - 1)) - 1), 64)
    slack = max((1 << (acc_bits - 1)) - 1 - worst, 0)
    cout = ws[1] if op == "matmul" else ws[3] if op == "depthwise_conv2d" else ws[0]
    spread = np.sqrt(k) * (2**a_bits / np.sqrt(12)) * (2**w_bits / np.sqrt(12))
    bias = np.clip(np.rint(rng.normal(0.0, spread / 4, size=cout)), -slack, slack).astype(np.int64)
    olo, ohi = int_range(out_bits)
    y_zp = int(rng.integers(olo // 8, ohi // 8, endpoint=True))
    probe = Layer(
        op,
        x,
        w,
        bias,
        np.zeros(cout, np.int64),
        np.zeros(cout, np.int64),
        x_zp,
        y_zp,
        a_bits=a_bits,
        w_bits=w_bits,
        out_bits=out_bits,
        **geo,
    )
    acc = probe.acc(acc_bits=acc_bits)
    amax = np.abs(acc.reshape(-1, cout)).max(axis=0) if acc.size else np.zeros(cout)
    real = (ohi + 1) / np.maximum(amax, 1) * rng.uniform(0.5, 1.2, size=cout)
    m0, shift = quantize_multiplier(real, 32)
    return probe.replace(m0=m0, shift=shift)
