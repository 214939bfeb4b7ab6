"""``qmac run``: the shipped TFLite models, every dumped tensor against LiteRT and TFLite Micro.

Agreement asserted for every op of every shipped model (``tests/qmac/model/model_agreement.py``
has the table): each op's output equals LiteRT's reference kernel (BUILTIN_REF) run on qmac's own
inputs, and the whole-model reference interpreter's tensor wherever no FULLY_CONNECTED feeds it;
FULLY_CONNECTED equals TFLite Micro's reference kernel (fixed point, like every other TFLite
reference kernel) and is within 1 LSB of LiteRT's optimized kernel, which rounds both steps half
up (negative ties differ);
LiteRT's reference FC requantizes with float scales instead. SOFTMAX matches LiteRT's reference
kernel (``reference_ops::Softmax``, gemmlowp fixed point). TFLite Micro agrees on every op.

The RTL runs are batched (a few images per model, all in one simulation per layer). One model on
one preset runs by default; the others (two presets per model) are marked slow.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from qmac.cli import main
from qmac.model.tflite_import import load_tflite
from qmac.model.tflite_read import read_tflite
from tests.qmac.model.model_agreement import agreement, qmac_tensors, shipped_models

MODELS = shipped_models()
# Presets where each model fits: mobilenet_res has a layer with K = 1152 > 1024 words per bank,
# so it needs 2048-word banks (int8-16x16 has 4096) until the K split (part 3) lands.
PRESETS = {
    "digits_cnn": [["--preset", "int8-4x4"], ["--preset", "int8-8x8-ws"]],
    "ops_zoo": [["--preset", "int8-8x8"], ["--preset", "int8-4x4", "--dataflow", "ws"]],
    "ops_zoo_requant": [["--preset", "int8-4x4"], ["--preset", "int8-8x8-ws"]],
    "mobilenet_res": [
        ["--preset", "int8-16x16"],
        ["--preset", "int8-8x8-ws", "--a-buf-depth", "2048", "--w-buf-depth", "2048"],
    ],
}


def _run(tmp_path, name: str, extra: list[str], images: int, backend: str = "rtl"):
    model, x_path = MODELS[name]
    x = np.load(x_path)[:images]
    xf = tmp_path / "x.npy"
    np.save(xf, x)
    dump, out, js = tmp_path / "dump", tmp_path / "y.npy", tmp_path / "s.json"
    code = main(["run", str(model), "--input", str(xf), "--backend", backend, *extra,
                 "--dump", str(dump), "--out", str(out), "--json", str(js), "--no-progress"])
    return code, model.read_bytes(), x, dump, out, json.loads(js.read_text())


def _check_against_runtimes(model: bytes, x: np.ndarray, dump, out) -> None:
    golden_tensors, x_model = qmac_tensors(model, x)
    ours = {int(p.stem): np.load(p) for p in dump.glob("*.npy")}
    assert set(ours) == set(golden_tensors)
    assert all(v.dtype == np.int8 for v in ours.values())  # the model's own dtype
    rows = agreement(model, x_model.astype(np.int8), ours, kernels=("ref", "opt", "tflm"))
    for r in rows:
        label = f"op {r['op']} {r['name']} tensor {r['tensor']}"
        assert r["tflm"] == (0, 0), label
        if r["name"] == "FULLY_CONNECTED":
            assert r["opt"][1] <= 1, label
        else:
            assert r["ref"] == (0, 0), label
            if not r["downstream_of_fc"]:
                assert r["whole_ref"] == (0, 0), label
    y = np.load(out)
    (output,) = read_tflite(model).outputs
    assert y.dtype == np.int8 and np.array_equal(y, ours[output])


def test_digits_cnn_on_the_rtl_equals_tflite_on_every_tensor(tmp_path, capsys):
    code, model, x, dump, out, s = _run(tmp_path, "digits_cnn", PRESETS["digits_cnn"][0], 3)
    assert code == 0 and s["mismatches"] == 0 and s["batch"] == 3
    assert [o["kind"] for o in s["ops"]] == [op.kind for op in load_tflite(model).ops]
    array = [o for o in s["ops"] if o["kind"] == "array"]
    assert all(o["cycles"] >= o["macs"] / 16 and 0 < o["utilization"] <= 1 for o in array)
    t = s["totals"]
    assert t["cycles"] == sum(o["cycles"] for o in array)
    assert t["cycles_per_inference"] == t["cycles"] / 3
    assert t["inferences_per_s"] == pytest.approx(100e6 / t["cycles_per_inference"])
    _check_against_runtimes(model, x, dump, out)
    text = capsys.readouterr().out
    assert "float values, quantized with the model's input scale" in text
    assert "0 mismatches" in text and "inferences/s at 100 MHz" in text


@pytest.mark.slow
@pytest.mark.parametrize(("name", "k"), [(n, k) for n in PRESETS for k in range(2)],
                         ids=[f"{n}-{k}" for n in PRESETS for k in range(2)])
def test_shipped_models_on_the_rtl_equal_tflite(tmp_path, name, k):
    code, model, x, dump, out, s = _run(tmp_path, name, PRESETS[name][k], 4)
    assert code == 0 and s["mismatches"] == 0
    _check_against_runtimes(model, x, dump, out)


@pytest.mark.parametrize("name", list(MODELS))
def test_shipped_models_on_the_golden_backend(tmp_path, name):
    code, model, x, dump, out, s = _run(tmp_path, name, [], 16, backend="golden")
    assert code == 0 and s["totals"]["cycles"] is None and s["totals"]["ideal_cycles"] > 0
    _check_against_runtimes(model, x, dump, out)


def test_int8_input_is_taken_as_is(tmp_path, capsys):
    model, x_path = MODELS["digits_cnn"]
    _, x_model = qmac_tensors(model.read_bytes(), np.load(x_path)[:2])
    xf = tmp_path / "x.npy"
    np.save(xf, x_model.astype(np.int8)[0])  # one sample, without the batch axis
    out = tmp_path / "y.npy"
    assert main(["run", str(model), "--input", str(xf), "--backend", "golden", "--out", str(out),
                 "--no-progress"]) == 0
    assert "int8 values in the model's input quantization" in capsys.readouterr().out
    assert np.load(out).shape == (1, 10)


def test_layer_beyond_the_accumulator_is_refused_before_anything_runs(tmp_path, capsys,
                                                                     monkeypatch):
    """mobilenet_res's 3x3 conv over 128 channels (K = 1152) on int8-8x8 with a 24-bit
    accumulator (max_k = 257): the one K limit a layer meets (a K beyond one bank is split)."""
    import sim.runner

    def no_build(*a, **k):
        raise AssertionError("built before the checks")

    monkeypatch.setattr(sim.runner, "build", no_build)
    model, x_path = MODELS["mobilenet_res"]
    net = load_tflite(model)
    i, op = next((i, op) for i, op in enumerate(net.ops) if op.kind == "array" and op.k > 257)
    code = main(["run", str(model), "--input", str(x_path), "--preset", "int8-8x8",
                 "--acc-bits", "24"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"qmac run: error: op {i} ({op.name}): layer {op.op} needs K={op.k} "
                          f"per output channel: K={op.k} exceeds max_k=257 of acc_bits=24"), err


def test_digits_cnn_on_the_ecp5_target(tmp_path, capsys, monkeypatch):
    """The whole network on the ECP5-target Verilog (MULT18X18D and CCU2C models): every op equal
    to golden and to the runtimes, the same cycles as the generic build."""
    from tests.qmac.cli.test_sim import _record_build_targets

    targets = _record_build_targets(monkeypatch)
    extra = [*PRESETS["digits_cnn"][0], "--gaps", "--seed", "2"]
    code, model, x, dump, out, s = _run(tmp_path, "digits_cnn", [*extra, "--target", "ecp5"], 2)
    assert code == 0 and s["mismatches"] == 0 and s["target"] == "ecp5"
    assert set(targets) == {"ecp5"} and len(targets) == 1 + s["totals"]["array_ops"]
    _check_against_runtimes(model, x, dump, out)
    assert "(rtl, ecp5 target backend)" in capsys.readouterr().out
    (tmp_path / "g").mkdir()
    code, *_, generic = _run(tmp_path / "g", "digits_cnn", extra, 2)
    assert code == 0 and generic["target"] == "generic"
    assert [o["cycles"] for o in s["ops"]] == [o["cycles"] for o in generic["ops"]]


def test_bad_target_is_one_line(capsys):
    model, x_path = MODELS["digits_cnn"]
    with pytest.raises(SystemExit) as exc:
        main(["run", str(model), "--input", str(x_path), "--target", "xc7"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(
        "qmac run: error: argument --target: invalid choice: 'xc7'"), err
