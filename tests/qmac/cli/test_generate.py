"""``qmac generate`` through ``qmac.cli.main``: files, manifest fields, presets, error lines."""

from __future__ import annotations

import json
import re

import pytest

from hw.config import PRESETS, ArrayConfig
from qmac.cli import main


def generate(tmp_path, *args):
    outdir = tmp_path / "out"
    code = main(["generate", *args, "-o", str(outdir)])
    return code, outdir


def test_generate_files_and_summary(tmp_path, capsys):
    code, outdir = generate(tmp_path, "--rows", "2", "--cols", "3", "--a-bits", "6",
                            "--w-bits", "5", "--acc-bits", "24", "--mult-bits", "20",
                            "--out-bits", "6", "--rounding", "single", "--pe-pipeline", "2",
                            "--a-buf-depth", "64", "--w-buf-depth", "32", "--param-depth", "8",
                            "--acc-depth", "16", "--out-fifo-depth", "8")
    assert code == 0
    expected = ArrayConfig(rows=2, cols=3, a_bits=6, w_bits=5, acc_bits=24, mult_bits=20,
                           out_bits=6, rounding="single", pe_pipeline=2, a_buf_depth=64,
                           w_buf_depth=32, param_depth=8, acc_depth=16, out_fifo_depth=8)
    assert sorted(p.name for p in outdir.iterdir()) == ["qmac_top.h", "qmac_top.json", "qmac_top.v"]
    info = json.loads((outdir / "qmac_top.json").read_text())
    assert info["config"] == expected.to_dict()
    assert info["derived"]["max_k"] == (2**23 - 1) // (63 * 16)
    assert "module qmac_top(" in (outdir / "qmac_top.v").read_text()
    assert "#define QMAC_COLS" in (outdir / "qmac_top.h").read_text()
    out = capsys.readouterr().out
    assert out.startswith(f"qmac generate: {expected.name} (config {expected.digest})\n")
    for name in ("qmac_top.v", "qmac_top.json", "qmac_top.h"):
        size = (outdir / name).stat().st_size
        assert re.search(rf"{re.escape(str(outdir / name))}  \({size:,} bytes\)", out)
    assert f"max_k={expected.max_k}" in out and f"requant={expected.requant_latency}," in out


def test_preset_with_override(tmp_path):
    code, outdir = generate(tmp_path, "--preset", "int4-4x4", "--dataflow", "ws", "--cols", "2")
    assert code == 0
    info = json.loads((outdir / "qmac_top.json").read_text())
    assert info["config"] == PRESETS["int4-4x4"].replace(dataflow="ws", cols=2).to_dict()


def test_list_presets(capsys):
    assert main(["generate", "--list-presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(PRESETS)
    for line, cfg in zip(lines, PRESETS.values(), strict=True):
        assert line.split()[1:] == [cfg.name, f"max_k={cfg.max_k}"]


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--rows", "--cols", "--a-bits", "--w-bits", "--acc-bits", "--mult-bits",
                 "--out-bits", "--dataflow", "--rounding", "--pe-pipeline", "--a-buf-depth",
                 "--w-buf-depth", "--param-depth", "--acc-depth", "--out-fifo-depth", "--preset",
                 "--list-presets", "--outdir"):
        assert re.search(rf"{flag}\b[^\n]*\s+\S", text), flag
    assert "overrides the preset" in " ".join(text.split())


@pytest.mark.parametrize("args,message", [
    (["--rows", "0", "--cols", "4"], r"rows must be in \[1, 128\], not 0"),
    (["--rows", "4", "--cols", "4", "--a-bits", "8", "--acc-bits", "12"],
     r"acc_bits must be at least a_bits \+ w_bits = 16 to hold one product, not 12"),
    (["--rows", "4", "--cols", "4", "--a-buf-depth", "100"],
     r"a_buf_depth must be a power of two, not 100"),
    (["--cols", "4"], r"--rows required without --preset"),
    ([], r"--rows and --cols required without --preset"),
    (["--preset", "int8-3x3"], r"unknown preset 'int8-3x3'; known: int8-4x4, .*"),
])
def test_invalid_config_is_one_line(tmp_path, capsys, args, message):
    code, outdir = generate(tmp_path, *args)
    assert code == 2
    err = capsys.readouterr().err
    assert re.fullmatch(rf"qmac generate: error: {message}\n", err)
    assert not outdir.exists()


def test_missing_outdir(capsys):
    assert main(["generate", "--rows", "2", "--cols", "2"]) == 2
    assert capsys.readouterr().err == "qmac generate: error: -o/--outdir is required\n"


@pytest.mark.parametrize("args,pattern", [
    (["--rows", "four"], r"argument --rows: invalid int value: 'four'"),
    (["--dataflow", "is"], r"argument --dataflow: invalid choice: 'is'"),
])
def test_argparse_errors(capsys, args, pattern):
    with pytest.raises(SystemExit) as exc:
        main(["generate", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: qmac generate") and re.search(pattern, err)
