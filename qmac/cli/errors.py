"""The one error type of the command line."""

from __future__ import annotations

__all__ = ["QmacError"]


class QmacError(Exception):
    """An error a user can fix; the CLI prints its message on one line and exits with 2."""
