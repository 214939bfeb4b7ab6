"""What a sweep measures: config axes (CLI comma lists or a TOML file), targets and options.

A sweep is the cartesian product of its axes. Axes are ArrayConfig fields (``rows``, ``a_bits``,
``dataflow``, ...), ``size`` (``RxC`` pairs, setting rows and cols together), ``bits`` (setting
a_bits and w_bits together) and ``target``.
Two defaults differ from ArrayConfig's, to keep sweeps of many points cheap to synthesize:

- ``acc_bits``, when not an axis, is derived per point as ``max(32, a_bits + w_bits + 16)``:
  32 bits for int8 (the TFLite convention), and for wider operands 16 bits of headroom over one
  product, i.e. K up to about 2^15 never overflows (``ArrayConfig.max_k``).
- ``a_buf_depth`` and ``w_buf_depth``, when not axes, are :data:`SWEEP_BUF_DEPTH` (64 words per
  bank) instead of 1024, so that buffer RAM does not dominate the resources of small arrays
  (and the generic target, which maps memories to flip-flops, stays tractable).
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from hw.config import ArrayConfig
from qmac.model.digits import load_digits_data
from qmac.sweep.workloads import WORKLOADS
from qmac.synth import DEFAULT_DEVICE, DEVICES, TARGETS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser from PyPI
    import tomli as tomllib

__all__ = [
    "CONFIG_AXES",
    "SWEEP_BUF_DEPTH",
    "SweepSpec",
    "derive_acc_bits",
    "parse_axis",
    "parse_sizes",
    "spec_from_toml",
]

_FIELDS = {f.name: f.type for f in dataclasses.fields(ArrayConfig)}
#: ArrayConfig fields that may be swept, with their value kind.
CONFIG_AXES: dict[str, type] = {
    name: (str if name in ("dataflow", "rounding") else int) for name in _FIELDS
}
SWEEP_BUF_DEPTH = 64
_OPTIONS = (
    "pnr",
    "freq_mhz",
    "device",
    "workload",
    "quant_error",
    "n_test",
    "timeout_s",
    "design",
    "seed",
)


def derive_acc_bits(a_bits: int, w_bits: int) -> int:
    """Accumulator width when ``acc_bits`` is not an axis: ``max(32, a_bits + w_bits + 16)``."""
    return max(32, a_bits + w_bits + 16)


def _items(text: object) -> list:
    """A comma list, a list or tuple, or one scalar (TOML ``bits = 8``) as a list of items."""
    if isinstance(text, str):
        return [s.strip() for s in text.split(",")]
    if isinstance(text, (list, tuple)):
        return list(text)
    return [text]


def parse_axis(name: str, text: object) -> list:
    """Values of one axis from a comma list (``"4,8,16"``), a list (from TOML) or one value.

    Raises
    ------
    ValueError
        Unknown axis, empty list, duplicate or non-integer value; the message names the axis.
    """
    if name == "target":
        kind: type = str
    elif name in CONFIG_AXES:
        kind = CONFIG_AXES[name]
    else:
        raise ValueError(
            f"unknown sweep axis {name!r}; known: {', '.join(['target', *CONFIG_AXES])}"
        )
    items = _items(text)
    if not items or any(item == "" for item in items):
        raise ValueError(f"--{name.replace('_', '-')} must be a non-empty comma list, not {text!r}")
    values = []
    for item in items:
        if kind is int:
            try:
                if isinstance(item, bool):
                    raise ValueError
                value = int(item)
            except (TypeError, ValueError):
                raise ValueError(
                    f"--{name.replace('_', '-')} values must be integers, not {item!r}"
                ) from None
        else:
            value = str(item)
        if value in values:
            raise ValueError(f"--{name.replace('_', '-')} has {value!r} twice")
        values.append(value)
    if name == "target":
        for value in values:
            if value not in TARGETS:
                raise ValueError(f"--target values must be in {', '.join(TARGETS)}, not {value!r}")
    return values


def parse_sizes(text: object) -> list[tuple[int, int]]:
    """``"4x4,8x8"`` (or a list of such strings, or one) -> [(4, 4), (8, 8)]."""
    sizes = []
    for item in _items(text):
        try:
            r, c = str(item).lower().split("x")
            size = (int(r), int(c))
        except ValueError:
            raise ValueError(f"--size values must look like ROWSxCOLS, not {item!r}") from None
        if size in sizes:
            raise ValueError(f"--size has {item!r} twice")
        sizes.append(size)
    if not sizes:
        raise ValueError(f"--size must be a non-empty comma list, not {text!r}")
    return sizes


@dataclass
class SweepSpec:
    """A sweep: axes, targets and per-point options.

    Parameters
    ----------
    axes : dict str -> list
        ArrayConfig field -> values. Fields not given keep ArrayConfig defaults, except the
        derived ``acc_bits`` and the small buffer depths described in the module docstring.
    sizes : list of (rows, cols), optional
        Paired sizes; exclusive with ``rows``/``cols`` axes.
    bits : list of int, optional
        Paired operand widths (a_bits = w_bits); exclusive with ``a_bits``/``w_bits`` axes.
    targets : list of str
        Synthesis targets (``[]`` skips synthesis, e.g. for a quantization-error-only sweep).
    pnr : bool
        Place and route with nextpnr (ecp5 and ice40 only) for Fmax.
    freq_mhz : float
        nextpnr target clock.
    device : dict target -> device name
        Device per PnR family (default ecp5-85k, ice40-up5k).
    workload : str, optional
        Named layer (``qmac.sweep.workloads.WORKLOADS``) simulated per config for cycles.
    quant_error : {"auto", "on", "off"}
        Quantization error per (a_bits, w_bits) via ``qmac.model.evaluate.evaluate_bits``;
        "auto" = when ``a_bits`` or ``w_bits`` is an axis.
    n_test : int, optional
        Digits test images for the quantization error (default all).
    timeout_s : float, optional
        Per tool run.
    design : str
        ``"module:function"`` returning the Verilog text of a config (top ``qmac_top``);
        default ``hw.emit:generate_verilog`` (the whole array).
    """

    axes: dict[str, list] = field(default_factory=dict)
    sizes: list[tuple[int, int]] | None = None
    bits: list[int] | None = None
    targets: list[str] = field(default_factory=lambda: ["ecp5"])
    pnr: bool = False
    freq_mhz: float = 100.0
    device: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_DEVICE))
    workload: str | None = None
    quant_error: str = "auto"
    n_test: int | None = None
    timeout_s: float | None = None
    design: str = "hw.emit:generate_verilog"
    seed: int = 0

    def __post_init__(self) -> None:
        for name, values in self.axes.items():
            self.axes[name] = parse_axis(name, values)
        if self.sizes is not None:
            if "rows" in self.axes or "cols" in self.axes:
                raise ValueError("size cannot be combined with rows or cols axes")
            self.sizes = parse_sizes(
                [f"{r}x{c}" for r, c in self.sizes]
                if not isinstance(self.sizes, str)
                else self.sizes
            )
        if self.bits is not None:
            if "a_bits" in self.axes or "w_bits" in self.axes:
                raise ValueError("bits cannot be combined with a_bits or w_bits axes")
            self.bits = parse_axis("a_bits", self.bits)
        for t in self.targets:
            if t not in TARGETS:
                raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {t!r}")
        if self.quant_error not in ("auto", "on", "off"):
            raise ValueError(f"quant_error must be auto, on or off, not {self.quant_error!r}")
        if (
            isinstance(self.freq_mhz, bool)
            or not isinstance(self.freq_mhz, (int, float))
            or self.freq_mhz <= 0
        ):
            raise ValueError(f"freq_mhz must be a positive number, not {self.freq_mhz!r}")
        for family, dev in self.device.items():
            if dev not in DEVICES or DEVICES[dev].family != family:
                raise ValueError(
                    f"device for {family} must be one of "
                    f"{', '.join(d for d in DEVICES if DEVICES[d].family == family)}, not {dev!r}"
                )
        if not isinstance(self.design, str) or ":" not in self.design:
            raise ValueError(f"design must be 'module:function', not {self.design!r}")
        self._check_options()

    def _check_options(self) -> None:
        """Types and ranges of the per-point options (TOML gives any type), before any work."""
        if not isinstance(self.pnr, bool):
            raise ValueError(f"pnr must be true or false, not {self.pnr!r}")
        if self.workload is not None and self.workload not in WORKLOADS:
            raise ValueError(
                f"workload must be one of {', '.join(WORKLOADS)}, not {self.workload!r}"
            )
        if self.timeout_s is not None and (
            isinstance(self.timeout_s, bool)
            or not isinstance(self.timeout_s, (int, float))
            or not 0 < self.timeout_s < float("inf")
        ):
            raise ValueError(
                f"timeout_s must be a positive number of seconds, not {self.timeout_s!r}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, not {self.seed!r}")
        if self.n_test is not None:
            if isinstance(self.n_test, bool) or not isinstance(self.n_test, int):
                raise ValueError(f"n_test must be an integer, not {self.n_test!r}")
            total = len(load_digits_data().test)
            if not 1 <= self.n_test <= total:
                raise ValueError(
                    f"n_test must be in [1, {total}] (the digits test split), not {self.n_test!r}"
                )

    @property
    def with_quant_error(self) -> bool:
        if self.quant_error == "auto":
            return "a_bits" in self.axes or "w_bits" in self.axes or self.bits is not None
        return self.quant_error == "on"

    def config_dicts(self) -> list[dict]:
        """Config field dicts of every point, in axis order (not yet validated by ArrayConfig)."""
        names = list(self.axes)
        combos = list(itertools.product(*(self.axes[n] for n in names)))
        out = []
        for size, bits, combo in itertools.product(
            self.sizes or [None], self.bits or [None], combos
        ):
            d = dict(zip(names, combo, strict=True))
            if size is not None:
                d["rows"], d["cols"] = size
            if bits is not None:
                d["a_bits"] = d["w_bits"] = bits
            d.setdefault("a_buf_depth", SWEEP_BUF_DEPTH)
            d.setdefault("w_buf_depth", SWEEP_BUF_DEPTH)
            if "acc_bits" not in d:
                a = d.get("a_bits", ArrayConfig.a_bits)
                w = d.get("w_bits", ArrayConfig.w_bits)
                d["acc_bits"] = derive_acc_bits(a, w)
            out.append(d)
        return out

    def point_axes(self) -> list[dict]:
        """The axis values of every point, in the order of :meth:`config_dicts` (for messages)."""
        names = list(self.axes)
        combos = list(itertools.product(*(self.axes[n] for n in names)))
        out = []
        for size, bits, combo in itertools.product(
            self.sizes or [None], self.bits or [None], combos
        ):
            d: dict = {}
            if size is not None:
                d["size"] = f"{size[0]}x{size[1]}"
            if bits is not None:
                d["bits"] = bits
            d.update(zip(names, combo, strict=True))
            out.append(d)
        return out

    def options(self) -> dict:
        """Per-point options that enter the cache key."""
        return {k: getattr(self, k) for k in _OPTIONS}

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["sizes"] = [f"{r}x{c}" for r, c in self.sizes] if self.sizes else None
        return d


def spec_from_toml(path: str | Path) -> SweepSpec:
    """Read a sweep from TOML: a ``[sweep]`` table of axes and an optional ``[options]`` table.

    Example::

        [sweep]
        size = ["4x4", "8x8"]
        a_bits = [4, 8]       # or one value: a_bits = 8
        target = ["ecp5"]     # "none": no synthesis

        [options]
        pnr = true
        freq_mhz = 100
        workload = "matmul64"
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"sweep file {str(path)!r} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"sweep file {str(path)!r} is not TOML: not UTF-8 text ({exc.reason} at byte "
            f"{exc.start})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"sweep file {str(path)!r} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"sweep", "options"})
    if unknown:
        raise ValueError(
            f"sweep file {str(path)!r} has unknown table {unknown[0]!r} (use [sweep], [options])"
        )
    axes = dict(data.get("sweep", {}))
    options = dict(data.get("options", {}))
    bad = sorted(set(options) - set(_OPTIONS))
    if bad:
        raise ValueError(
            f"sweep file {str(path)!r} has unknown option {bad[0]!r}; known: {', '.join(_OPTIONS)}"
        )
    targets = ["ecp5"]
    if "target" in axes:
        target = axes.pop("target")
        none = target in ("none", ["none"], [])  # no synthesis, as --target none
        targets = [] if none else parse_axis("target", target)
    sizes = parse_sizes(axes.pop("size")) if "size" in axes else None
    bits = axes.pop("bits") if "bits" in axes else None
    return SweepSpec(axes=axes, sizes=sizes, bits=bits, targets=targets, **options)
