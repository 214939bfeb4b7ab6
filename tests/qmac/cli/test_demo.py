"""``qmac demo``: the CNN on the RTL (Verilator), and the demo's own logic with a faked RTL."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sim
import sim.runner
from hw.config import ArrayConfig
from qmac.cli import build_parser, main
from qmac.cli.demo import config_from_args
from qmac.model import digits, evaluate, ptq
from qmac.report.demo_page import confusion_matrix


def test_demo_on_rtl_is_bit_exact(tmp_path):
    """Four test images through all four layers on the Verilator model: 0 mismatches."""
    js = tmp_path / "s.json"
    code = main(
        ["demo", "--images", "4", "-o", str(tmp_path / "out"), "--json", str(js), "--no-progress"]
    )
    s = json.loads(js.read_text())
    assert code == 0
    assert s["mismatches"] == 0 and s["images"] == 4
    assert [ly["name"] for ly in s["layers"]] == [spec.name for spec in digits.ARCH]
    qnet = ptq.quantized_digits_cnn(8, 8)
    for ly, ql in zip(s["layers"], qnet.layers, strict=True):
        assert ly["mismatches"] == ly["sim_mismatches"] == ly["job_mismatches"] == 0
        assert ly["macs"] == ql.to_layer(np.zeros(ly["input_shape"], dtype=np.int64)).macs
        assert ly["cycles"] >= ly["macs"] / 16  # a 4x4 array does at most 16 MACs per cycle
        assert 0 < ly["utilization"] <= 1
    assert s["accuracy"]["rtl_run"] == s["accuracy"]["golden_run"]
    page = (tmp_path / "out" / "demo.html").read_text()
    assert "data:image/png;base64," in page and "0 mismatches" in page


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ["--preset", "int8-8x8-ws"],
        ["--preset", "int4-4x4"],
        ["--mult-bits", "16", "--rounding", "single", "--gaps", "--backpressure", "--seed", "5"],
    ],
    ids=["ws8x8", "int4-4x4", "m16-single-gaps"],
)
def test_demo_on_rtl_other_configs(tmp_path, argv):
    js = tmp_path / "s.json"
    code = main(
        ["demo", "--images", "6", *argv, "-o", str(tmp_path), "--json", str(js), "--no-progress"]
    )
    s = json.loads(js.read_text())
    assert code == 0 and s["mismatches"] == 0
    assert all(ly["sim_mismatches"] == ly["job_mismatches"] == 0 for ly in s["layers"])
    assert s["accuracy"]["rtl_run"] == s["accuracy"]["golden_run"]


# ---- the demo's own logic, with the RTL faked (no Verilator) ------------------------------------
def _fake_sim(monkeypatch, corrupt_layer: str | None = None, targets: list | None = None):
    calls = []
    targets = [] if targets is None else targets

    def run_layer(config, layer, *, gaps=False, backpressure=False, seed=0, build_info=None,
                  target="generic"):
        out = layer.output(rounding=config.rounding, mult_bits=config.mult_bits).copy()
        calls.append(layer)
        targets.append(("run", target))
        if corrupt_layer == "conv2" and len(calls) == 2:  # the second layer
            out.flat[3] = out.flat[3] + 1 if out.flat[3] < layer.act_max else out.flat[3] - 1
        return out, {
            "cycles": 1000,
            "macs": layer.macs,
            "utilization": layer.macs / 16000,
            "ideal_cycles": 900,
            "mismatches": 0,
        }

    monkeypatch.setattr(sim, "run_layer", run_layer, raising=False)
    monkeypatch.setattr(sim.runner, "build",
                        lambda config, **kw: targets.append(("build", kw["target"])))
    return calls


def test_demo_chains_layers_and_reports(monkeypatch, tmp_path, capsys):
    calls = _fake_sim(monkeypatch)
    code = main(["demo", "--images", "5", "--seed", "3", "-o", str(tmp_path), "--no-progress"])
    assert code == 0
    s = json.loads((tmp_path / "demo.json").read_text())
    data = digits.load_digits_data()
    assert len(calls) == 4 and calls[0].x.shape == (5, 8, 8, 1) and calls[3].x.shape == (5, 256)
    assert set(s["image_indices"]) <= set(data.test.tolist()) and len(s["image_indices"]) == 5
    assert s["cycles"] == 4000 and s["cycles_per_image"] == 800
    assert [(b["a_bits"], b["method"]) for b in s["bit_widths"]] == [
        (b, m) for b in (8, 6, 4, 3, 2) for m in evaluate.METHODS
    ]
    row = s["bit_widths"][0]
    assert {"w_bits", "int_accuracy", "float_accuracy", "n_test", "int_accuracy_stderr"} <= set(row)
    assert s["network"] == "ptq-minmax"
    assert s["accuracy"]["golden_test"] == evaluate.evaluate_bits(8, 8)["int_accuracy"]
    out = capsys.readouterr().out
    assert "0 mismatches" in out and "conv2" in out
    assert (tmp_path / "demo.html").stat().st_size > 5000


@pytest.mark.parametrize("argv", [[], ["--target", "generic"], ["--target", "ecp5"]])
def test_demo_builds_and_runs_its_target(monkeypatch, tmp_path, capsys, argv):
    targets = []
    _fake_sim(monkeypatch, targets=targets)
    code = main(["demo", "--images", "2", *argv, "-o", str(tmp_path), "--no-progress"])
    assert code == 0
    target = argv[1] if argv else "generic"
    assert targets == [("build", target)] + [("run", target)] * 4
    assert json.loads((tmp_path / "demo.json").read_text())["target"] == target
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("qmac demo: digits CNN on os4x4_a8w8_acc32_m32_o8_tflite"
                            + (" (ecp5 target), " if target == "ecp5" else ", "))


def test_demo_qat_runs_the_qat_network(monkeypatch, tmp_path):
    calls = _fake_sim(monkeypatch)
    code = main(["demo", "--images", "3", "--preset", "int4-4x4", "--qat", "-o", str(tmp_path),
                 "--no-progress"])
    assert code == 0
    s = json.loads((tmp_path / "demo.json").read_text())
    from qmac.model import qat_shipped

    q = qat_shipped.qat_digits_cnn(4)
    assert s["network"] == "qat" and np.array_equal(calls[0].w, q.layers[0].w)
    assert not np.array_equal(calls[0].w, ptq.quantized_digits_cnn(4, 4).layers[0].w)


def test_demo_qat_needs_a_shipped_width(monkeypatch, tmp_path, capsys):
    _fake_sim(monkeypatch)
    code = main(["demo", "--qat", "--a-bits", "5", "--w-bits", "5", "--out-bits", "5",
                 "-o", str(tmp_path), "--no-progress"])
    assert code != 0
    assert "--qat needs a_bits = w_bits = out_bits in 8, 6, 4, 3, 2" in capsys.readouterr().err


def test_demo_exits_nonzero_on_a_mismatch(monkeypatch, tmp_path, capsys):
    _fake_sim(monkeypatch, corrupt_layer="conv2")
    code = main(["demo", "--images", "2", "-o", str(tmp_path), "--no-progress"])
    s = json.loads((tmp_path / "demo.json").read_text())
    assert code == 1
    assert [ly["mismatches"] for ly in s["layers"]] == [0, 1, 0, 0]
    assert "1 MISMATCHES" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "msg"),
    [
        (["--images", "1000"], r"--images must be in \[0, 397\], not 1000"),
        (
            ["--out-bits", "4"],
            r"out_bits must equal a_bits = 8 \(each layer feeds the next\), not 4",
        ),
        (["--preset", "nope"], r"unknown preset 'nope'"),
        (["--acc-bits", "18"], r"acc_bits must be at least \d+ for this network"),
    ],
)
def test_demo_rejects_bad_arguments(monkeypatch, tmp_path, capsys, argv, msg):
    _fake_sim(monkeypatch)
    assert main(["demo", *argv, "-o", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qmac demo: error: ")
    assert __import__("re").search(msg, err), err


def test_config_from_args_preset_and_overrides():
    p = build_parser()
    assert config_from_args(p.parse_args(["demo"])) == ArrayConfig()
    cfg = config_from_args(
        p.parse_args(["demo", "--preset", "int8-8x8", "--dataflow", "ws", "--mult-bits", "16"])
    )
    assert (cfg.rows, cfg.cols, cfg.dataflow, cfg.mult_bits) == (8, 8, "ws", 16)


def test_confusion_matrix_counts():
    labels = np.array([0, 1, 1, 9, 9, 9])
    preds = np.array([0, 1, 2, 9, 9, 0])
    cm = confusion_matrix(labels, preds)
    expected = np.zeros((10, 10), dtype=np.int64)
    for t, p in zip(labels, preds, strict=True):
        expected[t, p] += 1
    assert np.array_equal(cm, expected) and cm.sum() == 6
    with pytest.raises(
        ValueError, match=r"labels and preds must have the same shape, not \(6,\) and \(5,\)"
    ):
        confusion_matrix(labels, preds[:5])


def test_testbench_failure_fails_the_demo(tmp_path, monkeypatch, capsys):
    """A flagged run is a failed demo (exit 1, the layer and the reason), not 0 mismatches."""
    import functools

    monkeypatch.setattr(sim, "run_layer", functools.partial(sim.run_layer, inject=("input_tlast",)))
    code = main(["demo", "--images", "2", "-o", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err[-1].startswith("qmac demo: FAILED: layer conv1: the sticky error port is set"), err
    assert not (tmp_path / "out" / "demo.html").exists()


def test_demo_bad_target_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--target", "ECP5"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(
        "qmac demo: error: argument --target: invalid choice: 'ECP5'"), err
