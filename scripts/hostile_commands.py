"""Run qmac's commands against hostile input and print what each prints, as a Markdown table.

    python scripts/hostile_commands.py [-o docs/HOSTILE.md] [--timeout S] [--python PY]

Every case is an unwritable output, a missing or malformed input, or a value out of range; each
must end with one line on stderr and exit 2 (bad input) before any long work starts, never with a
traceback. ``tests/qmac/cli/test_hostile.py`` runs the same :data:`CASES` in-process and asserts the
exit code and the message; this script runs them as a user would (``python -m qmac`` in a scratch
folder) to document them. ``--python`` runs another interpreter (e.g. with ``PYTHONPATH`` set to an
older checkout) to show what a case printed before.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (command after ``qmac``, expected exit code, regex the stderr line must match). ``{t}`` is the
#: scratch folder made by :func:`make_fixtures`.
CASES: list[tuple[str, int, str]] = [
    # outputs that cannot be written
    ("sim --op matmul --m 4 --k 4 --n 4 --out /nonexistent/dir/y.npy", 2,
     r"--out /nonexistent/dir/y\.npy: the folder /nonexistent/dir does not exist"),
    ("sim --op matmul --m 4 --k 4 --n 4 --out {t}", 2, r"--out .*: is a folder, expected a file"),
    ("sim --op matmul --m 4 --k 4 --n 4 --json /proc/stats.json", 2,
     r"--json /proc/stats\.json: cannot write in /proc"),
    ("demo -o {t}/file.txt", 2, r"-o/--output-dir .*file\.txt: is a file, expected a folder"),
    ("demo --json /proc/demo.json", 2, r"--json /proc/demo\.json: cannot write in /proc"),
    ("report {t}/results.json -o {t}/file.txt", 2, r"-o/--output .*: is a file, expected a folder"),
    ("report {t}/results.json -o /proc/report", 2, r"-o/--output /proc/report: cannot write"),
    ("sweep --bits 8 --target none --workdir {t}/file.txt", 2,
     r"--workdir .*file\.txt: is a file, expected a folder"),
    ("sweep --bits 8 --target none --workdir {t}/w -o /proc/r.json", 2,
     r"-o/--output /proc/r\.json: cannot write in /proc"),
    ("generate --rows 2 --cols 2 -o {t}/file.txt", 2,
     r"-o/--outdir .*file\.txt: is a file, expected a folder"),
    ("generate --rows 2 --cols 2 -o /proc/gen", 2, r"-o/--outdir /proc/gen: cannot write in /proc"),
    ("generate --rows 2 --cols 2 -o ''", 2, r"argument -o/--outdir: expected a path, not ''"),
    # unreachable services
    ("sweep --bits 8 --target none --workdir {t}/w --dask tcp://127.0.0.1:1", 2,
     r"--dask tcp://127\.0\.0\.1:1: no Dask scheduler answered within"),
    # missing and malformed inputs
    ("sim --layer-file {t}/missing.npz", 2, r"--layer-file .*missing\.npz: no such file"),
    ("sim --layer-file {t}/corrupt.npz", 2,
     r"--layer-file .*corrupt\.npz: not a layer file: expected a \.npz archive"),
    ("sim --layer-file {t}", 2, r"--layer-file .*: is a folder, expected a file"),
    ("report {t}/missing.json", 2, r"results file '.*missing\.json' does not exist"),
    ("report {t}/binary.bin", 2,
     r"results file '.*binary\.bin' is not a JSON results file of qmac sweep: not UTF-8"),
    ("report {t}/empty.json -o {t}/r", 2, r"results '.*empty\.json' hold no rows"),
    ("report {t}/results.json {t}/results.json -o {t}/r", 2,
     r"results file '.*results\.json' is given twice"),
    ("sweep --file {t}/missing.toml", 2, r"--file .*missing\.toml: no such file"),
    ("sweep --file {t}/binary.bin", 2, r"sweep file '.*binary\.bin' is not TOML: not UTF-8"),
    ("sweep --file {t}/pnr_yes.toml --workdir {t}/w", 2, r"pnr must be true or false, not 'yes'"),
    # values out of range, rejected at parse time or before anything runs
    ("sim --op conv2d --h 8 --w 8 --cin 2 --cout 2 --kernel 3 --padding FOO", 2,
     r"argument --padding: expected SAME, VALID, P or T,L,B,R .*, not 'FOO'"),
    ("sim --op conv2d --h 8 --w 8 --cin 2 --cout 2 --kernel 3 --stride 1.5", 2,
     r"argument --stride: expected a positive integer N or a pair H,W of them, not '1\.5'"),
    ("sim --op matmul --m 4 --k 4 --n 4 --seed -1", 2,
     r"argument --seed: expected a non-negative integer, not '-1'"),
    ("sim --op matmul --m 0 --k 4 --n 4", 2, r"argument --m: expected a positive integer, not '0'"),
    ("sim --op matmul --m 4 --k 70000 --n 4", 2,
     r"K=70000 exceeds the accumulator: .* largest safe K here is 65793"),
    ("sim --op matmul --m 4 --k 4 --n 4 --acc-bits 16", 2,
     r"acc_bits=16 leaves max_k=1 .* fewer than rows = 4"),
    ("demo --images -1", 2, r"argument --images: expected a non-negative integer, not '-1'"),
    ("demo --images 1000", 2, r"--images must be in \[0, 397\], not 1000"),
    ("sweep --bits 1 --target none --workdir {t}/w", 2,
     r"sweep point bits=1: a_bits must be in \[2, 16\], not 1"),
    ("sweep --size 0x4 --target none --workdir {t}/w", 2,
     r"sweep point size=0x4: rows must be in \[1, 128\], not 0"),
    ("sweep --a-buf-depth 100 --target none --workdir {t}/w", 2,
     r"sweep point a_buf_depth=100: a_buf_depth must be a power of two, not 100"),
    ("sweep --size 4x4 --acc-bits 18 --workload matmul64 --target none --workdir {t}/w", 2,
     r"sweep point size=4x4, acc_bits=18: K=64 exceeds the accumulator: .* largest safe K here "
     r"is 4"),
    ("sweep --bits 8 --timeout 0", 2, r"argument --timeout: expected a positive number, not '0'"),
    ("sweep --bits 8 --n-test -3", 2, r"argument --n-test: expected a positive integer, not '-3'"),
    ("sweep --bits 8 --n-test 1000 --workdir {t}/w", 2,
     r"n_test must be in \[1, 397\] \(the digits test split\), not 1000"),
    ("sweep --bits 8 --jobs 0", 2, r"argument --jobs/-j: expected a positive integer, not '0'"),
    ("generate --rows 4", 2, r"--cols required without --preset"),
    ("generate --rows 2 --cols 2 --name 9lives -o {t}/g", 2,
     r"--name: module name must be a Verilog identifier"),
]


def make_fixtures(folder: Path) -> None:
    """The files the cases refer to, in ``folder``."""
    (folder / "file.txt").write_text("an ordinary file\n")
    (folder / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (folder / "corrupt.npz").write_bytes(b"this is not an npz archive\n")
    (folder / "empty.json").write_text(json.dumps({"meta": {"command": "qmac sweep"}, "rows": []}))
    results = ROOT / "tests" / "qmac" / "data" / "results_small.json"
    (folder / "results.json").write_text(results.read_text())
    toml = '[sweep]\nbits = 8\ntarget = "none"\n[options]\npnr = "yes"\n'
    (folder / "pnr_yes.toml").write_text(toml)


def run_case(python: str, command: str, folder: Path, timeout: float, env: dict) -> dict:
    """Run ``python -m qmac COMMAND`` in ``folder``; exit code, stderr lines, seconds."""
    argv = [python, "-m", "qmac", *shlex.split(command.format(t=folder))]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=timeout,
                              env=env)
        code, err = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr or ""
        code, err = None, stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    lines = [line for line in err.splitlines() if line.strip()]
    return {"exit": code, "lines": lines, "seconds": time.perf_counter() - t0}


def _cell(result: dict, folder: Path) -> str:
    if result["exit"] is None:
        return "(still running after the timeout)"
    lines = [line.replace(str(folder), "T") for line in result["lines"]]
    if any(line.startswith("Traceback") for line in lines):
        last = lines[-1] if lines else ""
        return f"traceback ({len(lines)} lines): `{last[:90]}`"
    if not lines:
        return "(nothing on stderr)"
    text = lines[-1] if len(lines) == 1 else f"{lines[-1]} ({len(lines)} lines)"
    return f"`{text[:240]}`".replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", type=Path, help="write the table here (else stdout)")
    ap.add_argument("--python", default=sys.executable, help="interpreter that runs qmac")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per command")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    rows = ["| command (T: a scratch folder) | exit | stderr | seconds |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="qmac_hostile_") as tmp:
        folder = Path(tmp)
        make_fixtures(folder)
        for command, _, _ in CASES:
            result = run_case(args.python, command, folder, args.timeout, env)
            shown = command.replace("{t}", "T")
            rows.append(f"| `qmac {shown}` | {result['exit']} | {_cell(result, folder)} | "
                        f"{result['seconds']:.1f} |")
            print(rows[-1], file=sys.stderr, flush=True)
    text = "\n".join(rows) + "\n"
    if args.output:
        args.output.write_text(text)
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
