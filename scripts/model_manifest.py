"""``examples/models/models.json``: what each shipped model is, how it was made, how well it does.

Each model script merges its own entries (keyed by file name) into the file, adding the file's
size and sha256, the script's command and the package versions it ran with.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["update_manifest"]


def update_manifest(path: Path, entries: dict, versions: dict, command: str) -> None:
    """Merge ``entries`` into the JSON manifest at ``path`` (created if absent).

    Parameters
    ----------
    path : Path
        The manifest; models are looked up beside it by their entry key (file name).
    entries : dict
        ``{file name: description}``; size, sha256, command and versions are added here.
    versions : dict
        Package versions of the run, e.g. ``{"tensorflow": "2.21.0"}``.
    command : str
        The command line that made the models.
    """
    manifest = json.loads(path.read_text()) if path.is_file() else {"models": {}}
    for fname, entry in entries.items():
        data = (path.parent / fname).read_bytes()
        manifest["models"][fname] = {
            **entry,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "made_by": command,
            "versions": versions,
        }
    manifest["models"] = dict(sorted(manifest["models"].items()))
    path.write_text(json.dumps(manifest, indent=1) + "\n")
