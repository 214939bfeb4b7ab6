"""``qmac run`` on bad input: one line on stderr naming the op, tensor or argument, exit 2.

Every case fails before any simulation: ``sim.runner.build`` and ``sim.run_layer`` raise if
called. The models are built in the test from the flatbuffer schema.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
import sim.runner
from qmac.cli import main
from tests.qmac.model.model_agreement import shipped_models
from tests.qmac.model.tflite_builder import ModelBuilder

DIGITS, DIGITS_X = shipped_models()["digits_cnn"]


@pytest.fixture(autouse=True)
def no_simulation(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("simulation started before the checks")

    monkeypatch.setattr(sim.runner, "build", refuse)
    monkeypatch.setattr(sim, "run_layer", refuse, raising=False)


def _conv(b: ModelBuilder, x: int, dtype: str = "int8", out_dtype: str | None = None) -> int:
    q = dict(scale=0.05, zero_point=0) if dtype != "float32" else {}
    w = b.tensor((2, 3, 3, 1), "int8" if dtype != "float32" else "float32",
                 data=np.ones((2, 3, 3, 1)), **({"scale": [0.01, 0.02]} if q else {}))
    bias = b.tensor((2,), "int32" if dtype != "int16" else "int64", data=np.zeros(2))
    y = b.tensor((1, 4, 4, 2), out_dtype or dtype, **q)
    b.op("CONV_2D", [x, w, bias], [y], padding="SAME", strideH=1, strideW=1)
    return y


def _model(kind: str) -> bytes:
    b = ModelBuilder()
    if kind == "float-op":
        x = b.tensor((1, 4, 4, 1), "float32")
        return b.build([x], [_conv(b, x, "float32")])
    if kind == "unsupported-op":
        x = b.tensor((1, 4, 4, 1), scale=0.05, zero_point=0)
        y = _conv(b, x)
        z = b.tensor((1, 4, 4, 2), scale=1 / 128, zero_point=0)
        b.op("TANH", [y], [z])
        return b.build([x], [z])
    if kind == "int16":
        x = b.tensor((1, 4, 4, 1), "int16", scale=0.05, zero_point=0)
        return b.build([x], [_conv(b, x, "int16")])
    if kind == "uint8":
        x = b.tensor((1, 4, 4, 1), "uint8", scale=0.05, zero_point=128)
        xq = b.tensor((1, 4, 4, 1), scale=0.05, zero_point=0)
        b.op("QUANTIZE", [x], [xq])
        return b.build([x], [_conv(b, xq)])
    raise KeyError(kind)


def _parse_error(capsys, argv) -> tuple[int, str]:
    """An option that argparse rejects: exit 2 with one line (``OneLineParser``)."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return exc.value.code, err


def _fail(capsys, argv) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("qmac run: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err + captured.out
    return err


@pytest.mark.parametrize(
    ("kind", "pattern"),
    [
        ("float-op", r"op 0 \(CONV_2D\): input tensor 0 't0' is float32, a float op: qmac runs "
                     r"full-integer int8 models"),
        ("unsupported-op", r"op 1 \(TANH\) is not supported; supported ops: CONV_2D, "
                           r"DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, .*DEQUANTIZE$"),
        ("int16", r"op 0 \(CONV_2D\): input tensor 0 't0' is int16 \(16x8 quantization\); "
                  r"qmac needs int8 here"),
        ("uint8", r"op 0 \(QUANTIZE\): input tensor 0 't0' is uint8; qmac needs int8 here"),
    ],
)
def test_models_qmac_cannot_run(tmp_path, capsys, kind, pattern):
    path = tmp_path / f"{kind}.tflite"
    path.write_bytes(_model(kind))
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 4, 4, 1), np.int8))
    err = _fail(capsys, ["run", str(path), "--input", str(x)])
    assert __import__("re").search(pattern, err), err


def test_missing_and_corrupt_model_files(tmp_path, capsys):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 8, 8, 1), np.int8))
    err = _fail(capsys, ["run", str(tmp_path / "nope.tflite"), "--input", str(x)])
    assert "model file" in err and "nope.tflite' does not exist" in err
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00" * 64)
    assert "is not a TFLite model (no TFL3 flatbuffer identifier" in \
        _fail(capsys, ["run", str(junk), "--input", str(x)])
    raw = DIGITS.read_bytes()
    for cut in (len(raw) // 2, 400):
        truncated = tmp_path / f"cut{cut}.tflite"
        truncated.write_bytes(raw[:cut])
        err = _fail(capsys, ["run", str(truncated), "--input", str(x)])
        assert "is corrupt or truncated" in err


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: np.zeros((2, 8, 8), np.int8),
         r"--input '.*x\.npy' has shape \(2, 8, 8\); model input tensor 0 "
         r"'serving_default_image:0' needs \(N, 8, 8, 1\) or \(8, 8, 1\)$"),
        (lambda: np.zeros((2, 8, 8, 1), bool), r"holds bool values; give int8 values or floats$"),
        (lambda: np.full((1, 8, 8, 1), 255, np.uint8),
         r"holds integers 255\.\.255, outside int8: give int8 values in the model's input "
         r"quantization \(scale 0\.0039215689, zero point -128\) or floats$"),
        (lambda: np.full((1, 8, 8, 1), np.nan, np.float32), r"holds NaN or infinite values$"),
        (lambda: np.zeros((0, 8, 8, 1), np.int8), r"holds no sample"),
    ],
    ids=["shape", "bool", "uint8-range", "nan", "empty"],
)
def test_bad_input_arrays(tmp_path, capsys, make, pattern):
    x = tmp_path / "x.npy"
    np.save(x, make())
    err = _fail(capsys, ["run", str(DIGITS), "--input", str(x)])
    assert __import__("re").search(pattern, err.strip()), err


def test_bad_files_and_options(tmp_path, capsys):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 8, 8, 1), np.int8))
    not_npy = tmp_path / "x.txt"
    not_npy.write_text("hello")
    assert "is not a NumPy .npy array" in _fail(capsys, ["run", str(DIGITS), "--input",
                                                         str(not_npy)])
    assert "--input" in _fail(capsys, ["run", str(DIGITS), "--input", str(tmp_path / "no.npy")])
    assert "is a folder, expected a file path" in _fail(
        capsys, ["run", str(DIGITS), "--input", str(x), "--out", str(tmp_path)])
    assert "is a file, expected a folder" in _fail(
        capsys, ["run", str(DIGITS), "--input", str(x), "--dump", str(x)])
    assert "is not a folder" in _fail(
        capsys, ["run", str(DIGITS), "--input", str(x), "--json", str(x / "s.json")])
    assert "unknown preset 'nope'" in _fail(
        capsys, ["run", str(DIGITS), "--input", str(x), "--preset", "nope"])
    assert "the model has 1 input(s)" in _fail(
        capsys, ["run", str(DIGITS), "--input", str(x), "--input", str(x)])
    code, err = _parse_error(capsys, ["run", str(DIGITS), "--input", str(x), "--clock-mhz", "0"])
    assert code == 2 and "argument --clock-mhz: expected a positive number, not '0'" in err
    assert "a_bits=8 exceeds the array's a_bits=4" in _fail(
        capsys, ["run", str(DIGITS), "--input", str(x), "--preset", "int4-4x4"])
