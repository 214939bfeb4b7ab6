"""The command line's two kinds of failure, each one line on stderr with its own exit code."""

__all__ = ["QmacError", "VerificationFailure"]


class QmacError(Exception):
    """Bad input a user can fix (an option, a file, a path): ``qmac CMD: error: ...``, exit 2."""


class VerificationFailure(Exception):
    """The design failed its verification (the testbench flagged it): ``qmac CMD: FAILED: ...``,
    exit 1."""
