"""``qmac sim``: argument handling, and one small layer end to end on the 4x4 preset."""

import json
import re

import numpy as np
import pytest

import golden
from qmac.cli import main


def test_matmul_end_to_end_writes_output_and_stats(tmp_path, capsys):
    out, stats = tmp_path / "y.npy", tmp_path / "s.json"
    code = main(
        [
            "sim",
            "--op",
            "matmul",
            "--m",
            "9",
            "--k",
            "11",
            "--n",
            "6",
            "--seed",
            "4",
            "--preset",
            "int8-4x4",
            "--out",
            str(out),
            "--json",
            str(stats),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    layer = golden.make_random_layer(
        "matmul", rng=np.random.default_rng(4), acc_bits=32, m=9, k=11, n=6
    )
    np.testing.assert_array_equal(np.load(out), layer.output())
    doc = json.loads(stats.read_text())
    assert doc["mismatches"] == 0 and doc["first_mismatch"] is None and doc["macs"] == 9 * 11 * 6
    assert doc["config"]["rows"] == 4 and doc["cycles"] > 0
    assert "utilization" in text and "cycles" in text


def test_layer_file_round_trip(tmp_path, capsys):
    layer = golden.make_random_layer(
        "conv2d",
        rng=np.random.default_rng(2),
        h=5,
        w=4,
        cin=2,
        cout=3,
        kernel=3,
        stride=2,
        padding="SAME",
    )
    path = tmp_path / "l.npz"
    golden.save_layer(path, layer)
    out = tmp_path / "y.npy"
    assert main(["sim", "--layer-file", str(path), "--out", str(out)]) == 0, capsys.readouterr().out
    np.testing.assert_array_equal(np.load(out), layer.output())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--op", "matmul", "--m", "4", "--k", "4", "--n", "4", "--h", "3"],
            r"--h does not apply to --op matmul",
        ),
        (["--m", "4"], r"--op or --layer-file is required"),
        (["--op", "matmul", "--m", "4", "--k", "4"], r"missing dimension 'n' for op 'matmul'"),
        (
            ["--op", "matmul", "--m", "4", "--k", "4", "--n", "4", "--preset", "nope"],
            r"unknown preset 'nope'",
        ),
        (
            ["--op", "matmul", "--m", "4", "--k", "4", "--n", "4", "--rows", "0"],
            r"rows must be in \[1, 128\], not 0",
        ),
    ],
)
def test_bad_arguments_are_one_line_errors(argv, message, capsys):
    assert main(["sim", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qmac sim: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err


def _split_run(tmp_path, capsys, argv):
    stats = tmp_path / "s.json"
    code = main(["sim", *argv, "--json", str(stats)])
    text = capsys.readouterr().out
    assert code == 0, text
    doc = json.loads(stats.read_text())
    assert doc["mismatches"] == 0 and doc["job_mismatches"] == 0
    assert "K split" in text and "chunks per output block" in text
    return doc


def test_fully_connected_beyond_one_bank(tmp_path, capsys):
    """K = 5000 on int8-4x4 (banks of 1024): 5 chunks of 1000 per output block."""
    doc = _split_run(tmp_path, capsys, ["--op", "fully_connected", "--batch", "4",
                                        "--in-features", "5000", "--out-features", "16",
                                        "--preset", "int8-4x4"])
    # 4 column blocks x 5 chunks; the unsplit ideal (8192-word banks) has the same 4 blocks,
    # so the split costs exactly the parameters of the 16 extra jobs: 16 jobs x 4 channels.
    assert (doc["k_chunks"], doc["jobs"]) == (5, 20)
    assert doc["split_extra_beats"] == 64
    assert doc["beats"]["a"] == doc["unsplit_beats"]["a"] == 4 * 5000


def test_conv_256_channels_on_int8_8x8_ws(tmp_path, capsys):
    doc = _split_run(tmp_path, capsys, ["--op", "conv2d", "--h", "6", "--w", "6", "--cin", "256",
                                        "--cout", "16", "--kernel", "3", "--padding", "SAME",
                                        "--preset", "int8-8x8-ws"])
    assert doc["k_chunks"] == 3  # K = 2304 in chunks of 768 (w banks of 1024 words)


@pytest.mark.slow
def test_conv_256_channels_on_int8_8x8(tmp_path, capsys):
    doc = _split_run(tmp_path, capsys, ["--op", "conv2d", "--h", "6", "--w", "6", "--cin", "256",
                                        "--cout", "16", "--kernel", "3", "--padding", "SAME",
                                        "--preset", "int8-8x8"])
    assert doc["k_chunks"] == 3


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("input_tlast", "the sticky error port is set: an input stream's tlast disagreed"),
        ("out_padding", "1 output lanes outside N were not zero (jobs 0)"),
        ("out_tlast", "timeout: 0 of 1 jobs delivered an output frame"),
    ],
)
def test_testbench_failure_fails_the_command(fault, reason, monkeypatch, capsys, tmp_path):
    """The outputs still match golden: only the testbench's verdict says the run failed."""
    import functools

    import sim

    monkeypatch.setattr(sim, "run_layer", functools.partial(sim.run_layer, inject=(fault,)))
    stats = tmp_path / "s.json"
    code = main(["sim", "--op", "matmul", "--m", "5", "--k", "6", "--n", "3", "--json", str(stats)])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("qmac sim: FAILED: ") and reason in err[0], err
    assert not stats.exists()  # no stats of a failed run


