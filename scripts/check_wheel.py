"""Build qmac's wheel, install it (not editable) into a fresh venv, run ``qmac demo --images 2``.

    python scripts/check_wheel.py [--workdir DIR] [--keep]

Proves that the distribution carries everything a user needs: the packages, the console script and
the package data (``qmac/model/data/*.npz``), with dependencies from ``constraints.txt``. The demo
runs from a folder outside the source tree, so nothing is imported from the checkout. Also fails if
the build prints setuptools' deprecation warning for a ``project.license`` table. Exit 0 on success.
Takes a few minutes: the install downloads (or takes from pip's cache) every dependency, and the
demo reuses the Verilator build cache when the generator sources are unchanged.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What setuptools prints for the deprecated ``license = {text = ...}`` table.
LICENSE_WARNING = "project.license` as a TOML table is deprecated"


def _run(cmd: list[str], cwd: Path, what: str) -> subprocess.CompletedProcess:
    t0 = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    print(f"check_wheel: {what}: exit {proc.returncode} in {time.perf_counter() - t0:.0f} s",
          flush=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"check_wheel: {what} failed")
    return proc


def check(work: Path) -> None:
    dist, venv, run_dir = work / "dist", work / "venv", work / "run"
    run_dir.mkdir(parents=True)
    build = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", dist, ROOT], work,
                 "build the wheel")
    if LICENSE_WARNING in build.stdout + build.stderr:
        raise SystemExit(f"check_wheel: the build warns: {LICENSE_WARNING}")
    wheels = sorted(dist.glob("qmac-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"check_wheel: expected one qmac wheel in {dist}, found {wheels}")
    _run([sys.executable, "-m", "venv", venv], work, "create a fresh venv")
    py = venv / "bin" / "python"
    _run([py, "-m", "pip", "install", "--quiet", "-c", ROOT / "constraints.txt", wheels[0]], work,
         f"install {wheels[0].name}")
    where = _run([py, "-c", "import hw, qmac.model.digits as d; print(hw.__file__); "
                  "print(d.DATA_PATH, d.DATA_PATH.is_file())"], run_dir, "locate the package")
    hw_file, data_line = where.stdout.split("\n")[:2]
    if not Path(hw_file).resolve().is_relative_to(venv.resolve()):
        raise SystemExit(f"check_wheel: hw imported from {hw_file}, not from the venv")
    if not data_line.endswith(" True"):
        raise SystemExit(f"check_wheel: package data missing: {data_line}")
    demo = _run([venv / "bin" / "qmac", "demo", "--images", "2", "--no-progress", "-o",
                 run_dir / "demo"], run_dir, "qmac demo --images 2")
    if "0 mismatches: RTL bit-exact with golden" not in demo.stdout:
        raise SystemExit(f"check_wheel: the demo did not report 0 mismatches:\n{demo.stdout}")
    print(demo.stdout, end="")
    print("check_wheel: ok")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=None, help="keep everything here (new folder)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    if args.workdir is not None:
        if args.workdir.exists():
            raise SystemExit(f"check_wheel: --workdir {args.workdir} exists; give a new folder")
        args.workdir.mkdir(parents=True)
        check(args.workdir.resolve())
        return 0
    work = Path(tempfile.mkdtemp(prefix="qmac_wheel_"))
    try:
        check(work)
    finally:
        if args.keep:
            print(f"check_wheel: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
