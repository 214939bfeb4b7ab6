"""Lowering: a layer becomes array jobs, and the job outputs reassemble into the layer output.

Every layer is viewed as GEMMs on a 2-D output ``Y[Mtot, Cout]`` (rows = batch*OH*OW output pixels,
or matmul rows, or fc batch; columns = output channels), reshaped to the layer's layout at the end:

- matmul ``x[M, K] @ w[K, N]``; fully connected ``x[B, in] @ w[out, in].T``;
- conv2d: ``im2col`` (padding filled with ``x_zp``, a zero difference) gives ``[Mtot, KH*KW*Cin]``;
  group g reads input channels ``[g*Cin/G, (g+1)*Cin/G)`` of every tap and writes output channels
  ``[g*Cout/G, (g+1)*Cout/G)``;
- depthwise: the grouped conv with ``G = Cin`` and ``Cout/G = multiplier`` (the weight
  ``[1, KH, KW, C*mult]`` is OHWI ``[C*mult, KH, KW, 1]``).

Groups narrower than the array (``Cout/G < cols``) are packed: P consecutive groups share one job
whose activation block is the P groups' patches side by side and whose weight block is
block-diagonal. This is exact (the activations of one group meet zero weights of the others) and
fills the columns.

Each GEMM is tiled in M and N so that every job passes ``config.check_job``; the blocks are the
largest the buffers allow (multiples of rows/cols), split evenly.

K split. A reduction length K that no single job can hold (a buffer bank is too short) is cut into
as few chunks as a bank allows, as even as possible (multiples of ``rows`` where that costs no
extra chunk), one job each: for every output block the chunk jobs follow each other, the first
with ``acc_hold``, the middle ones with ``acc_cont`` and ``acc_hold``, the last with ``acc_cont``
(docs/PROTOCOL.md, "K split"). The array keeps the raw partial sums on chip between them, exactly,
so the split never changes a result. Only the whole K is bounded, by ``config.check_k`` (the
accumulator width: ``max_k``); the blocks of a split are also bounded by the partial-sum memory
(``check_job(..., split=True)``).

The lowering reads only ``rows``, ``cols``, ``mult_bits``, ``check_k(k)`` and
``check_job(m, k, n, split=...)`` from the config, so golden does not import hw; any object with
those members works.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from golden.geometry import im2col
from golden.job import Job, job_sums, run_job_reference, run_jobs_reference
from golden.multiplier import reduce_multiplier

# Job and its reference model live in golden.job; they are re-exported here, beside the lowering
# that makes them.
__all__ = ["Job", "Plan", "job_sums", "lower", "run_job_reference", "run_jobs_reference"]


@dataclass
class Plan:
    """The jobs of a layer and how their outputs reassemble.

    Attributes
    ----------
    jobs : list of Job
    rows_total, channels_total : int
        Shape of the 2-D output ``Y[rows_total, channels_total]``.
    out_shape : tuple of int
        Layout of the layer output (``Y.reshape(out_shape)``).
    k_chunks : int
        Jobs each output block's K is split into (1: no split).
    """

    jobs: list[Job]
    rows_total: int
    channels_total: int
    out_shape: tuple
    k_chunks: int = 1
    _owner: np.ndarray = field(default=None, repr=False)

    def assemble(self, outputs) -> np.ndarray:
        """Place job outputs into the layer output.

        Parameters
        ----------
        outputs : sequence of int arrays
            One per job, in ``jobs`` order, of shape ``job.out_shape`` (``(0, n)`` for a job that
            holds its sums for the next job of a K split).

        Returns
        -------
        ndarray of int64, shape ``out_shape``

        Raises
        ------
        ValueError
            If the number of outputs or a shape does not match the jobs, or an output element
            is not covered by any job.
        """
        outputs = list(outputs)
        if len(outputs) != len(self.jobs):
            raise ValueError(
                f"outputs must hold one array per job ({len(self.jobs)}), not {len(outputs)}"
            )
        y = np.zeros((self.rows_total, self.channels_total), dtype=np.int64)
        seen = np.zeros(y.shape, dtype=bool)
        for i, (job, out) in enumerate(zip(self.jobs, outputs, strict=False)):
            out = np.asarray(out)
            if out.shape != job.out_shape:
                raise ValueError(f"outputs[{i}] must have shape {job.out_shape}, not {out.shape}")
            if job.acc_hold:
                continue
            y[job.row0 : job.row0 + job.m, job.channels] = out
            seen[job.row0 : job.row0 + job.m, job.channels] = True
        if not seen.all():
            r, c = np.argwhere(~seen)[0]
            raise ValueError(f"output element (row {r}, channel {c}) is produced by no job")
        return y.reshape(self.out_shape)

    def locate(self, index: int) -> tuple[int, int, int]:
        """Job and job coordinates ``(job, m, n)`` producing flat output element ``index``."""
        r, c = divmod(int(index), self.channels_total)
        for j, job in enumerate(self.jobs):
            if not job.acc_hold and job.row0 <= r < job.row0 + job.m:
                hit = np.nonzero(job.channels == c)[0]
                if hit.size:
                    return j, r - job.row0, int(hit[0])
        raise ValueError(f"index must address an output element, not {index!r}")


def _largest(ok, hi: int) -> int:
    """Largest v in [1, hi] with ok(v) (ok monotone decreasing, ok(1) true)."""
    lo = 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _passes(config, m: int, k: int, n: int, split: bool = False) -> bool:
    try:
        config.check_job(m, k, n, split=split)
    except ValueError:
        return False
    return True


def _k_chunks(config, k: int) -> list[tuple[int, int]]:
    """``(k0, length)`` of the chunks of a K: one if a job holds it, else as few as banks allow."""
    if _passes(config, 1, k, 1):
        return [(0, k)]
    longest = _largest(lambda v: _passes(config, 1, v, 1, split=True), k)
    count = -(-k // longest)
    # Chunks of a multiple of rows keep the "ws" folds full; take them when they cost no chunk.
    even = -(-k // count)
    aligned = -(-even // config.rows) * config.rows
    if aligned <= longest:
        return [(s, min(aligned, k - s)) for s in range(0, k, aligned)]
    base, extra = divmod(k, count)
    sizes = [base + (i < extra) for i in range(count)]
    return [(sum(sizes[:i]), size) for i, size in enumerate(sizes)]


def _blocks(total: int, limit: int, unit: int) -> list[tuple[int, int]]:
    """Split ``total`` into even blocks of at most ``limit``, multiples of ``unit`` if possible."""
    if limit >= total:
        return [(0, total)]
    if limit >= unit:
        limit -= limit % unit
    count = -(-total // limit)
    size = -(-total // count)
    if size > unit:
        size = min(limit, -(-size // unit) * unit)
    return [(s, min(size, total - s)) for s in range(0, total, size)]


def _gemm_view(layer):
    """(A [Mtot, G, Kg] patches, W [G, Kg, cog], out_shape) of a layer."""
    x, w = layer.x, layer.w
    if layer.op == "matmul":
        return x[:, None, :], w[None], (x.shape[0], w.shape[1])
    if layer.op == "fully_connected":
        return x[:, None, :], w.T[None], (x.shape[0], w.shape[0])
    geo = layer.geometry
    wo = (
        w if layer.op == "conv2d" else w.transpose(3, 1, 2, 0)
    )  # depthwise -> OHWI [C*mult, KH, KW, 1]
    g, cig, cog = geo.groups, geo.cin // geo.groups, geo.cout // geo.groups
    cols = im2col(
        x,
        geo.kh,
        geo.kw,
        stride=layer.stride,
        padding=layer.padding,
        dilation=layer.dilation,
        pad_value=layer.x_zp,
    )
    taps = geo.kh * geo.kw
    a = cols.reshape(-1, taps, g, cig).transpose(0, 2, 1, 3).reshape(-1, g, taps * cig)
    wg = wo.reshape(g, cog, taps * cig).transpose(0, 2, 1)
    return a, wg, (geo.batch, geo.oh, geo.ow, geo.cout)


def lower(layer, config, *, pack: bool = True) -> Plan:
    """Turn a ``golden.Layer`` into array jobs for ``config``.

    Parameters
    ----------
    layer : golden.Layer
    config : object
        Anything with ``rows``, ``cols``, ``mult_bits``, ``check_k(k)`` and
        ``check_job(m, k, n, split=...)`` (ArrayConfig).
    pack : bool
        Pack narrow groups block-diagonally into one job (see the module docstring).

    Returns
    -------
    Plan

    Raises
    ------
    ValueError
        If the reduction length K of the layer exceeds the accumulator's ``max_k``.
    """
    for attr in ("rows", "cols", "mult_bits", "check_k", "check_job"):
        if not hasattr(config, attr):
            raise TypeError(
                f"config must have rows, cols, mult_bits, check_k and check_job, not {config!r}"
            )
    a, wg, out_shape = _gemm_view(layer)
    mtot, groups, kg = a.shape
    cog = wg.shape[2]
    try:
        config.check_k(kg)
    except ValueError as exc:
        raise ValueError(f"layer {layer.op} needs K={kg} per output channel: {exc}") from None
    m0, shift = reduce_multiplier(layer.m0, layer.shift, config.mult_bits)
    m0, shift = np.asarray(m0, np.int64), np.asarray(shift, np.int64)
    bias = np.asarray(layer.bias, np.int64)
    pack_size = 1
    if pack and groups > 1 and cog < config.cols:
        pack_size = max(1, min(groups, config.cols // cog))
        while pack_size > 1 and not _passes(config, 1, pack_size * kg, pack_size * cog):
            pack_size -= 1
    split_chunks = _k_chunks(config, pack_size * kg)
    split = len(split_chunks) > 1  # then pack_size is 1: a packed K fits one job
    jobs: list[Job] = []
    for g0 in range(0, groups, pack_size):
        p = min(pack_size, groups - g0)
        chunks = split_chunks if split else [(0, p * kg)]
        kc = max(size for _, size in chunks)  # every chunk passes where the longest does
        a_g = a[:, g0 : g0 + p, :].reshape(mtot, p * kg)
        w_g = np.zeros((p * kg, p * cog), dtype=np.int64)
        for i in range(p):  # block diagonal: group g0+i meets only its own weights
            w_g[i * kg : (i + 1) * kg, i * cog : (i + 1) * cog] = wg[g0 + i]
        nn = p * cog
        ch0 = g0 * cog
        n_lim = _largest(lambda v, kc=kc: _passes(config, 1, kc, v, split), nn)
        for n0, nb in _blocks(nn, n_lim, config.cols):
            m_lim = _largest(lambda v, kc=kc, nb=nb: _passes(config, v, kc, nb, split), mtot)
            sl = slice(ch0 + n0, ch0 + n0 + nb)
            for r0, mb in _blocks(mtot, m_lim, config.rows):
                for c, (k0, kk) in enumerate(chunks):
                    config.check_job(mb, kk, nb, split=split)
                    jobs.append(
                        Job(
                            m=mb,
                            k=kk,
                            n=nb,
                            x_zp=int(layer.x_zp),
                            y_zp=int(layer.y_zp),
                            act_min=int(layer.act_min),
                            act_max=int(layer.act_max),
                            a=np.ascontiguousarray(a_g[r0 : r0 + mb, k0 : k0 + kk]),
                            w=np.ascontiguousarray(w_g[k0 : k0 + kk, n0 : n0 + nb]),
                            bias=bias[sl].copy(),
                            m0=m0[sl].copy(),
                            shift=shift[sl].copy(),
                            row0=r0,
                            channels=np.arange(ch0 + n0, ch0 + n0 + nb, dtype=np.int64),
                            acc_cont=c > 0,
                            acc_hold=c < len(chunks) - 1,
                            k0=k0,
                        )
                    )
    return Plan(jobs, mtot, groups * cog, tuple(out_shape), k_chunks=len(split_chunks))
