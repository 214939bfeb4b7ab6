"""argparse value types whose rejections say what is expected, and a one-line-error parser.

argparse names a failing ``type`` function in its message (``invalid _padding value: 'FOO'``);
these raise :class:`argparse.ArgumentTypeError` with the expectation instead, so the line reads
``argument --padding: expected SAME, VALID, P or T,L,B,R (integers), not 'FOO'``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = [
    "OneLineParser",
    "non_negative_int",
    "padding",
    "pair_or_int",
    "path",
    "positive_float",
    "positive_int",
]


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit 2), pointing to ``--help``."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _int(text: str) -> int | None:
    try:
        return int(text, 10)
    except ValueError:
        return None


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _int(text)
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    value = _int(text)
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, not {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, not {text!r}")
    return value


def pair_or_int(text: str) -> int | tuple[int, int]:
    """``N`` or ``H,W``: positive integers (kernel, stride, dilation)."""
    parts = [_int(p.strip()) for p in text.split(",")]
    if len(parts) not in (1, 2) or any(p is None or p < 1 for p in parts):
        raise argparse.ArgumentTypeError(
            f"expected a positive integer N or a pair H,W of them, not {text!r}"
        )
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])


def padding(text: str) -> str | int | tuple[int, ...]:
    """``SAME``, ``VALID``, ``P`` (all sides) or ``T,L,B,R``: non-negative integers."""
    if text.upper() in ("SAME", "VALID"):
        return text.upper()
    parts = [_int(p.strip()) for p in text.split(",")]
    if len(parts) not in (1, 4) or any(p is None or p < 0 for p in parts):
        raise argparse.ArgumentTypeError(
            f"expected SAME, VALID, P or T,L,B,R (non-negative integers), not {text!r}"
        )
    return parts[0] if len(parts) == 1 else tuple(parts)


def path(text: str) -> Path:
    """A non-empty path (``Path("")`` would silently be the current folder)."""
    if text == "":
        raise argparse.ArgumentTypeError("expected a path, not ''")
    return Path(text)
