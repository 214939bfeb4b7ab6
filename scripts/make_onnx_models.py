"""Train small PyTorch models on the digits, export them to ONNX and quantize them with onnxruntime.

Writes ``examples/models/{digits_cnn_qdq,digits_cnn_qop,resnet_uint8_qdq}.onnx``, the float test
inputs in NCHW (``digits_test_x_nchw.npy`` 8x8, ``digits16_test_x_nchw.npy`` 16x16; labels in
``digits_test_y.npy``) and the ONNX entries of ``examples/models/models.json``. Not imported by
qmac.

Setup (a separate venv; PyTorch is not a qmac dependency)::

    python3.11 -m venv /work/venvs/models
    /work/venvs/models/bin/pip install -e '.[onnx-models]'
    /work/venvs/models/bin/pip install torch==2.13.0   # the CPU wheel; any CPU build >= 2.4 works

(On PyPI a plain ``pip install torch`` pulls the CUDA build, several GB: pin a CPU build.)

Usage::

    /work/venvs/models/bin/python scripts/make_onnx_models.py [--out examples/models] [--epochs N]

Export: ``torch.onnx.export(..., dynamo=False)`` (the TorchScript exporter, no onnxscript), opset
17, static batch 1, input ``image`` (float32 NCHW), output ``logits``. Quantization:
``quant_pre_process`` then ``quantize_static`` (MinMax calibration on the 200 calibration
images, ``per_channel=True``, int8 weights). Deterministic: fixed seeds, deterministic torch
algorithms, one thread; a rerun writes byte-identical files (sha256 in ``models.json``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from digits_split import load_digits_split, sample_indices, upsample2  # noqa: E402
from model_manifest import update_manifest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEED = 0
OPSET = 17


def build(torch, arch: str):
    """The float network ``arch`` (``"digits_cnn"`` or ``"resnet"``) as a ``torch.nn.Module``."""
    nn = torch.nn
    if arch == "digits_cnn":
        # qmac's demo CNN in PyTorch form: pads of 1 on every side (not TF's SAME for stride 2)
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.ReLU6(),
            nn.Flatten(), nn.Linear(256, 10),
        )  # fmt: skip

    class Block(nn.Module):
        """Two conv3x3 + BatchNorm, residual Add (1x1 conv + BN shortcut when shapes change)."""

        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.short = None
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return torch.relu(y + (x if self.short is None else self.short(x)))

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),  # 16x16x16
        nn.MaxPool2d(2),  # 8x8
        Block(16, 16, 1),
        Block(16, 32, 2),  # 4x4x32
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    )  # fmt: skip


@dataclass(frozen=True)
class ModelSpec:
    """How one shipped model is made."""

    arch: str
    size: int  # input height = width
    epochs: int
    quant_format: str  # "QDQ" | "QOperator"
    activation_type: str  # "QInt8" | "QUInt8"


MODELS = {
    "digits_cnn_qdq": ModelSpec("digits_cnn", 8, 40, "QDQ", "QInt8"),
    "digits_cnn_qop": ModelSpec("digits_cnn", 8, 40, "QOperator", "QInt8"),
    "resnet_uint8_qdq": ModelSpec("resnet", 16, 30, "QDQ", "QUInt8"),
}


def train(torch, arch: str, x: np.ndarray, y: np.ndarray, epochs: int):
    """Adam with cosine decay, batch 32; returns the float model in eval mode."""
    torch.manual_seed(SEED)
    model = build(torch, arch)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(xt), generator=gen).split(32):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        sched.step()
    return model.eval()


class _CalibrationReader:
    """onnxruntime CalibrationDataReader over single images (batch 1)."""

    def __init__(self, images: np.ndarray):
        self._it = iter(images)

    def get_next(self):
        img = next(self._it, None)
        return None if img is None else {"image": img[None]}


def quantize(torch, model, spec: ModelSpec, x_calib: np.ndarray, path: Path) -> None:
    """Export ``model`` to ONNX, pre-process it and quantize it statically into ``path``."""
    from onnxruntime import quantization as q

    with tempfile.TemporaryDirectory() as tmp:
        f32, pre = Path(tmp) / "float.onnx", Path(tmp) / "pre.onnx"
        dummy = torch.from_numpy(x_calib[:1])
        torch.onnx.export(
            model, (dummy,), str(f32), dynamo=False, opset_version=OPSET,
            input_names=["image"], output_names=["logits"],
        )  # fmt: skip
        q.quant_pre_process(str(f32), str(pre))
        q.quantize_static(
            str(pre),
            str(path),
            _CalibrationReader(x_calib),
            quant_format=getattr(q.QuantFormat, spec.quant_format),
            per_channel=True,
            weight_type=q.QuantType.QInt8,
            activation_type=getattr(q.QuantType, spec.activation_type),
            calibrate_method=q.CalibrationMethod.MinMax,
        )


def ort_predict(path: Path, x: np.ndarray) -> np.ndarray:
    """Float logits of the quantized model from onnxruntime (default CPU session), per image."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return np.stack([sess.run(None, {"image": img[None]})[0][0] for img in x])


