"""Jobs to stream bytes and output bytes back to integers, in the formats of docs/PROTOCOL.md.

Lanes are packed LSB-first, each lane a two's-complement field, tdata padded with zeros to whole
bytes; a stream of B beats is ``B * tdata_bits / 8`` bytes, beat after beat, the little-endian byte
order that cocotbext-axi uses for a frame. Everything is vectorized: a job's streams are built from
bit matrices with ``np.packbits`` (no per-element Python).

Beat order per job (R = rows, C = cols):

- params: beat n = ``{shift[n], m0[n], bias[n]}``, bias in the LSBs;
- w: beat ``nb*K + k`` holds ``W[k, nb*C + j]`` in lane j;
- a ("os"): beat ``mb*K + k`` holds ``A[mb*R + i, k]``;
- a ("ws"): beat ``kb*M + m`` holds ``A[m, kb*R + i]``;
- out: beat ``nb*M + m`` holds ``out[m, nb*C + j]``.

Lanes outside M, N or K are don't-care on input: :func:`job_streams` fills them with zeros, or with
random values from ``rng`` to check that the hardware ignores them.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "job_streams",
    "out_beats",
    "pack_fields",
    "pack_lanes",
    "unpack_lanes",
    "unpack_out",
]


def _bits(values: np.ndarray, width: int) -> np.ndarray:
    """Two's-complement bits of ``values`` (any shape), LSB first, as a trailing axis of uint8."""
    return ((values[..., None] >> np.arange(width, dtype=np.int64)) & 1).astype(np.uint8)


def _check_fits(name: str, values: np.ndarray, width: int, signed: bool = True) -> None:
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    if values.size and (values.min() < lo or values.max() > hi):
        bad = int(values.min()) if values.min() < lo else int(values.max())
        raise ValueError(f"{name} must fit {width} signed bits [{lo}, {hi}], found {bad}")


def pack_fields(fields, tdata_bits: int) -> bytes:
    """Pack per-beat fields into beats.

    Parameters
    ----------
    fields : sequence of (name, values, width)
        ``values`` is an int array of shape (beats, lanes) or (beats,); fields are concatenated
        LSB-first in the order given, each lane ``width`` bits two's complement.
    tdata_bits : int
        Beat width, a multiple of 8 and at least the sum of the field widths.

    Returns
    -------
    bytes
        ``beats * tdata_bits // 8`` bytes.
    """
    if tdata_bits % 8:
        raise ValueError(f"tdata_bits must be a multiple of 8, not {tdata_bits!r}")
    parts = []
    beats = None
    for name, values, width in fields:
        values = np.asarray(values, dtype=np.int64)
        if values.ndim == 1:
            values = values[:, None]
        if beats is None:
            beats = values.shape[0]
        elif values.shape[0] != beats:
            raise ValueError(f"{name} has {values.shape[0]} beats, other fields {beats}")
        _check_fits(name, values, width)
        parts.append(_bits(values, width).reshape(beats, -1))
    used = sum(p.shape[1] for p in parts)
    if used > tdata_bits:
        raise ValueError(f"fields need {used} bits, more than tdata_bits={tdata_bits}")
    parts.append(np.zeros((beats, tdata_bits - used), dtype=np.uint8))
    return np.packbits(np.concatenate(parts, axis=1), axis=1, bitorder="little").tobytes()


def pack_lanes(values: np.ndarray, bits: int, tdata_bits: int, name: str = "values") -> bytes:
    """Pack ``values[beats, lanes]`` (each ``bits`` wide) into ``beats`` beats of ``tdata_bits``."""
    return pack_fields([(name, values, bits)], tdata_bits)


