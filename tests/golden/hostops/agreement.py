"""Compare golden's outputs for a list of cases with a LiteRT kernel set, and assert tolerances."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.golden.hostops.cases import Case

__all__ = ["Agreement", "measure", "assert_exact", "assert_within"]


@dataclass
class Agreement:
    """How golden's outputs compare with one LiteRT kernel set over a list of cases."""

    outputs: int = 0
    mismatches: int = 0
    max_abs: int = 0  # in LSB, or in float32 ulps for float outputs

    @property
    def rate(self) -> float:
        return 1.0 - self.mismatches / self.outputs if self.outputs else 1.0


def _diff(expected: np.ndarray, got: np.ndarray) -> np.ndarray:
    if expected.dtype == np.float32:
        # Ordered ulp distance of same-signed floats (the bit patterns are monotonic).
        bits = expected.view(np.int32).astype(np.int64), got.view(np.int32).astype(np.int64)
        return np.abs(bits[0] - bits[1])
    return np.abs(expected - got)


def measure(cases: list[Case], resolver: str) -> Agreement:
    """Agreement of every case's expected output with LiteRT's output on ``resolver``."""
    a = Agreement()
    for case in cases:
        got = case.litert(resolver)
        assert got.shape == case.expected.shape, (case.name, got.shape, case.expected.shape)
        d = _diff(case.expected, got)
        a.outputs += d.size
        a.mismatches += int(np.count_nonzero(d))
        a.max_abs = max(a.max_abs, int(d.max(initial=0)))
    return a


def assert_exact(case: Case, resolver: str = "ref") -> None:
    """Integer (or float32 bit) equality of golden and LiteRT on one case."""
    got = case.litert(resolver)
    if case.expected.dtype == np.float32:
        np.testing.assert_array_equal(got.view(np.int32), case.expected.view(np.int32),
                                      err_msg=case.name)
    else:
        np.testing.assert_array_equal(got, case.expected, err_msg=case.name)


def assert_within(cases: list[Case], resolver: str, tol: int) -> Agreement:
    """Every output within ``tol`` of LiteRT's on ``resolver``; returns the agreement."""
    a = measure(cases, resolver)
    assert a.max_abs <= tol, (resolver, a)
    return a