def describe(path: Path) -> dict:
    """Node op types (with domain) and the graph's input/output of ``path`` for the manifest."""
    import onnx

    m = onnx.load(str(path))

    def value(v):
        t = v.type.tensor_type
        return {
            "name": v.name,
            "shape": [d.dim_value for d in t.shape.dim],
            "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name,
        }

    ops = [(n.domain + "." if n.domain else "") + n.op_type for n in m.graph.node]
    return {
        "ops": ops,
        "opset": max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")),
        "input": value(m.graph.input[0]),
        "output": value(m.graph.output[0]),
    }


def format_nodes(path: Path) -> str:
    """One line per node: op type, inputs -> outputs."""
    import onnx

    m = onnx.load(str(path))
    lines = []
    for i, n in enumerate(m.graph.node):
        op = (n.domain + "." if n.domain else "") + n.op_type
        lines.append(f"  {i:2d} {op:28s} {list(n.input)} -> {list(n.output)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "examples" / "models")
    ap.add_argument("--epochs", type=int, default=None, help="override every model's epochs")
    ap.add_argument("--only", choices=sorted(MODELS), action="append", help="models to make")
    args = ap.parse_args(argv)

    import onnx
    import onnxruntime
    import sklearn
    import torch

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    digits = load_digits_split()
    nchw8 = digits.images.transpose(0, 3, 1, 2).copy()
    nchw16 = upsample2(digits.images).transpose(0, 3, 1, 2).copy()
    sample = sample_indices(digits)
    np.save(args.out / "digits_test_x_nchw.npy", nchw8[sample])
    np.save(args.out / "digits16_test_x_nchw.npy", nchw16[sample])
    np.save(args.out / "digits_test_y.npy", digits.labels[sample])
    versions = {
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }
    entries, trained = {}, {}
    for name in args.only or list(MODELS):
        spec = MODELS[name]
        epochs = args.epochs or spec.epochs
        images = nchw8 if spec.size == 8 else nchw16
        t0 = time.perf_counter()
        if spec.arch not in trained:
            trained[spec.arch] = train(
                torch, spec.arch, images[digits.train], digits.labels[digits.train], epochs
            )
        model = trained[spec.arch]
        with torch.no_grad():
            float_out = model(torch.from_numpy(images[digits.test])).numpy()
        float_acc = float(np.mean(np.argmax(float_out, 1) == digits.labels[digits.test]))
        path = args.out / f"{name}.onnx"
        quantize(torch, model, spec, images[digits.calib], path)
        q_out = ort_predict(path, images[digits.test])
        int8_acc = float(np.mean(np.argmax(q_out, 1) == digits.labels[digits.test]))
        print(
            f"{name}: {path.stat().st_size} bytes, float {float_acc:.4f}, "
            f"quantized (onnxruntime) {int8_acc:.4f}, {time.perf_counter() - t0:.1f} s"
        )
        print(format_nodes(path))
        act = "uint8" if spec.activation_type == "QUInt8" else "int8"
        entries[path.name] = {
            **describe(path),
            "framework": "onnx",
            "quantization": (
                f"onnxruntime quantize_static {spec.quant_format}, per-channel int8 weights, "
                f"{act} activations, MinMax calibration"
            ),
            "epochs": epochs,
            "float_test_accuracy": float_acc,
            "int8_test_accuracy": int8_acc,
            "int8_reference": f"onnxruntime {onnxruntime.__version__} CPUExecutionProvider",
            "test_images": int(len(digits.test)),
            "sample_input": f"digits{'' if spec.size == 8 else '16'}_test_x_nchw.npy",
        }
    update_manifest(
        args.out / "models.json", entries, versions, "python scripts/make_onnx_models.py"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
