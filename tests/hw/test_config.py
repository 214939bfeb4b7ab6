"""ArrayConfig: defaults, presets, derived figures against independent formulas, every rejection."""

from __future__ import annotations

import dataclasses
import itertools
import re

import pytest

import golden
from hw.config import DATAFLOWS, PRESETS, ROUNDINGS, ArrayConfig, JobLimit, preset


def test_init():
    cfg = ArrayConfig()
    assert (cfg.rows, cfg.cols, cfg.a_bits, cfg.w_bits, cfg.acc_bits) == (4, 4, 8, 8, 32)
    assert (cfg.mult_bits, cfg.out_bits, cfg.dataflow, cfg.rounding) == (32, 8, "os", "tflite")
    cfg = ArrayConfig(rows=2, cols=3, a_bits=4, w_bits=5, acc_bits=24, mult_bits=16, out_bits=6,
                      dataflow="ws", rounding="single", pe_pipeline=0, a_buf_depth=32,
                      w_buf_depth=64, param_depth=8, acc_depth=16, psum_depth=32,
                      out_fifo_depth=4)
    assert cfg.to_dict() == {
        "rows": 2, "cols": 3, "a_bits": 4, "w_bits": 5, "acc_bits": 24, "mult_bits": 16,
        "out_bits": 6, "dataflow": "ws", "rounding": "single", "pe_pipeline": 0,
        "a_buf_depth": 32, "w_buf_depth": 64, "param_depth": 8, "acc_depth": 16,
        "psum_depth": 32, "out_fifo_depth": 4,
    }
    assert ArrayConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.rows = 5


def test_constants():
    assert DATAFLOWS == ("os", "ws")
    assert ROUNDINGS == ("tflite", "single", "halfup") == golden.ROUNDINGS


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets(name):
    cfg = preset(name)
    assert cfg is PRESETS[name]
    assert ArrayConfig(**cfg.to_dict()) == cfg  # valid
    size = re.search(r"(\d+)x(\d+)", name)
    assert (cfg.rows, cfg.cols) == (int(size[1]), int(size[2]))
    assert cfg.dataflow == ("ws" if name.endswith("-ws") else "os")
    bits = int(re.match(r"int(\d+)", name)[1])
    assert cfg.a_bits == cfg.w_bits == cfg.out_bits == bits


def test_preset_unknown():
    message = r"^unknown preset 'int3-2x2'; known: int8-4x4, .*, int4-4x4$"
    with pytest.raises(ValueError, match=message):
        preset("int3-2x2")


# ---- derived figures --------------------------------------------------------------------------
def _brute_max_product(a_bits: int, w_bits: int) -> int:
    """max |w * (x - x_zp)| over every activation, zero point and weight of the signed ranges."""
    xs = range(-(1 << (a_bits - 1)), 1 << (a_bits - 1))
    ws = range(-(1 << (w_bits - 1)), 1 << (w_bits - 1))
    diffs = {x - z for x in xs for z in xs}
    return max(abs(w * d) for w in ws for d in diffs)


def _brute_max_k(max_product: int, acc_bits: int) -> int:
    """Largest K whose worst-case sum K * max_product still fits signed acc_bits."""
    k, total = 0, 0
    while total + max_product <= (1 << (acc_bits - 1)) - 1:
        k += 1
        total += max_product
    return k


@pytest.mark.parametrize("a_bits,w_bits", [(2, 2), (2, 5), (3, 4), (4, 4), (5, 3), (6, 6)])
def test_max_product_and_k_brute_force(a_bits, w_bits):
    mp = _brute_max_product(a_bits, w_bits)
    for acc_bits in range(a_bits + w_bits, a_bits + w_bits + 9):
        cfg = ArrayConfig(rows=1, a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits, out_bits=2)
        assert cfg.max_product == mp
        assert cfg.max_k == _brute_max_k(mp, acc_bits)
        # The product must fit product_bits (signed) and x - x_zp must fit diff_bits.
        assert mp <= 1 << (cfg.product_bits - 1)
        assert (1 << a_bits) - 1 <= (1 << (cfg.diff_bits - 1)) - 1


