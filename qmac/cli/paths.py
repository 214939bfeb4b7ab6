"""Checks of the files and folders a command reads and writes, made before any work starts.

A command that runs for minutes must not fail at its end because its output cannot be written, so
every output is probed first: a folder is created (with its parents) and a scratch file is made
and removed in it; a file's folder must exist and take a scratch file the same way. The probe
works for every user, root included (``os.access`` says yes to root even under ``/proc``).
Each failure is a :class:`QmacError` naming the option and the path: one line, exit 2.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from qmac.cli.errors import QmacError

__all__ = ["input_file", "output_dir", "output_file"]


def _probe(option: str, path: Path, folder: Path) -> None:
    """Create and remove a scratch file in ``folder``; QmacError naming ``option`` if we cannot."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".qmac-probe-"):
            pass
    except OSError as exc:
        raise QmacError(f"{option} {path}: cannot write in {folder}: {exc.strerror}") from None


def output_dir(option: str, path: str | os.PathLike, *, create: bool = False) -> Path:
    """``path`` as a folder that exists and takes files, or that can be created.

    Parameters
    ----------
    option : str
        The option, for the message (``-o/--output-dir``).
    path : path
    create : bool
        Create it (with its parents) now; else only check that its nearest existing ancestor is a
        folder that takes files, so that a command failing later on other input leaves no trace.

    Raises
    ------
    QmacError
        Empty path, an existing non-folder (or a non-folder on the way), or a folder that cannot
        be made or written.
    """
    if str(path) == "":
        raise QmacError(f"{option} must name a folder, not ''")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise QmacError(f"{option} {path}: is a file, expected a folder")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise QmacError(f"{option} {path}: cannot create the folder: {exc.strerror}") from None
        _probe(option, path, path)
        return path
    ancestor = path.absolute()
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise QmacError(f"{option} {path}: {ancestor} is a file, so the folder cannot be made")
    _probe(option, path, ancestor)
    return path


def output_file(
    option: str, path: str | os.PathLike, *, example: str = "out.json", parents: bool = False
) -> Path:
    """``path`` as a file that can be written: its folder exists (or may be made) and takes files.

    Parameters
    ----------
    option : str
        The option, for the message (``--out``).
    path : path
    example : str
        A file name shown when ``path`` is a folder.
    parents : bool
        The command creates a missing folder when it writes (checked as :func:`output_dir`);
        else a missing folder is an error (a mistyped folder should not become a new tree).

    Raises
    ------
    QmacError
        Empty path, an existing folder, a missing folder, or one that cannot be written.
    """
    if str(path) == "":
        raise QmacError(f"{option} must name a file, not ''")
    path = Path(path)
    if path.is_dir():
        raise QmacError(
            f"{option} {path}: is a folder, expected a file path such as {path / example}"
        )
    folder = path.parent
    if parents and not folder.exists():
        output_dir(option, folder)
        return path
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise QmacError(f"{option} {path}: the folder {folder} {what}")
    if path.exists():
        try:
            with open(path, "ab"):
                pass
        except OSError as exc:
            raise QmacError(f"{option} {path}: cannot write the file: {exc.strerror}") from None
    else:
        _probe(option, path, folder)
    return path


def input_file(option: str, path: str | os.PathLike) -> Path:
    """``path`` as an existing, readable file.

    Raises
    ------
    QmacError
        Missing, a folder, or unreadable.
    """
    if str(path) == "":
        raise QmacError(f"{option} must name a file, not ''")
    path = Path(path)
    if not path.exists():
        raise QmacError(f"{option} {path}: no such file")
    if path.is_dir():
        raise QmacError(f"{option} {path}: is a folder, expected a file")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise QmacError(f"{option} {path}: cannot read the file: {exc.strerror}") from None
    return path