def unpack_lanes(data: bytes, lanes: int, bits: int, tdata_bits: int) -> np.ndarray:
    """Inverse of :func:`pack_lanes`.

    Returns
    -------
    (beats, lanes) ndarray of int64
        Sign-extended lane values.
    """
    nbytes = tdata_bits // 8
    if len(data) % nbytes:
        raise ValueError(f"data must be whole beats of {nbytes} bytes, not {len(data)} bytes")
    raw = np.frombuffer(bytes(data), dtype=np.uint8).reshape(-1, nbytes)
    bitmat = np.unpackbits(raw, axis=1, bitorder="little")[:, : lanes * bits]
    bitmat = bitmat.reshape(-1, lanes, bits).astype(np.int64)
    v = (bitmat << np.arange(bits, dtype=np.int64)).sum(axis=2)
    return v - ((v >> (bits - 1)) << bits)


def _pad_to(x: np.ndarray, shape: tuple, rng, lo: int, hi: int) -> np.ndarray:
    if rng is None:
        out = np.zeros(shape, dtype=np.int64)
    else:
        out = rng.integers(lo, hi + 1, size=shape, dtype=np.int64)
    out[: x.shape[0], : x.shape[1]] = x
    return out


def job_streams(job, config, *, rng: np.random.Generator | None = None) -> dict[str, bytes]:
    """The ``param``, ``w`` and ``a`` stream bytes of one job.

    Parameters
    ----------
    job : golden.lowering.Job
    config : hw.config.ArrayConfig
    rng : numpy.random.Generator, optional
        Fill ragged lanes (outside M, N, K) with random in-range values instead of zeros.

    Returns
    -------
    dict
        ``{"param": bytes, "w": bytes, "a": bytes}``.

    Raises
    ------
    ValueError
        If a value does not fit its field (e.g. a bias beyond acc_bits).
    """
    r, c = config.rows, config.cols
    m, k, n = job.m, job.k, job.n
    param = pack_fields(
        [
            ("bias", job.bias, config.acc_bits),
            ("m0", job.m0, config.mult_bits),
            ("shift", job.shift, config.shift_bits),
        ],
        config.param_tdata_bits,
    )
    nb = -(-n // c)
    wlo, whi = -(1 << (config.w_bits - 1)), (1 << (config.w_bits - 1)) - 1
    _check_fits("w", job.w, config.w_bits)
    w = _pad_to(job.w, (k, nb * c), rng, wlo, whi).reshape(k, nb, c).transpose(1, 0, 2)
    alo, ahi = -(1 << (config.a_bits - 1)), (1 << (config.a_bits - 1)) - 1
    _check_fits("a", job.a, config.a_bits)
    if config.dataflow == "os":
        mb = -(-m // r)
        a = _pad_to(job.a, (mb * r, k), rng, alo, ahi).reshape(mb, r, k).transpose(0, 2, 1)
    else:
        kb = -(-k // r)
        a = _pad_to(job.a, (m, kb * r), rng, alo, ahi).reshape(m, kb, r).transpose(1, 0, 2)
    return {
        "param": param,
        "w": pack_lanes(w.reshape(-1, c), config.w_bits, config.w_tdata_bits, "w"),
        "a": pack_lanes(a.reshape(-1, r), config.a_bits, config.a_tdata_bits, "a"),
    }


def out_beats(job, config) -> int:
    """Number of output beats of a job: ``ceil(N/C) * M``."""
    return -(-job.n // config.cols) * job.m


def unpack_out(data: bytes, job, config) -> tuple[np.ndarray, int]:
    """Decode a job's output bytes.

    Returns
    -------
    out : (m, n) ndarray of int64
    bad_padding : int
        Number of lanes outside N that were not zero (PROTOCOL: they must be).
    """
    c = config.cols
    nb = -(-job.n // c)
    lanes = unpack_lanes(data, c, config.out_bits, config.out_tdata_bits)
    if lanes.shape[0] != nb * job.m:
        raise ValueError(f"job output must be {nb * job.m} beats, not {lanes.shape[0]}")
    full = lanes.reshape(nb, job.m, c).transpose(1, 0, 2).reshape(job.m, nb * c)
    return full[:, : job.n].copy(), int(np.count_nonzero(full[:, job.n :]))