def _worst_sums(a_bits: int, w_bits: int, k: int) -> tuple[int, int]:
    """(largest, smallest) sum of K products w * (x - x_zp), by enumerating each operand range.

    The extreme of a sum of K independent products is K times the extreme product, and the extreme
    product pairs an extreme weight with an extreme difference: both ranges are enumerated here,
    so no formula of golden (or of ArrayConfig) enters.
    """
    xs = range(-(1 << (a_bits - 1)), 1 << (a_bits - 1))
    ws = range(-(1 << (w_bits - 1)), 1 << (w_bits - 1))
    d_lo, d_hi = min(xs) - max(xs), max(xs) - min(xs)
    products = [w * d for w in (min(ws), max(ws)) for d in (d_lo, d_hi)]
    return k * max(products), k * min(products)


@pytest.mark.parametrize(
    "a_bits,w_bits,acc_bits",
    [(8, 8, 32), (8, 8, 24), (4, 4, 20), (16, 16, 48), (16, 16, 64), (2, 2, 4)],
)
def test_max_k_is_the_longest_sum_that_never_overflows(a_bits, w_bits, acc_bits):
    """max_k worst-case products fit signed acc_bits on both sides; max_k + 1 of them do not."""
    cfg = ArrayConfig(rows=1, a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits, out_bits=2)
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    top, bottom = _worst_sums(a_bits, w_bits, cfg.max_k)
    assert lo <= bottom and top <= hi
    top, bottom = _worst_sums(a_bits, w_bits, cfg.max_k + 1)
    assert top > hi or bottom < lo
    # the golden model's accumulator check draws the same line
    golden.check_accumulator(cfg.max_k, a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits)
    with pytest.raises(ValueError, match=r"^K=\d+ exceeds"):
        golden.check_accumulator(cfg.max_k + 1, a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits)


def test_accumulator_must_hold_a_dot_product_as_long_as_the_array():
    """a8w8 with acc_bits 16 sums only one product (max_k = 1): rejected, naming the minimum."""
    message = (
        r"^acc_bits=16 leaves max_k=1 \(the longest sum of a8w8 products that cannot overflow\), "
        r"fewer than rows = 4: no job could sum a dot product as long as the array is tall; "
        r"acc_bits must be at least 18$"
    )
    with pytest.raises(ValueError, match=message):
        ArrayConfig(acc_bits=16)
    assert ArrayConfig(acc_bits=18).max_k >= 4 > ArrayConfig(rows=1, acc_bits=17).max_k
    assert ArrayConfig(rows=1, acc_bits=16).max_k == 1  # a 1-row array is still accepted


def test_int8_max_k():
    # (2^31 - 1) // (255 * 128): the documented int8 figure.
    assert ArrayConfig().max_k == 65793


