"""The shipped ONNX examples (examples/models: digits CNN in QDQ and QOperator form, a residual net
with uint8 activations, all quantized by onnxruntime 1.32) against onnxruntime, tensor by tensor.

Reference: every quantized tensor as onnxruntime computes it in the whole model (probes,
``ort_reference``). Measured on the 397 test images (``scripts/bench_onnx_models.py
--test-split``; docs/ONNX.md has the table):

- per op on onnxruntime's own inputs, every output is within 1 LSB for both roundings; the
  differences are requantization rounding only (an emulation of onnxruntime's float32
  requantization of golden's exact accumulators is exact): ``"tflite"`` differs on 0.94% of the
  digits CNN's array outputs and 0.09% of the residual net's, ``"single"`` on 0 and 2 of 3.05
  million (exact ties, which onnxruntime rounds to even);
- chained through the network (what ``qmac run`` computes), a 1-LSB difference grows where a
  layer's gain exceeds one LSB per LSB (depthwise 3x3, the residual Add): with ``"tflite"``
  2.7% / 2.4% of tensor elements differ, by up to 4 LSB; with ``"single"`` the digits CNN is
  bit-exact and 107 of 4.2 million residual-net elements differ, by up to 2 LSB. Top-1 accuracy
  equals onnxruntime's in every case.

The RTL part runs each array op on the simulated array with onnxruntime's own inputs (within
1 LSB of onnxruntime, equal to golden), and ``qmac run --backend rtl`` on a few images (every
tensor equal to the golden backend's, and with ``--rounding single`` the digits CNN equal to
onnxruntime on every tensor). Layers fit one buffer bank of every preset (largest K = 288).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from qmac.model.network import ArrayOp  # noqa: E402
from qmac.model.onnx_import import load_onnx  # noqa: E402
from qmac.model.run import run_network  # noqa: E402
from qmac.model.source_io import dump_name, to_network  # noqa: E402
from tests.qmac.model.onnx_agreement import chain_agreement, op_agreement, reference  # noqa: E402

EXAMPLES = Path(os.environ.get("QMAC_EXAMPLES_DIR",
                               Path(__file__).resolve().parents[3] / "examples" / "models"))
MODELS = ["digits_cnn_qdq.onnx", "digits_cnn_qop.onnx", "resnet_uint8_qdq.onnx"]


def _entry(name: str):
    path = EXAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} not found (the example models are made by "
                    "scripts/make_onnx_models.py)")
    doc = json.loads((EXAMPLES / "models.json").read_text())
    return path, np.load(EXAMPLES / doc["models"][name]["sample_input"]).astype(np.float32)


@pytest.fixture(autouse=True)
def _quiet():
    logging.getLogger().setLevel(logging.ERROR)


@pytest.mark.parametrize("name", MODELS)
def test_every_op_on_onnxruntime_inputs(name):
    path, x = _entry(name)
    net, ort_net = load_onnx(path), load_onnx(path, multiplier="onnxruntime")
    rows = op_agreement(net, ort_net, reference(path, net, x))
    assert len(rows) == len(net.ops) - 2  # all but the float edges
    for r in rows:
        if r["kind"] == "host":
            assert r["host"].differ == 0, (r["name"], r["host"])
        else:
            assert r["ort_emulation"].differ == 0, (r["name"], r["ort_emulation"])
            assert r["tflite"].max_abs <= 1 and r["single"].max_abs <= 1, r


@pytest.mark.parametrize("name", MODELS)
def test_every_tensor_chained(name):
    path, x = _entry(name)
    net = load_onnx(path)
    ref = reference(path, net, x)
    feed = to_network(net.tensors[net.inputs[0]], x)
    single = run_network(net, feed, rounding="single", keep_tensors=True)
    diffs = chain_agreement(net, single.tensors, ref)
    assert len(diffs) == sum(t.dtype == "int8" for t in net.tensors.values())
    if name.startswith("digits"):
        assert all(d.differ == 0 for d in diffs), diffs  # bit-exact with onnxruntime
    else:
        assert max(d.max_abs for d in diffs) <= 2
        assert sum(d.differ for d in diffs) <= 1e-4 * sum(d.outputs for d in diffs)
    tfl = run_network(net, feed, keep_tensors=True)
    diffs = chain_agreement(net, tfl.tensors, ref)
    assert max(d.max_abs for d in diffs) <= 4
    assert sum(d.differ for d in diffs) <= 0.05 * sum(d.outputs for d in diffs)
    for run in (single, tfl):
        np.testing.assert_array_equal(run.outputs[net.outputs[0]].argmax(1),
                                      ref["__outputs__"][0].argmax(1))


def _rtl_ops_on_onnxruntime_inputs(name: str, preset_name: str, images: int):
    from hw.config import preset
    from sim import run_layer

    path, x = _entry(name)
    x = x[:images]
    config = preset(preset_name)
    net = load_onnx(path)
    ref = reference(path, net, x)
    for op in net.ops:
        if not isinstance(op, ArrayOp):
            continue
        layer = op.layer(ref[op.input])
        y, stats = run_layer(config, layer)
        assert stats["mismatch"] is None, stats["mismatch"]
        np.testing.assert_array_equal(y, layer.output(rounding=config.rounding))
        assert np.abs(np.asarray(y) - ref[op.output]).max() <= 1, op.name


def _qmac_run_dumps(name: str, preset_name: str, images: int, tmp_path, extra=()):
    from qmac.cli import main

    path, x = _entry(name)
    xp = tmp_path / "x.npy"
    np.save(xp, x[:images])
    dump = tmp_path / "dump"
    code = main(["run", str(path), "--input", str(xp), "--backend", "rtl", "--preset",
                 preset_name, "--dump", str(dump), "--no-progress", *extra])
    assert code == 0
    return path, x[:images], dump


def _check_dumps(path, x, dump, rounding: str, exact_with_onnxruntime: bool):
    net = load_onnx(path)
    gold = run_network(net, to_network(net.tensors[net.inputs[0]], x), rounding=rounding,
                       keep_tensors=True)
    ref = reference(path, net, x)
    for name, spec in net.tensors.items():
        got = np.load(dump / f"{dump_name(spec.source_name)}.npy")
        assert got.dtype == np.dtype(spec.source_dtype)
        np.testing.assert_array_equal(to_network(spec, got), gold.tensors[name])
        if spec.dtype == "int8":
            d = np.abs(to_network(spec, got) - ref[name])
            assert d.max() <= (0 if exact_with_onnxruntime else 4), name


@pytest.mark.parametrize(("name", "preset_name", "images"), [
    ("digits_cnn_qdq.onnx", "int8-4x4", 2),
    pytest.param("digits_cnn_qop.onnx", "int8-8x8", 4, marks=pytest.mark.slow),
    pytest.param("resnet_uint8_qdq.onnx", "int8-4x4", 4, marks=pytest.mark.slow),
    pytest.param("resnet_uint8_qdq.onnx", "int8-8x8-ws", 4, marks=pytest.mark.slow),
])
def test_rtl_every_array_op_on_onnxruntime_inputs(name, preset_name, images):
    _rtl_ops_on_onnxruntime_inputs(name, preset_name, images)


@pytest.mark.parametrize(("name", "preset_name", "images"), [
    ("digits_cnn_qdq.onnx", "int8-4x4", 2),
    pytest.param("resnet_uint8_qdq.onnx", "int8-8x8", 4, marks=pytest.mark.slow),
])
def test_qmac_run_rtl_dumps_every_tensor(name, preset_name, images, tmp_path):
    """qmac run's defaults for an ONNX model (single rounding, docs/ONNX.md)."""
    path, x, dump = _qmac_run_dumps(name, preset_name, images, tmp_path)
    _check_dumps(path, x, dump, "single", exact_with_onnxruntime=False)


def test_qmac_run_rtl_tflite_rounding_dumps_every_tensor(tmp_path):
    path, x, dump = _qmac_run_dumps("digits_cnn_qdq.onnx", "int8-4x4", 2, tmp_path,
                                    ("--rounding", "tflite"))
    _check_dumps(path, x, dump, "tflite", exact_with_onnxruntime=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["digits_cnn_qdq.onnx", "digits_cnn_qop.onnx"])
def test_qmac_run_rtl_single_rounding_equals_onnxruntime(name, tmp_path):
    path, x, dump = _qmac_run_dumps(name, "int8-4x4", 4, tmp_path, ("--rounding", "single"))
    _check_dumps(path, x, dump, "single", exact_with_onnxruntime=True)
