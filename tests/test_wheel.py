"""The built wheel (not the editable install) runs ``qmac demo --images 2`` in a fresh venv."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_and_runs_the_demo(tmp_path):
    script = ROOT / "scripts" / "check_wheel.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--workdir", str(tmp_path / "w")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "0 mismatches: RTL bit-exact with golden" in proc.stdout
    assert proc.stdout.rstrip().endswith("check_wheel: ok")