def _record_build_targets(monkeypatch) -> list:
    """Wrap sim.runner.build (the commands' builds, and the layer runner's own name for it) to
    record each call's target."""
    import sim.layer_runner
    import sim.runner

    real, targets = sim.runner.build, []

    def build(config, **kw):
        targets.append(kw.get("target", "generic"))
        return real(config, **kw)

    monkeypatch.setattr(sim.runner, "build", build)
    monkeypatch.setattr(sim.layer_runner, "build", build)
    return targets


def test_depthwise_on_the_ecp5_target_with_stalls(tmp_path, capsys, monkeypatch):
    targets = _record_build_targets(monkeypatch)
    out, stats = tmp_path / "y.npy", tmp_path / "s.json"
    argv = ["--op", "depthwise_conv2d", "--h", "6", "--w", "5", "--cin", "3", "--kernel", "3",
            "--multiplier", "2", "--padding", "SAME", "--seed", "9"]
    code = main(["sim", *argv, "--gaps", "--backpressure", "--target", "ecp5",
                 "--out", str(out), "--json", str(stats)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert targets == ["ecp5"]
    layer = golden.make_random_layer("depthwise_conv2d", rng=np.random.default_rng(9), h=6, w=5,
                                     cin=3, kernel=3, multiplier=2, padding="SAME")
    np.testing.assert_array_equal(np.load(out), layer.output())
    doc = json.loads(stats.read_text())
    assert doc["target"] == "ecp5" and doc["mismatches"] == doc["job_mismatches"] == 0
    assert "os4x4_a8w8_acc32_m32_o8_tflite (config " in text and "), ecp5 target\n" in text


def test_target_defaults_to_generic_and_bad_ones_are_one_line(tmp_path, capsys):
    from qmac.cli import build_parser

    assert build_parser().parse_args(["sim", "--op", "matmul"]).target == "generic"
    with pytest.raises(SystemExit) as exc:
        main(["sim", "--op", "matmul", "--m", "2", "--k", "2", "--n", "2", "--target", "ice40"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(
        "qmac sim: error: argument --target: invalid choice: 'ice40'"), err
    with pytest.raises(SystemExit):
        main(["sim", "--help"])
    flat = " ".join(capsys.readouterr().out.split())
    assert "--target {generic,ecp5} Verilog that is simulated: generic" in flat
