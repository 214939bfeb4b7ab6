"""Stream packing: lane order, sign handling, ragged blocks, round trips (docs/PROTOCOL.md)."""

import numpy as np
import pytest

from golden.lowering import Job
from hw.config import ArrayConfig
from sim.packing import job_streams, pack_fields, pack_lanes, unpack_lanes, unpack_out


def _job(m, k, n, rng, a_bits=8, w_bits=8):
    a = rng.integers(-(1 << (a_bits - 1)), 1 << (a_bits - 1), size=(m, k))
    w = rng.integers(-(1 << (w_bits - 1)), 1 << (w_bits - 1), size=(k, n))
    return Job(
        m=m,
        k=k,
        n=n,
        x_zp=3,
        y_zp=-2,
        act_min=-128,
        act_max=127,
        a=a,
        w=w,
        bias=rng.integers(-1000, 1000, size=n),
        m0=rng.integers(1 << 30, 1 << 31, size=n),
        shift=rng.integers(-31, 31, size=n),
        row0=0,
        channels=np.arange(n),
    )


def test_lane_order_and_sign_bytes():
    # two 4-bit lanes in one byte: lane 0 = -1 (0xF) low nibble, lane 1 = 2 high nibble
    assert pack_lanes(np.array([[-1, 2]]), 4, 8) == bytes([0x2F])
    # 3 lanes of 8 bits padded to 32: little-endian lanes, zero pad byte
    assert pack_lanes(np.array([[1, -128, 127]]), 8, 32) == bytes([1, 0x80, 0x7F, 0])
    # 12-bit lanes straddle bytes: -2048 = 0x800, 5 = 0x005 -> bits 0x005800
    assert pack_lanes(np.array([[-2048, 5]]), 12, 24) == bytes([0x00, 0x58, 0x00])


@pytest.mark.parametrize("bits", [2, 4, 5, 8, 12, 16])
def test_round_trip_extremes(bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    rng = np.random.default_rng(bits)
    v = rng.integers(lo, hi + 1, size=(37, 7))
    v[0], v[1] = lo, hi
    tdata = -(-7 * bits // 8) * 8
    data = pack_lanes(v, bits, tdata)
    assert len(data) == 37 * tdata // 8
    np.testing.assert_array_equal(unpack_lanes(data, 7, bits, tdata), v)


def test_param_fields_bias_low_shift_high():
    data = pack_fields(
        [
            ("bias", np.array([-1]), 32),
            ("m0", np.array([1 << 30]), 32),
            ("shift", np.array([-31]), 6),
        ],
        72,
    )
    word = int.from_bytes(data, "little")
    assert word & 0xFFFFFFFF == 0xFFFFFFFF
    assert (word >> 32) & 0xFFFFFFFF == 1 << 30
    assert word >> 64 == (-31) & 0x3F


def test_values_that_do_not_fit_are_rejected():
    with pytest.raises(
        ValueError, match=r"^bias must fit 20 signed bits \[-524288, 524287\], found 524288$"
    ):
        pack_fields([("bias", np.array([1 << 19]), 20)], 24)
    with pytest.raises(ValueError, match=r"^tdata_bits must be a multiple of 8, not 12$"):
        pack_lanes(np.zeros((1, 1)), 4, 12)


@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_job_streams_ragged_order(dataflow):
    cfg = ArrayConfig(rows=4, cols=3, dataflow=dataflow)
    rng = np.random.default_rng(0)
    job = _job(6, 5, 4, rng)  # M, K, N all ragged against 4 x 3
    s = job_streams(job, cfg, rng=np.random.default_rng(1))
    w = unpack_lanes(s["w"], 3, 8, cfg.w_tdata_bits)
    assert w.shape == (2 * 5, 3)  # ceil(4/3) * K beats
    for nb in range(2):
        for k in range(5):
            for j in range(3):
                if nb * 3 + j < 4:
                    assert w[nb * 5 + k, j] == job.w[k, nb * 3 + j]
    a = unpack_lanes(s["a"], 4, 8, cfg.a_tdata_bits)
    if dataflow == "os":
        assert a.shape == (2 * 5, 4)  # ceil(M/R) * K
        for mb in range(2):
            for k in range(5):
                for i in range(4):
                    if mb * 4 + i < 6:
                        assert a[mb * 5 + k, i] == job.a[mb * 4 + i, k]
    else:
        assert a.shape == (2 * 6, 4)  # ceil(K/R) * M
        for kb in range(2):
            for m in range(6):
                for i in range(4):
                    if kb * 4 + i < 5:
                        assert a[kb * 6 + m, i] == job.a[m, kb * 4 + i]
    p = np.frombuffer(s["param"], dtype=np.uint8).reshape(4, cfg.param_tdata_bits // 8)
    for ch in range(4):
        word = int.from_bytes(p[ch].tobytes(), "little")
        bias = word & 0xFFFFFFFF
        assert bias - ((bias >> 31) << 32) == job.bias[ch]
        assert (word >> 32) & 0xFFFFFFFF == job.m0[ch]
        sh = (word >> 64) & 0x3F
        assert sh - ((sh >> 5) << 6) == job.shift[ch]


def test_zero_fill_without_rng():
    cfg = ArrayConfig(rows=4, cols=4)
    job = _job(1, 2, 1, np.random.default_rng(3))
    a = unpack_lanes(job_streams(job, cfg)["a"], 4, 8, cfg.a_tdata_bits)
    assert (a[:, 1:] == 0).all()


def test_unpack_out_reorders_and_counts_bad_padding():
    cfg = ArrayConfig(rows=2, cols=4, out_bits=8)
    m, n = 3, 6  # two column blocks, the second with 2 padding lanes
    out = np.arange(m * n).reshape(m, n) - 9
    beats = np.zeros((2 * m, 4), dtype=np.int64)
    for nb in range(2):
        for mm in range(m):
            for j in range(4):
                if nb * 4 + j < n:
                    beats[nb * m + mm, j] = out[mm, nb * 4 + j]
    job = Job(
        m=m,
        k=1,
        n=n,
        x_zp=0,
        y_zp=0,
        act_min=-128,
        act_max=127,
        a=np.zeros((m, 1), np.int64),
        w=np.zeros((1, n), np.int64),
        bias=np.zeros(n, np.int64),
        m0=np.zeros(n, np.int64),
        shift=np.zeros(n, np.int64),
        row0=0,
        channels=np.arange(n),
    )
    got, bad = unpack_out(pack_lanes(beats, 8, cfg.out_tdata_bits), job, cfg)
    np.testing.assert_array_equal(got, out)
    assert bad == 0
    beats[2 * m - 1, 3] = 1
    assert unpack_out(pack_lanes(beats, 8, cfg.out_tdata_bits), job, cfg)[1] == 1
