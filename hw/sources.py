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

__all__ = ["ROOT", "PACKAGES", "module_path", "imported_modules", "import_closure", "sources_hash"]

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


def imported_modules(
    name: str, *, packages: tuple[str, ...] = PACKAGES, root: Path = ROOT
) -> set[str]:
    """Project modules that the import statements of module ``name`` load, wherever they stand.

    ``import a.b`` names ``a.b``; ``from a import b`` names ``a.b`` when that is a module, else
    ``a``; relative imports are resolved against the module's package.
    """
    path = module_path(name, root)
    if path is None:
        raise ValueError(f"module {name!r} is not a module of {', '.join(packages)}")
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
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                found.add(sub if module_path(sub, root) is not None else mod)
    return {m for m in found if m.split(".")[0] in packages and module_path(m, root) is not None}


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
    todo, seen = list(modules), set()
    for name in todo:
        if module_path(name, root) is None:
            raise ValueError(f"module {name!r} is not a module of {', '.join(packages)}")
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # parent __init__ files
        todo.extend(imported_modules(name, packages=packages, root=root))
    return sorted(module_path(name, root) for name in seen)


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