@pytest.mark.parametrize("rows,cols,a_bits,w_bits,out_bits,acc_bits,mult_bits", [
    (4, 4, 8, 8, 8, 32, 32), (3, 5, 4, 4, 4, 20, 16), (1, 1, 2, 2, 2, 4, 8),
    (7, 9, 5, 3, 6, 17, 11), (16, 16, 16, 16, 16, 48, 32),
])
def test_stream_widths(rows, cols, a_bits, w_bits, out_bits, acc_bits, mult_bits):
    cfg = ArrayConfig(rows=rows, cols=cols, a_bits=a_bits, w_bits=w_bits, out_bits=out_bits,
                      acc_bits=acc_bits, mult_bits=mult_bits, param_depth=16,
                      out_fifo_depth=max(2, 1 << (2 * rows - 1).bit_length()))
    def whole_bytes(bits):
        return 8 * ((bits + 7) // 8)
    assert cfg.a_tdata_bits == whole_bytes(rows * a_bits)
    assert cfg.w_tdata_bits == whole_bytes(cols * w_bits)
    assert cfg.out_tdata_bits == whole_bytes(cols * out_bits)
    assert cfg.param_tdata_bits == whole_bytes(acc_bits + mult_bits + 6)
    for bits in (cfg.a_tdata_bits, cfg.w_tdata_bits, cfg.out_tdata_bits, cfg.param_tdata_bits):
        assert bits % 8 == 0
    assert cfg.peak_macs_per_cycle == rows * cols
    assert cfg.shift_bits == 6 and cfg.dim_bits == 16


def test_requant_latency_matches_unit():
    from hw.requant import Requant

    for cfg in PRESETS.values():
        unit = Requant(cfg)
        unit._MustUse__silence = True  # built only to read a property
        assert unit.latency == cfg.requant_latency


def test_identity():
    a, b = ArrayConfig(), ArrayConfig()
    assert a.digest == b.digest and re.fullmatch(r"[0-9a-f]{12}", a.digest)
    assert a.replace(rows=8).digest != a.digest
    assert a.name == "os4x4_a8w8_acc32_m32_o8_tflite"
    assert ArrayConfig(rows=2, cols=8, dataflow="ws", rounding="single").name == \
        "ws2x8_a8w8_acc32_m32_o8_single"
    assert len({cfg.digest for cfg in PRESETS.values()}) == len(PRESETS)


def test_from_dict_unknown_field():
    with pytest.raises(ValueError, match=r"^unknown ArrayConfig field 'depth'$"):
        ArrayConfig.from_dict({"rows": 4, "depth": 3})


def test_replace_validates():
    with pytest.raises(ValueError, match=r"^rows must be in \[1, 128\], not 0$"):
        ArrayConfig().replace(rows=0)


# ---- job limits -------------------------------------------------------------------------------
def test_check_job_ok():
    cfg = ArrayConfig(a_buf_depth=64, w_buf_depth=64, param_depth=16, acc_depth=16)
    cfg.check_job(16, 16, 16)  # os: ceil(16/4)*16 = 64 words each
    cfg.replace(dataflow="ws").check_job(16, 16, 16)
    cfg.replace(psum_depth=64).check_job(16, 16, 16, split=True)  # ceil(16/4)*16 = 64 rows


def test_k_limits():
    """One limit on the whole K (max_k, the accumulator), another on one job's K (the banks)."""
    cfg = ArrayConfig(a_buf_depth=64, w_buf_depth=128)
    cfg.check_k(cfg.max_k)
    with pytest.raises(ValueError, match=r"^K=65794 exceeds max_k=65793 of acc_bits=32 "):
        cfg.check_k(65794)
    with pytest.raises(TypeError, match=r"^K must be an integer, not 1\.0$"):
        cfg.check_k(1.0)
    assert cfg.max_job_k == 64  # os: ceil(1/rows) * K <= a_buf_depth
    assert cfg.replace(dataflow="ws").max_job_k == 128  # ws: ceil(K/rows) <= 64, K <= 128
    assert ArrayConfig(acc_bits=20).max_job_k == ArrayConfig(acc_bits=20).max_k == 16
    deep = ArrayConfig(a_buf_depth=1 << 16, w_buf_depth=1 << 16)
    assert deep.max_job_k == 65535  # the cmd_k port
    for c in (cfg, cfg.replace(dataflow="ws"), deep):
        c.check_job(1, c.max_job_k, 1)
        with pytest.raises(ValueError):
            c.check_job(1, c.max_job_k + 1, 1)


@pytest.mark.parametrize("dataflow,mkn,message", [
    ("os", (0, 1, 1), r"^job M must be in \[1, 65535\], not 0$"),
    ("os", (1, 65536, 1), r"^job K must be in \[1, 65535\], not 65536$"),
    ("os", (1, 1, True), r"^job N must be an integer, not True$"),
    ("os", (1, 86, 1), r"^job K=86 exceeds max_k=85 of acc_bits=10 for a_bits=2, w_bits=2$"),
    ("os", (1, 1, 17), r"^job N=17 exceeds param_depth=16$"),
    ("os", (1, 9, 5), r"^job needs ceil\(N/cols\)\*K=18 weight words > w_buf_depth=16$"),
    ("os", (5, 9, 1), r"^job needs 18 activation words > a_buf_depth=16$"),
    ("ws", (17, 1, 1), r"^job M=17 exceeds acc_depth=16$"),
    ("ws", (9, 5, 1), r"^job needs 18 activation words > a_buf_depth=16$"),
    ("os", (4, 2, 9, True),
     r"^split job needs ceil\(N/cols\)\*M=12 partial-sum rows > psum_depth=8$"),
    ("ws", (9, 2, 1, True),
     r"^split job needs ceil\(N/cols\)\*M=9 partial-sum rows > psum_depth=8$"),
])
def test_check_job_rejects(dataflow, mkn, message):
    cfg = ArrayConfig(a_bits=2, w_bits=2, acc_bits=10, out_bits=2, dataflow=dataflow,
                      a_buf_depth=16, w_buf_depth=16, param_depth=16, acc_depth=16,
                      psum_depth=8, out_fifo_depth=8)
    assert cfg.max_k == 85  # (2^9 - 1) // ((2^2 - 1) * 2^1)
    *mkn, split = (*mkn, False) if len(mkn) == 3 else mkn
    with pytest.raises((ValueError, TypeError), match=message):
        cfg.check_job(*mkn, split=split)
    if split:
        cfg.check_job(*mkn)  # the same job passes when it is not one of a K split


def _brute_limit(cfg: ArrayConfig, dim: str) -> int:
    """Largest value of ``dim`` that check_job accepts with the other two dimensions 1 (a scan)."""
    best = 0
    for v in range(1, (1 << cfg.dim_bits)):
        try:
            cfg.check_job(*(v if d == dim else 1 for d in "mkn"))
        except ValueError:
            break
        best = v
    return best


@pytest.mark.parametrize("name", ["int8-4x4", "int8-8x8-ws", "int8-16x16", "int4-4x4"])
def test_job_limits_are_what_check_job_accepts(name):
    cfg = preset(name)
    limits = cfg.job_limits()
    for dim in "mkn":
        assert limits[dim].value == _brute_limit(cfg, dim), dim


def test_job_limits_name_their_causes():
    limits = ArrayConfig().job_limits()  # 1024-word buffers of 4 lanes, 256 channels
    assert (limits["m"].value, limits["m"].causes) == (4096, ("a_buf_depth",))
    assert (limits["k"].value, set(limits["k"].causes)) == (1024, {"a_buf_depth", "w_buf_depth"})
    assert (limits["n"].value, limits["n"].causes) == (256, ("param_depth",))
    big = ArrayConfig(rows=16, cols=16, a_buf_depth=1 << 16, w_buf_depth=1 << 16)
    assert big.job_limits()["m"].causes == ("cmd_m",)  # 16 * 65536 rows, but cmd_m has 16 bits
    assert big.job_limits()["k"] == JobLimit(65535, ("cmd_k",))
    narrow = ArrayConfig(a_bits=4, w_bits=4, acc_bits=12, out_bits=4)
    assert narrow.job_limits()["k"] == JobLimit(narrow.max_k, ("acc_bits",)) and narrow.max_k == 17
    ws = ArrayConfig(dataflow="ws", acc_depth=64)
    assert ws.job_limits()["m"] == JobLimit(64, ("acc_depth",))


# ---- rejected configs -------------------------------------------------------------------------
@pytest.mark.parametrize("fields,exc,message", [
    (dict(rows=0), ValueError, r"^rows must be in \[1, 128\], not 0$"),
    (dict(rows=129), ValueError, r"^rows must be in \[1, 128\], not 129$"),
    (dict(cols=0), ValueError, r"^cols must be in \[1, 128\], not 0$"),
    (dict(rows=4.0), TypeError, r"^rows must be an integer, not 4\.0$"),
    (dict(rows=True), TypeError, r"^rows must be an integer, not True$"),
    (dict(cols="4"), TypeError, r"^cols must be an integer, not '4'$"),
    (dict(a_bits=1), ValueError, r"^a_bits must be in \[2, 16\], not 1$"),
    (dict(a_bits=17, acc_bits=64), ValueError, r"^a_bits must be in \[2, 16\], not 17$"),
    (dict(w_bits=1), ValueError, r"^w_bits must be in \[2, 16\], not 1$"),
    (dict(w_bits=False), TypeError, r"^w_bits must be an integer, not False$"),
    (dict(acc_bits=15), ValueError,
     r"^acc_bits must be at least a_bits \+ w_bits = 16 to hold one product, not 15$"),
    (dict(acc_bits=65), ValueError, r"^acc_bits must be in \[2, 64\], not 65$"),
    (dict(rows=8, out_fifo_depth=16, acc_bits=18), ValueError,
     r"^acc_bits=18 leaves max_k=4 .* fewer than rows = 8: .*acc_bits must be at least 19$"),
    (dict(mult_bits=7), ValueError, r"^mult_bits must be in \[8, 32\], not 7$"),
    (dict(mult_bits=33), ValueError, r"^mult_bits must be in \[8, 32\], not 33$"),
    (dict(out_bits=1), ValueError, r"^out_bits must be in \[2, 16\], not 1$"),
    (dict(a_bits=4, w_bits=4, acc_bits=8, out_bits=9), ValueError,
     r"^out_bits must be at most acc_bits = 8, not 9$"),
    (dict(dataflow="is"), ValueError, r"^dataflow must be one of os, ws, not 'is'$"),
    (dict(dataflow=None), ValueError, r"^dataflow must be one of os, ws, not None$"),
    (dict(rounding="even"), ValueError,
     r"^rounding must be one of tflite, single, halfup, not 'even'$"),
    (dict(pe_pipeline=3), ValueError, r"^pe_pipeline must be in \[0, 2\], not 3$"),
    (dict(pe_pipeline=1.5), TypeError, r"^pe_pipeline must be an integer, not 1\.5$"),
    (dict(a_buf_depth=1000), ValueError, r"^a_buf_depth must be a power of two, not 1000$"),
    (dict(w_buf_depth=8), ValueError, r"^w_buf_depth must be at least 16, not 8$"),
    (dict(a_buf_depth=1 << 17), ValueError, r"^a_buf_depth must be in \[2, 65536\], not 131072$"),
    (dict(param_depth=3), ValueError, r"^param_depth must be a power of two, not 3$"),
    (dict(cols=8, param_depth=4), ValueError, r"^param_depth must be at least cols = 8, not 4$"),
    (dict(acc_depth=96), ValueError, r"^acc_depth must be a power of two, not 96$"),
    (dict(psum_depth=24), ValueError, r"^psum_depth must be a power of two, not 24$"),
    (dict(psum_depth=1), ValueError, r"^psum_depth must be in \[2, 65536\], not 1$"),
    (dict(out_fifo_depth=4), ValueError, r"^out_fifo_depth must be at least 2 \* rows = 8, not 4$"),
    (dict(out_fifo_depth=48), ValueError, r"^out_fifo_depth must be a power of two, not 48$"),
    (dict(out_fifo_depth=True), TypeError, r"^out_fifo_depth must be an integer, not True$"),
])
def test_init_wrong(fields, exc, message):
    with pytest.raises(exc, match=message):
        ArrayConfig(**fields)


def test_every_field_has_a_rejection():
    """Each field appears in at least one rejection case above."""
    cases = next(m for m in test_init_wrong.pytestmark if m.name == "parametrize").args[1]
    rejected = set(itertools.chain.from_iterable(fields for fields, _, _ in cases))
    assert {f.name for f in dataclasses.fields(ArrayConfig)} <= rejected
