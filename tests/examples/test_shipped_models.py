"""The example models in examples/models: files as models.json records them, inputs as the split."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from qmac.model.digits import load_digits_images, make_split

MODELS_DIR = Path(__file__).resolve().parents[2] / "examples" / "models"
MANIFEST = json.loads((MODELS_DIR / "models.json").read_text())["models"]
SAMPLES = 16


@pytest.mark.parametrize("fname", sorted(MANIFEST))
def test_file_matches_manifest(fname):
    data = (MODELS_DIR / fname).read_bytes()
    entry = MANIFEST[fname]
    assert len(data) == entry["bytes"]
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]


def test_expected_models_present():
    assert set(MANIFEST) == {
        "digits_cnn.tflite", "mobilenet_res.tflite", "ops_zoo.tflite", "ops_zoo_requant.tflite",
        "digits_cnn_qdq.onnx", "digits_cnn_qop.onnx", "resnet_uint8_qdq.onnx",
    }  # fmt: skip


def test_total_size_well_under_1mb():
    total = sum(p.stat().st_size for p in MODELS_DIR.iterdir() if p.is_file())
    assert total < 512 * 1024, total


def test_sample_inputs_are_the_first_test_images():
    images, labels = load_digits_images()
    test = make_split(labels, seed=0)[2][:SAMPLES]
    x = np.load(MODELS_DIR / "digits_test_x.npy")
    assert x.dtype == np.float32 and x.shape == (SAMPLES, 8, 8, 1)
    np.testing.assert_array_equal(x, images[test].astype(np.float32))
    np.testing.assert_array_equal(np.load(MODELS_DIR / "digits_test_y.npy"), labels[test])
    x16 = np.load(MODELS_DIR / "digits16_test_x.npy")
    np.testing.assert_array_equal(x16, x.repeat(2, axis=1).repeat(2, axis=2))
    np.testing.assert_array_equal(
        np.load(MODELS_DIR / "digits_test_x_nchw.npy"), x.transpose(0, 3, 1, 2)
    )
    np.testing.assert_array_equal(
        np.load(MODELS_DIR / "digits16_test_x_nchw.npy"), x16.transpose(0, 3, 1, 2)
    )


@pytest.mark.parametrize("fname", sorted(MANIFEST))
def test_sample_input_fits_model_input(fname):
    entry = MANIFEST[fname]
    x = np.load(MODELS_DIR / entry["sample_input"])
    assert [1, *x.shape[1:]] == entry["input"]["shape"]


@pytest.mark.parametrize("fname", sorted(f for f in MANIFEST if f.endswith(".onnx")))
def test_onnx_graph_matches_manifest(fname):
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(MODELS_DIR / fname))
    onnx.checker.check_model(model)
    ops = [(n.domain + "." if n.domain else "") + n.op_type for n in model.graph.node]
    assert ops == MANIFEST[fname]["ops"]
    assert "Relu" not in ops and "Clip" not in ops  # the quantizer deleted them
