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
    assert info["derived"]["acc_max_k"] == (2**23 - 1) // (63 * 16)
    # one job: K <= 32 weight words, M <= 2 lanes * 64 words, N <= 8 channels
    lim = info["job_limits"]
    assert (lim["max_m"], lim["max_k"], lim["max_n"]) == (128, 32, 8)
    assert "module qmac_top(" in (outdir / "qmac_top.v").read_text()
    assert "#define QMAC_TOP_COLS" in (outdir / "qmac_top.h").read_text()
    out = capsys.readouterr().out
    assert out.startswith(
        f"qmac generate: {expected.name} (config {expected.digest}), module qmac_top\n"
    )
    for name in ("qmac_top.v", "qmac_top.json", "qmac_top.h"):
        size = (outdir / name).stat().st_size
        assert re.search(rf"{re.escape(str(outdir / name))}  \({size:,} bytes\)", out)
    assert "  one job: M <= 128 (a_buf_depth), K <= 32 (w_buf_depth), N <= 8 (param_depth)\n" in out
    assert (f"  a layer: K <= {expected.max_k} (acc_bits=24 sums that many a6w5 products without "
            "overflow); a K longer than one job's is split across jobs\n") in out
    assert f"requant={expected.requant_latency}," in out


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
        k = cfg.job_limits()["k"]
        assert line.split(None, 2)[1] == cfg.name
        assert line.endswith(f"job_max_k={k.value} ({', '.join(k.causes)})  acc_max_k={cfg.max_k}")


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
    # what is required is shown as required, not with a default it does not have
    flat = " ".join(text.split())
    assert "--rows N mesh rows R (1..128); activation lanes per beat [required without --preset]" \
        in flat
    assert "--cols N mesh columns C" in flat and flat.count("[required without --preset]") == 2
    assert "-o DIR, --outdir DIR output directory, created if missing (required)" in flat
    assert text.startswith("usage: qmac generate (--preset NAME | --rows N --cols N)")
    assert "[--name NAME] -o DIR" in text.splitlines()[0]

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
    assert re.fullmatch(rf"qmac generate: error: {pattern}.* \(see qmac generate --help\)\n", err)


def test_default_name_is_emits():
    from hw.emit import MODULE_NAME
    from qmac.cli.generate import MODULE_NAME as CLI_DEFAULT

    assert CLI_DEFAULT == MODULE_NAME


def test_name_prefixes_files_and_macros(tmp_path, capsys):
    code, outdir = generate(tmp_path, "--rows", "2", "--cols", "2", "--name", "conv_array")
    assert code == 0
    assert sorted(p.name for p in outdir.iterdir()) == \
        ["conv_array.h", "conv_array.json", "conv_array.v"]
    assert "#define CONV_ARRAY_ROWS" in (outdir / "conv_array.h").read_text()
    assert ", module conv_array\n" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["-o", ""], r"argument -o/--outdir: expected a path, not '' \(see qmac generate --help\)"),
    (["--name", "2fast", "-o", "x"],
     r"--name: module name must be a Verilog identifier .*, not '2fast'"),
    (["--name", "wire", "-o", "x"],
     r"--name: module name must be a Verilog identifier .*, not 'wire'"),
])
def test_bad_outdir_or_name(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["generate", "--rows", "2", "--cols", "2", *args])
    except SystemExit as exc:  # argparse's own rejection
        code = exc.code
    assert code == 2
    assert re.fullmatch(rf"qmac generate: error: {message}\n", capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even into the current folder


def test_ecp5_target_changes_only_the_verilog(tmp_path, capsys):
    args = ["--rows", "2", "--cols", "2", "--a-buf-depth", "16", "--w-buf-depth", "16"]
    code, generic = generate(tmp_path / "g", *args)
    assert code == 0
    assert not capsys.readouterr().out.splitlines()[0].endswith("target generic")
    code, ecp5 = generate(tmp_path / "e", *args, "--target", "ecp5")
    assert code == 0
    cfg = ArrayConfig(rows=2, cols=2, a_buf_depth=16, w_buf_depth=16)
    assert capsys.readouterr().out.splitlines()[0] == (
        f"qmac generate: {cfg.name} (config {cfg.digest}), module qmac_top, target ecp5"
    )
    for name in ("qmac_top.json", "qmac_top.h"):
        assert (ecp5 / name).read_bytes() == (generic / name).read_bytes(), name
    g_text, e_text = (generic / "qmac_top.v").read_text(), (ecp5 / "qmac_top.v").read_text()
    assert ", target ecp5). Do not edit." in e_text.splitlines()[0]
    assert "target" not in g_text.splitlines()[0]
    assert "MULT18X18D #(" in e_text and "CCU2C #(" in e_text
    assert "MULT18X18D" not in g_text and "CCU2C" not in g_text
    assert main(["generate", *args, "--target", "generic", "-o", str(tmp_path / "g2")]) == 0
    assert (tmp_path / "g2" / "qmac_top.v").read_text() == g_text


def test_target_help_and_bad_target(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--help"])
    assert exc.value.code == 0
    flat = " ".join(capsys.readouterr().out.split())
    assert "--target {generic,ecp5} implementation target of the Verilog" in flat
    assert "yosys synth_ecp5" in flat and "vendor's cell library" in flat
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--rows", "2", "--cols", "2", "--target", "xc7", "-o", "x"])
    assert exc.value.code == 2
    assert re.fullmatch(r"qmac generate: error: argument --target: invalid choice: 'xc7' "
                        r"\(choose from '?generic'?, '?ecp5'?\) \(see qmac generate --help\)\n",
                        capsys.readouterr().err)
