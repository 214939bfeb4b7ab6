"""One array job (docs/PROTOCOL.md) and the NumPy model of what the hardware computes for it.

:class:`Job` holds a job's command fields and operands; :func:`job_sums`, :func:`run_job_reference`
and :func:`run_jobs_reference` model it exactly, including the partial sums that the jobs of a K
split carry from one to the next (docs/PROTOCOL.md, "K split"). ``golden.lowering`` makes the jobs
of a layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden._check import int_range
from golden.accumulate import matmul_acc
from golden.layers import requantize_output

__all__ = ["Job", "job_sums", "run_job_reference", "run_jobs_reference"]


@dataclass(frozen=True, eq=False)
class Job:
    """One array job (docs/PROTOCOL.md): ``out = clamp(requant(bias + W.T (A - x_zp)) + y_zp)``.

    Attributes
    ----------
    m, k, n : int
        Job dimensions.
    x_zp, y_zp, act_min, act_max : int
        Activation and output zero points, output clamp (inclusive).
    a : (m, k) ndarray of int64
        Activation block.
    w : (k, n) ndarray of int64
        Weight block.
    bias, m0, shift : (n,) ndarray of int64
        Per-column parameters; ``m0``/``shift`` already reduced to the config's ``mult_bits``.
    row0 : int
        First row of the layer's 2-D output ``Y[Mtot, Cout]`` that job row 0 lands on.
    channels : (n,) ndarray of int64
        Column of ``Y`` (output channel) each job column lands on.
    acc_cont : bool
        K split: the job adds its sums to those the previous job held (else it starts from 0).
    acc_hold : bool
        K split: the job holds its sums on chip for the next job and sends no output (its
        parameters and output fields are then unused).
    k0 : int
        First column of the GEMM's K that the job's K covers (0 unless K is split).
    """

    m: int
    k: int
    n: int
    x_zp: int
    y_zp: int
    act_min: int
    act_max: int
    a: np.ndarray
    w: np.ndarray
    bias: np.ndarray
    m0: np.ndarray
    shift: np.ndarray
    row0: int
    channels: np.ndarray
    acc_cont: bool = False
    acc_hold: bool = False
    k0: int = 0

    @property
    def macs(self) -> int:
        """Multiply-accumulates the job performs (``m * k * n``, including packing zeros)."""
        return self.m * self.k * self.n

    @property
    def split(self) -> bool:
        """The job is one of a K split (it continues or holds partial sums)."""
        return bool(self.acc_cont or self.acc_hold)

    @property
    def out_shape(self) -> tuple[int, int]:
        """Shape of the job's output: ``(m, n)``, or ``(0, n)`` for a job that holds its sums."""
        return (0 if self.acc_hold else self.m, self.n)


def job_sums(
    job: Job, psum=None, *, a_bits: int = 8, w_bits: int = 8, acc_bits: int = 64
) -> np.ndarray:
    """The raw sums a job leaves (no bias): ``psum + W.T (A - x_zp)``, as the hardware adds them.

    Parameters
    ----------
    job : Job
    psum : (m, n) int array, optional
        The sums the previous job held; required when ``job.acc_cont``, refused otherwise.
    a_bits, w_bits : int
        Activation and weight widths (value range checks).
    acc_bits : int
        The accumulator width: every sum must fit it (the hardware never wraps, so a sum that
        does not fit is a ValueError, not a wrapped value).

    Returns
    -------
    (m, n) ndarray of int64
    """
    sums = matmul_acc(job.a, job.w, None, x_zp=job.x_zp, a_bits=a_bits, w_bits=w_bits, acc_bits=64)
    if job.acc_cont:
        if psum is None:
            raise ValueError("psum must hold the previous job's sums for a job with acc_cont")
        psum = np.asarray(psum, dtype=np.int64)
        if psum.shape != sums.shape:
            raise ValueError(f"psum must have shape {sums.shape}, not {psum.shape}")
        sums = sums + psum
    elif psum is not None:
        raise ValueError("psum must be None for a job without acc_cont")
    lo, hi = int_range(acc_bits)
    if sums.size and (sums.min() < lo or sums.max() > hi):
        bad = int(sums.min()) if sums.min() < lo else int(sums.max())
        raise ValueError(f"partial sum {bad} does not fit acc_bits={acc_bits}")
    return sums


def run_job_reference(
    job: Job,
    *,
    psum=None,
    rounding: str = "tflite",
    mult_bits: int = 32,
    out_bits: int = 8,
    a_bits: int = 8,
    w_bits: int = 8,
    acc_bits: int = 64,
) -> np.ndarray:
    """NumPy model of one job as the hardware computes it (docs/PROTOCOL.md).

    Parameters
    ----------
    job : Job
    psum : (m, n) int array, optional
        The sums the previous job of a K split held (``job_sums`` of it), for ``job.acc_cont``.
    rounding : {"tflite", "single", "halfup"}
    mult_bits : int
        Width of ``job.m0`` (the config's mult_bits).
    out_bits, a_bits, w_bits : int
        Output, activation and weight widths (value range checks).
    acc_bits : int
        Accumulator width (see :func:`job_sums`).

    Returns
    -------
    ndarray of int64, shape ``job.out_shape``
        The job's outputs: ``(m, n)``, or ``(0, n)`` for a job that holds its sums (it sends
        none; :func:`job_sums` gives what it holds).
    """
    sums = job_sums(job, psum, a_bits=a_bits, w_bits=w_bits, acc_bits=acc_bits)
    if job.acc_hold:
        return np.zeros((0, job.n), dtype=np.int64)
    return requantize_output(
        sums + job.bias,
        y_zp=job.y_zp,
        m0=job.m0,
        shift=job.shift,
        act_min=job.act_min,
        act_max=job.act_max,
        rounding=rounding,
        mult_bits=mult_bits,
        out_bits=out_bits,
    )


def run_jobs_reference(jobs, **kwargs) -> list[np.ndarray]:
    """:func:`run_job_reference` of a job sequence, carrying the partial sums of K splits.

    Parameters
    ----------
    jobs : sequence of Job
        In command order. A job with ``acc_hold`` must be followed by one with ``acc_cont`` and
        the same ``m`` and ``n`` (docs/PROTOCOL.md, "K split"), and only then.
    **kwargs
        ``rounding``, ``mult_bits``, ``out_bits``, ``a_bits``, ``w_bits``, ``acc_bits`` as in
        :func:`run_job_reference`.

    Returns
    -------
    list of ndarray
        One per job, of shape ``job.out_shape``.

    Raises
    ------
    ValueError
        If the sequence breaks the K-split contract or a sum does not fit ``acc_bits``.
    """
    outs, held, prev = [], None, None
    sum_kw = {k: v for k, v in kwargs.items() if k in ("a_bits", "w_bits", "acc_bits")}
    for i, job in enumerate(jobs):
        if job.acc_cont != (held is not None):
            raise ValueError(
                f"jobs[{i}] has acc_cont={job.acc_cont} but the previous job "
                f"{'holds' if held is not None else 'holds no'} partial sums"
            )
        if held is not None and (job.m, job.n) != (prev.m, prev.n):
            raise ValueError(
                f"jobs[{i}] continues a K split of an M x N = {prev.m} x {prev.n} job with "
                f"M x N = {job.m} x {job.n}"
            )
        if job.acc_hold:
            held = job_sums(job, held, **sum_kw)
            outs.append(np.zeros((0, job.n), dtype=np.int64))
        else:
            outs.append(run_job_reference(job, psum=held, **kwargs))
            held = None
        prev = job
    if held is not None:
        raise ValueError("the last job holds partial sums that no job continues")
    return outs
