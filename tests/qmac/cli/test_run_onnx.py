"""``qmac run MODEL.onnx``: output, dumps in the model's own names, dtype and layout, the JSON
stats, integer inputs, bad input; and a small model end to end on the RTL (4x4 preset)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from qmac.cli import main  # noqa: E402
from qmac.model.onnx_import import load_onnx  # noqa: E402
from qmac.model.source_io import dump_name  # noqa: E402
from tests.qmac.model import onnx_models as M  # noqa: E402
from tests.qmac.model.ort_reference import run_model  # noqa: E402


@pytest.fixture(scope="module")
def res_uint8(tmp_path_factory):
    logging.getLogger().setLevel(logging.ERROR)
    return M.quantized_model(tmp_path_factory.mktemp("run_onnx"), "res", "QDQ", "uint8")


@pytest.fixture(scope="module")
def cnn_qop(tmp_path_factory):
    logging.getLogger().setLevel(logging.ERROR)
    return M.quantized_model(tmp_path_factory.mktemp("run_onnx"), "cnn", "QOperator", "int8")


def _x(tmp_path, arch, n=3):
    x = M.calibration_images(arch, n, seed=5)
    path = tmp_path / "x.npy"
    np.save(path, x)
    return x, path


def test_golden_run_writes_output_dumps_and_json(res_uint8, tmp_path, capsys):
    x, xp = _x(tmp_path, "res")
    out, dump, js = tmp_path / "y.npy", tmp_path / "dump", tmp_path / "s.json"
    code = main(["run", str(res_uint8), "--input", str(xp), "--backend", "golden", "--out",
                 str(out), "--dump", str(dump), "--json", str(js), "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "float input, quantized by the model's QuantizeLinear to" in text
    assert "QLinearAdd" in text and "total:" in text
    y = np.load(out)
    want = run_model(res_uint8, x)
    net = load_onnx(res_uint8)
    scale = net.ops[-1].params.scale
    assert y.dtype == np.float32 and y.shape == want.shape
    assert np.abs(y - want).max() <= scale * 1.0001
    files = {p.stem: p for p in dump.glob("*.npy")}
    assert set(files) == {dump_name(t.source_name) for t in net.tensors.values()}
    for t in net.tensors.values():
        a = np.load(files[dump_name(t.source_name)])
        assert a.dtype == np.dtype(t.source_dtype)  # uint8 stays uint8, the float edges float32
        if len(t.shape) == 4:  # NCHW, as the model holds it
            n, h, w, c = t.shape
            assert a.shape == (len(x), c, h, w)
    np.testing.assert_array_equal(np.load(files["logits"]), y)
    doc = json.loads(js.read_text())
    assert doc["source"] == "onnx" and doc["backend"] == "golden" and doc["totals"]["batch"] == 3
    assert [o["op"] for o in doc["ops"]] == [op.op for op in net.ops]


def test_integer_input_is_the_quantized_input(res_uint8, tmp_path, capsys):
    x, xp = _x(tmp_path, "res")
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    assert main(["run", str(res_uint8), "--input", str(xp), "--backend", "golden", "--dump",
                 str(d1), "--no-progress"]) == 0
    qin = d1 / "image_QuantizeLinear_Output.npy"
    assert np.load(qin).dtype == np.uint8
    capsys.readouterr()
    assert main(["run", str(res_uint8), "--input", str(qin), "--backend", "golden", "--dump",
                 str(d2), "--no-progress"]) == 0
    assert "integer input taken as the model's quantized input 'image_QuantizeLinear_Output' " \
           "(uint8" in capsys.readouterr().out
    np.testing.assert_array_equal(np.load(d2 / "logits.npy"), np.load(d1 / "logits.npy"))
    assert not (d2 / "image.npy").exists()


@pytest.mark.parametrize(
    ("x", "pattern"),
    [
        (np.zeros((2, 1, 8, 8), np.float32),
         r"^qmac run: error: tensor 'image' must have shape \(N, 1, 12, 12\) as the model holds "
         r"it, not \(2, 1, 8, 8\)$"),
        (np.full((1, 1, 12, 12), 300, np.int32),
         r"^qmac run: error: tensor 'image_QuantizeLinear_Output' must hold uint8 values in "
         r"\[0, 255\], found 300\.\.300$"),
    ],
)
def test_bad_input_exits_2(res_uint8, tmp_path, capsys, x, pattern):
    xp = tmp_path / "x.npy"
    np.save(xp, x)
    assert main(["run", str(res_uint8), "--input", str(xp), "--backend", "golden",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert __import__("re").match(pattern, err), err


def test_unknown_model_format_exits_2(tmp_path, capsys):
    m = tmp_path / "m.pb"
    m.write_bytes(b"")
    np.save(tmp_path / "x.npy", np.zeros(1))
    assert main(["run", str(m), "--input", str(tmp_path / "x.npy"), "--no-progress"]) == 2
    assert "unknown format '.pb'; qmac run reads .onnx" in capsys.readouterr().err


def test_dump_name_replaces_unsafe_characters():
    assert dump_name("/layer1/conv/Conv_output_0:0") == "_layer1_conv_Conv_output_0_0"
    assert dump_name("a.b-c_D9") == "a.b-c_D9"


def test_rtl_run_on_the_4x4_array_equals_golden(cnn_qop, tmp_path, capsys):
    _, xp = _x(tmp_path, "cnn", n=2)
    g, r = tmp_path / "g.npy", tmp_path / "r.npy"
    js = tmp_path / "r.json"
    assert main(["run", str(cnn_qop), "--input", str(xp), "--backend", "golden", "--out", str(g),
                 "--no-progress"]) == 0
    code = main(["run", str(cnn_qop), "--input", str(xp), "--backend", "rtl", "--preset",
                 "int8-4x4", "--out", str(r), "--json", str(js), "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0, text
    np.testing.assert_array_equal(np.load(r), np.load(g))
    doc = json.loads(js.read_text())
    arr = [o for o in doc["ops"] if o["kind"] == "array"]
    assert len(arr) == 4 and all(o["mismatches"] == 0 and o["cycles"] > 0 for o in arr)
    assert doc["totals"]["cycles_per_inference"] > 0 and "array cycles" in text


def test_layer_beyond_one_bank_runs_split_across_jobs(res_uint8, tmp_path, capsys):
    """A conv whose K (72) exceeds a 64-word bank is split across jobs (K split) and stays exact."""
    _, xp = _x(tmp_path, "res")
    js = tmp_path / "s.json"
    code = main(["run", str(res_uint8), "--input", str(xp), "--backend", "rtl", "--preset",
                 "int8-4x4", "--w-buf-depth", "64", "--json", str(js), "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0, text
    doc = json.loads(js.read_text())
    arr = [o for o in doc["ops"] if o["kind"] == "array"]
    assert arr and all(o["mismatches"] == 0 for o in arr)
