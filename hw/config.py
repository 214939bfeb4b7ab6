"""ArrayConfig: every generator knob of a qmac array, validated once, with derived figures.

All other packages (hw, golden lowering, sim, reports) read sizes, latencies and limits from
here so they cannot drift. The job protocol these figures describe is in ``docs/PROTOCOL.md``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from golden.accwidth import max_product, max_safe_k
from golden.cycles import DATAFLOWS
from golden.requant import ROUNDINGS
from hw.requant_plan import requant_latency

__all__ = ["ArrayConfig", "JobLimit", "PRESETS", "preset", "DATAFLOWS", "ROUNDINGS"]


def _check_int(name: str, value: object, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], not {value!r}")


def _check_pow2(name: str, value: int) -> None:
    if value & (value - 1):
        raise ValueError(f"{name} must be a power of two, not {value!r}")


def _padded_bytes(bits: int) -> int:
    """Width of an AXI4-Stream tdata holding ``bits`` payload bits, rounded up to whole bytes."""
    return -(-bits // 8) * 8


@dataclass(frozen=True)
class JobLimit:
    """The largest value of one job dimension, the others being 1, and what bounds it.

    Attributes
    ----------
    value : int
        Largest M, K or N that one command may carry (``ArrayConfig.check_job`` accepts it).
    causes : tuple of str
        The limits that reject ``value + 1``: ``cmd_m``/``cmd_k``/``cmd_n`` (the ``dim_bits``-wide
        command port), ``acc_bits`` (the accumulator, ``max_k``), ``param_depth``,
        ``a_buf_depth``, ``w_buf_depth``, ``acc_depth``.
    """

    value: int
    causes: tuple[str, ...]


@dataclass(frozen=True)
class ArrayConfig:
    """One quantized systolic MAC array.

    Parameters
    ----------
    rows, cols : int
        Mesh size in processing elements (1..128 each).
    a_bits, w_bits : int
        Signed activation and weight widths (2..16).
    acc_bits : int
        Signed accumulator width (a_bits + w_bits .. 64). Bounds the largest safe K
        (``max_k``); a layer beyond it is rejected, never wrapped. ``max_k`` must be at least
        ``rows``: a narrower accumulator cannot sum a dot product as long as the array is tall
        (the weight-stationary mesh maps K onto the rows; the output-stationary one would spend
        more cycles of every fold on skew than on sums).
    mult_bits : int
        Signed width of the requantization multiplier m0 (8..32), see DESIGN.md.
    out_bits : int
        Signed output width (2..16, at most acc_bits).
    dataflow : {"os", "ws"}
        Output-stationary or weight-stationary.
    rounding : {"tflite", "single", "halfup"}
        Requantization rounding: gemmlowp double rounding (TFLite's reference kernels), one
        rounding, or double rounding with both steps half up (TFLite's optimized kernels).
    pe_pipeline : int
        Register stages between the multiplier and the accumulator adder in a PE (0..2).
    a_buf_depth, w_buf_depth : int
        Words per bank of the activation and weight buffers (power of two, 16..65536).
        An activation word holds ``rows`` lanes, a weight word ``cols`` lanes. Each buffer
        has two banks so that loading the next job overlaps the current one.
    param_depth : int
        Output channels per job (per bank) of the parameter memory (power of two).
    acc_depth : int
        Rows per job of the weight-stationary accumulator memory (power of two; unused by "os").
    psum_depth : int
        Rows (of ``cols`` accumulators) of the partial-sum memory that carries a job's sums to
        the next job of a K split (power of two): a job that continues or holds partial sums
        needs ``ceil(N/cols) * M <= psum_depth`` (docs/PROTOCOL.md, "K split").
    out_fifo_depth : int
        Output FIFO entries (power of two, at least 2 * rows). Absorbs back-pressure.

    Raises
    ------
    TypeError, ValueError
        Naming the parameter and the bad value.
    """

    rows: int = 4
    cols: int = 4
    a_bits: int = 8
    w_bits: int = 8
    acc_bits: int = 32
    mult_bits: int = 32
    out_bits: int = 8
    dataflow: str = "os"
    rounding: str = "tflite"
    pe_pipeline: int = 1
    a_buf_depth: int = 1024
    w_buf_depth: int = 1024
    param_depth: int = 256
    acc_depth: int = 256
    psum_depth: int = 256
    out_fifo_depth: int = 64

    def __post_init__(self) -> None:
        _check_int("rows", self.rows, 1, 128)
        _check_int("cols", self.cols, 1, 128)
        _check_int("a_bits", self.a_bits, 2, 16)
        _check_int("w_bits", self.w_bits, 2, 16)
        _check_int("acc_bits", self.acc_bits, 2, 64)
        if self.acc_bits < self.a_bits + self.w_bits:
            raise ValueError(
                f"acc_bits must be at least a_bits + w_bits = {self.a_bits + self.w_bits} "
                f"to hold one product, not {self.acc_bits!r}"
            )
        _check_int("mult_bits", self.mult_bits, 8, 32)
        _check_int("out_bits", self.out_bits, 2, 16)
        if self.out_bits > self.acc_bits:
            raise ValueError(
                f"out_bits must be at most acc_bits = {self.acc_bits}, not {self.out_bits!r}"
            )
        if self.dataflow not in DATAFLOWS:
            raise ValueError(
                f"dataflow must be one of {', '.join(DATAFLOWS)}, not {self.dataflow!r}"
            )
        if self.rounding not in ROUNDINGS:
            raise ValueError(
                f"rounding must be one of {', '.join(ROUNDINGS)}, not {self.rounding!r}"
            )
        _check_int("pe_pipeline", self.pe_pipeline, 0, 2)
        for name in (
            "a_buf_depth", "w_buf_depth", "param_depth", "acc_depth", "psum_depth", "out_fifo_depth"
        ):
            _check_int(name, getattr(self, name), 2, 1 << 16)
            _check_pow2(name, getattr(self, name))
        if self.a_buf_depth < 16 or self.w_buf_depth < 16:
            bad = "a_buf_depth" if self.a_buf_depth < 16 else "w_buf_depth"
            raise ValueError(f"{bad} must be at least 16, not {getattr(self, bad)!r}")
        if self.param_depth < self.cols:
            raise ValueError(
                f"param_depth must be at least cols = {self.cols}, not {self.param_depth!r}"
            )
        if self.out_fifo_depth < 2 * self.rows:
            raise ValueError(
                f"out_fifo_depth must be at least 2 * rows = {2 * self.rows}, "
                f"not {self.out_fifo_depth!r}"
            )
        if self.max_k < self.rows:
            need = (self.rows * self.max_product).bit_length() + 1
            raise ValueError(
                f"acc_bits={self.acc_bits} leaves max_k={self.max_k} (the longest sum of "
                f"a{self.a_bits}w{self.w_bits} products that cannot overflow), fewer than "
                f"rows = {self.rows}: no job could sum a dot product as long as the array is "
                f"tall; acc_bits must be at least {need}"
            )

    # ---- numeric figures -------------------------------------------------------------
    @property
    def diff_bits(self) -> int:
        """Signed width of x - x_zp, the multiplier's activation operand."""
        return self.a_bits + 1

    @property
    def product_bits(self) -> int:
        """Signed width of one product w * (x - x_zp)."""
        return self.diff_bits + self.w_bits

    @property
    def max_product(self) -> int:
        """Largest |w * (x - x_zp)|: (2^a_bits - 1) * 2^(w_bits - 1) (golden.max_product)."""
        return max_product(self.a_bits, self.w_bits)

    @property
    def max_k(self) -> int:
        """Largest K whose product sum cannot overflow acc_bits (golden.max_safe_k, bias 0).

        The one limit on a layer's reduction length: a K beyond one buffer bank is split across
        jobs (docs/PROTOCOL.md, "K split"), whose partial sums are kept in acc_bits.
        """
        return max_safe_k(self.a_bits, self.w_bits, self.acc_bits)

    @property
    def peak_macs_per_cycle(self) -> int:
        return self.rows * self.cols

    @property
    def requant_latency(self) -> int:
        """Cycles from ``i_valid`` to ``o_valid`` of ``hw.requant.Requant`` (its register stages).

        Depends on acc_bits and mult_bits (the multiplier's partial products); 12 for int8 presets.
        """
        return requant_latency(self.acc_bits, self.mult_bits)

    # ---- stream widths ------------------------------------------------------------------
    @property
    def a_tdata_bits(self) -> int:
        """s_axis_a tdata width: ``rows`` lanes of a_bits, packed LSB-first, padded to bytes."""
        return _padded_bytes(self.rows * self.a_bits)

    @property
    def w_tdata_bits(self) -> int:
        """s_axis_w tdata width: ``cols`` lanes of w_bits, packed LSB-first, padded to bytes."""
        return _padded_bytes(self.cols * self.w_bits)

    @property
    def shift_bits(self) -> int:
        """Signed width of a per-channel shift (range -31..30)."""
        return 6

    @property
    def param_tdata_bits(self) -> int:
        """s_axis_param tdata width: {shift, m0, bias} of one channel, bias in the LSBs."""
        return _padded_bytes(self.acc_bits + self.mult_bits + self.shift_bits)

    @property
    def out_tdata_bits(self) -> int:
        """m_axis_out tdata width: ``cols`` lanes of out_bits, packed LSB-first, padded to bytes."""
        return _padded_bytes(self.cols * self.out_bits)

    # ---- job limits -----------------------------------------------------------------------
    @property
    def dim_bits(self) -> int:
        """Width of the cmd_m / cmd_k / cmd_n ports."""
        return 16

    def _job_violations(
        self, m: int, k: int, n: int, *, split: bool = False
    ) -> list[tuple[str, str]]:
        """Every limit an M x K x N job exceeds: ``[(limit name, message), ...]`` in check order.

        The one place where job limits are computed: :meth:`check_job` raises the first,
        :meth:`job_limits` derives the largest M, K and N from them. ``split``: the job is one of
        a K split (``acc_cont`` or ``acc_hold`` set), so its ``ceil(N/cols) * M`` partial-sum
        rows must also fit ``psum_depth``.
        """
        out = []
        top = (1 << self.dim_bits) - 1
        for name, value in (("M", m), ("K", k), ("N", n)):
            if not 1 <= value <= top:
                message = f"job {name} must be in [1, {top}], not {value!r}"
                out.append((f"cmd_{name.lower()}", message))
        if k > self.max_k:
            out.append((
                "acc_bits",
                f"job K={k} exceeds max_k={self.max_k} of acc_bits={self.acc_bits} "
                f"for a_bits={self.a_bits}, w_bits={self.w_bits}",
            ))
        if n > self.param_depth:
            out.append(("param_depth", f"job N={n} exceeds param_depth={self.param_depth}"))
        w_words = -(-n // self.cols) * k
        if w_words > self.w_buf_depth:
            out.append((
                "w_buf_depth",
                f"job needs ceil(N/cols)*K={w_words} weight words > w_buf_depth={self.w_buf_depth}",
            ))
        if self.dataflow == "os":
            a_words = -(-m // self.rows) * k
        else:
            a_words = -(-k // self.rows) * m
            if m > self.acc_depth:
                out.append(("acc_depth", f"job M={m} exceeds acc_depth={self.acc_depth}"))
        if a_words > self.a_buf_depth:
            out.append((
                "a_buf_depth",
                f"job needs {a_words} activation words > a_buf_depth={self.a_buf_depth}",
            ))
        psum_rows = -(-n // self.cols) * m
        if split and psum_rows > self.psum_depth:
            out.append((
                "psum_depth",
                f"split job needs ceil(N/cols)*M={psum_rows} partial-sum rows > "
                f"psum_depth={self.psum_depth}",
            ))
        return out

    def check_job(self, m: int, k: int, n: int, *, split: bool = False) -> None:
        """Raise ValueError naming the first limit an M x K x N job exceeds (docs/PROTOCOL.md).

        ``split``: the job is one of a K split (its partial sums must fit ``psum_depth``).
        """
        for name, value in (("M", m), ("K", k), ("N", n)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"job {name} must be an integer, not {value!r}")
        violations = self._job_violations(m, k, n, split=split)
        if violations:
            raise ValueError(violations[0][1])

    def check_k(self, k: int) -> None:
        """Raise ValueError if a sum over ``k`` products can overflow acc_bits (``k > max_k``).

        This bounds the whole K of an output, over all the jobs of a K split: the one K limit a
        layer meets.
        """
        if isinstance(k, bool) or not isinstance(k, int):
            raise TypeError(f"K must be an integer, not {k!r}")
        if k > self.max_k:
            raise ValueError(
                f"K={k} exceeds max_k={self.max_k} of acc_bits={self.acc_bits} "
                f"for a_bits={self.a_bits}, w_bits={self.w_bits}"
            )

    def job_limits(self) -> dict[str, JobLimit]:
        """The largest M, K and N of one job (the other two being 1), each with its causes.

        This is what a user of one command meets: e.g. for the defaults K <= 1024, bounded by
        both buffers, well below ``max_k`` (65793, the accumulator) and the 16-bit ``cmd_k``.
        A layer's longer K is split across jobs (docs/PROTOCOL.md, "K split") up to ``max_k``.

        Returns
        -------
        dict
            ``{"m": JobLimit, "k": JobLimit, "n": JobLimit}``.
        """
        top = (1 << self.dim_bits) - 1
        limits = {}
        for dim in ("m", "k", "n"):
            def job(v: int, dim: str = dim) -> tuple[int, int, int]:
                return tuple(v if d == dim else 1 for d in "mkn")  # type: ignore[return-value]

            lo, hi = 1, top  # every limit is monotone in each dimension: bisect
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if self._job_violations(*job(mid)):
                    hi = mid - 1
                else:
                    lo = mid
            causes = tuple(name for name, _ in self._job_violations(*job(lo + 1)))
            limits[dim] = JobLimit(lo, causes)
        return limits

    @property
    def max_job_k(self) -> int:
        """Largest K of one job (M = N = 1): ``job_limits()["k"]`` (banks, max_k, cmd_k).

        A longer K is split across jobs (docs/PROTOCOL.md, "K split"), up to :attr:`max_k`.
        """
        return self.job_limits()["k"].value

    # ---- identity -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ArrayConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown ArrayConfig field {unknown[0]!r}")
        return cls(**d)

    def replace(self, **changes) -> ArrayConfig:
        return dataclasses.replace(self, **changes)

    @property
    def digest(self) -> str:
        """Short stable hash of the config fields (not of the generator source)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    @property
    def name(self) -> str:
        """Readable identifier such as ``os4x4_a8w8_acc32_m32_o8_tflite``."""
        return (
            f"{self.dataflow}{self.rows}x{self.cols}_a{self.a_bits}w{self.w_bits}"
            f"_acc{self.acc_bits}_m{self.mult_bits}_o{self.out_bits}_{self.rounding}"
        )


PRESETS: dict[str, ArrayConfig] = {
    "int8-4x4": ArrayConfig(rows=4, cols=4),
    "int8-8x8": ArrayConfig(rows=8, cols=8),
    "int8-8x8-ws": ArrayConfig(rows=8, cols=8, dataflow="ws"),
    "int8-16x16": ArrayConfig(rows=16, cols=16, a_buf_depth=4096, w_buf_depth=4096),
    "int4-4x4": ArrayConfig(
        rows=4, cols=4, a_bits=4, w_bits=4, acc_bits=20, mult_bits=16, out_bits=4
    ),
}


def preset(name: str) -> ArrayConfig:
    """Return the named preset; ValueError listing the known names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None
