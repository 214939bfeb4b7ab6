"""The project source files a module really imports, and their hash: keys of every build cache.

A cache entry (a Verilator model, a sweep measurement) must change when, and only when, code that
computed it changes. :func:`import_closure` reads the import statements of a module (all of them,
including those inside functions) and follows those that name project packages, transitively; the
parent packages' ``__init__`` files count too, because importing a submodule runs them. It reads
source text only and imports nothing, so it gives the same answer in every process.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from pathlib import Path

__all__ = ["ROOT", "PACKAGES", "module_path", "import_closure", "sources_hash"]

#: The folder holding the project's packages.
ROOT = Path(__file__).resolve().parents[1]
#: Top-level packages of the project (imports of anything else are not followed).
PACKAGES = ("hw", "golden", "sim", "qmac")


def module_path(name: str, root: Path = ROOT) -> Path | None:
    """Source file of project module ``name`` (``pkg/mod.py`` or ``pkg/__init__.py``), or None."""
    base = root.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imported(path: Path, name: str) -> set[str]:
    """Module names that the import statements of module ``name`` (file ``path``) may load."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{alias.name}" for alias in node.names)  # submodules, if any
    return found


def import_closure(
    modules: Iterable[str], *, packages: tuple[str, ...] = PACKAGES, root: Path = ROOT
) -> list[Path]:
    """Source files of ``modules`` and of every project module they import, transitively.

    Parameters
    ----------
    modules : iterable of str
        Dotted module names, e.g. ``["hw.emit"]``.
    packages : tuple of str
        Top-level packages whose imports are followed.
    root : Path
        Folder holding the packages.

    Returns
    -------
    list of Path
        Sorted, without duplicates.

    Raises
    ------
    ValueError
        If a module of ``modules`` is not a project module.
    """
    todo, seen, files = list(modules), set(), set()
    for name in todo:
        if module_path(name, root) is None:
            raise ValueError(f"module {name!r} is not a module of {', '.join(packages)}")
    while todo:
        name = todo.pop()
        if name in seen or name.split(".")[0] not in packages:
            continue
        seen.add(name)
        path = module_path(name, root)
        if path is None:  # a name imported from a module, not a module itself
            continue
        files.add(path)
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # parent __init__ files
        todo.extend(_imported(path, name))
    return sorted(files)


def sources_hash(
    modules: Iterable[str], *, extra: Iterable[str | Path] = (), root: Path = ROOT
) -> str:
    """SHA-256 (hex) of the files of :func:`import_closure` plus ``extra`` files (data, say).

    Each file enters with its path relative to ``root``, so a moved file changes the hash too.
    """
    h = hashlib.sha256()
    files = import_closure(modules, root=root) + sorted(Path(e).resolve() for e in extra)
    for path in files:
        rel = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
        h.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()
