"""Train small Keras models on the digits and convert them to full-integer int8 ``.tflite`` files.

Writes ``examples/models/{digits_cnn,mobilenet_res,ops_zoo}.tflite``, the float test inputs
``digits_test_x.npy`` (8x8, NHWC), ``digits16_test_x.npy`` (16x16, NHWC), their labels
``digits_test_y.npy``, and the TFLite entries of ``examples/models/models.json`` (ops,
quantization, float and int8 test accuracy, versions). Not imported by qmac.

Setup (a separate venv; TensorFlow is not a qmac dependency)::

    python3.11 -m venv /work/venvs/models
    /work/venvs/models/bin/pip install -e '.[tflite-models]'   # or the packages listed there

Usage::

    /work/venvs/models/bin/python scripts/make_tflite_models.py [--out examples/models] [--epochs N]

Deterministic: fixed seeds, ``tf.config.experimental.enable_op_determinism()``; a rerun writes
byte-identical files (checked by sha256 in ``models.json``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN float reorderings vary run to run

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from digits_split import load_digits_split, sample_indices, upsample2  # noqa: E402
from model_manifest import update_manifest  # noqa: E402
from tflite_inspect import check_full_integer, format_ops, read_ops  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEED = 0


# ---- architectures (built twice: open batch for training, batch 1 for conversion) ---------
def digits_cnn(keras, batch_size):
    """conv 3x3 (1->8) ReLU, conv 3x3 s2 (8->16) ReLU, depthwise 3x3 ReLU6, FC 256->10."""
    L = keras.layers
    x = inp = keras.Input((8, 8, 1), batch_size=batch_size, name="image")
    x = L.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="conv2")(x)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu6", name="dw3")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(10, name="fc4")(x)
    return keras.Model(inp, x, name="digits_cnn")


def _conv_bn(keras, x, filters, kernel, name, *, strides=1, padding="same", act="relu6"):
    L = keras.layers
    x = L.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False, name=name)(x)
    x = L.BatchNormalization(name=name + "_bn")(x)
    return L.Activation(act, name=name + "_act")(x) if act else x


def _dw_bn(keras, x, name, *, strides=1, padding="same"):
    L = keras.layers
    x = L.DepthwiseConv2D(3, strides=strides, padding=padding, use_bias=False, name=name)(x)
    x = L.BatchNormalization(name=name + "_bn")(x)
    return L.Activation("relu6", name=name + "_act")(x)


def mobilenet_res(keras, batch_size):
    """MobileNetV2-like on 16x16 digits; see the README in examples/models for the op list."""
    L = keras.layers
    x = inp = keras.Input((16, 16, 1), batch_size=batch_size, name="image")
    x = _conv_bn(keras, x, 16, 3, "stem")  # 16x16x16
    # inverted residual, expand 2, stride 1, residual ADD
    y = _conv_bn(keras, x, 32, 1, "b1_expand")
    y = _dw_bn(keras, y, "b1_dw")
    y = _conv_bn(keras, y, 16, 1, "b1_project", act=None)
    x = L.Add(name="b1_add")([x, y])
    # inverted residual, expand 4, stride 2 via explicit PAD + VALID depthwise (no residual)
    y = _conv_bn(keras, x, 64, 1, "b2_expand")
    # pads of 1 on every side: unlike TF's SAME for stride 2 (0 top/left, 1 bottom/right), so the
    # converter cannot fold the PAD into a SAME depthwise (it does fold ((0, 1), (0, 1))).
    y = L.ZeroPadding2D(((1, 1), (1, 1)), name="b2_pad")(y)  # 18x18
    y = _dw_bn(keras, y, "b2_dw", strides=2, padding="valid")  # 8x8x64
    x = _conv_bn(keras, y, 32, 1, "b2_project", act=None)
    # inverted residual, expand 4, stride 1, residual ADD
    y = _conv_bn(keras, x, 128, 1, "b3_expand")
    y = _dw_bn(keras, y, "b3_dw")
    y = _conv_bn(keras, y, 32, 1, "b3_project", act=None)
    x = L.Add(name="b3_add")([x, y])
    # fused-MBConv-like block: 1x1 expand to 128, then a 3x3 conv with K = 3*3*128 = 1152
    y = _conv_bn(keras, x, 128, 1, "b4_expand")
    y = _conv_bn(keras, y, 32, 3, "b4_conv3x3", act=None)
    x = L.Add(name="b4_add")([x, y])
    x = _conv_bn(keras, x, 64, 1, "head")
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(10, name="fc")(x)
    x = L.Softmax(name="softmax")(x)
    return keras.Model(inp, x, name="mobilenet_res")


def ops_zoo(keras, batch_size):
    """Two branches of different ranges through MAX/AVERAGE pools, CONCATENATION, RESHAPE, FC."""
    L = keras.layers
    x = inp = keras.Input((8, 8, 1), batch_size=batch_size, name="image")
    a = L.Conv2D(8, 3, padding="same", activation="relu6", name="conv_relu6")(x)
    a = L.MaxPooling2D(2, strides=2, padding="valid", name="maxpool")(a)  # 4x4x8
    b = L.Conv2D(8, 3, padding="same", name="conv_n1to1")(x)
    b = L.Lambda(lambda t: keras.ops.clip(t, -1.0, 1.0), name="clip_n1to1")(b)
    b = L.AveragePooling2D(3, strides=2, padding="same", name="avgpool")(b)  # 4x4x8
    x = L.Concatenate(axis=-1, name="concat")([a, b])  # 4x4x16
    x = L.Reshape((16, 16), name="reshape")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(10, name="fc")(x)
    return keras.Model(inp, x, name="ops_zoo")


@dataclass(frozen=True)
class ModelSpec:
    """How one shipped model is made."""

    builder: Callable
    size: int  # input height = width (8, or 16 for the 2x-upsampled digits)
    epochs: int
    softmax: bool  # the Keras model ends in a softmax (loss on probabilities, not logits)
    arch: str  # the network that is trained (models that differ only in conversion share it)
    old_quantizer: bool = False  # TFLiteConverter.experimental_new_quantizer = False


MODELS = {
    "digits_cnn": ModelSpec(digits_cnn, 8, 40, False, "digits_cnn"),
    "mobilenet_res": ModelSpec(mobilenet_res, 16, 30, True, "mobilenet_res"),
    # The default (MLIR) quantizer gives CONCATENATION's inputs and output one scale, propagated
    # back through the pools to both convs. The old quantizer keeps each branch's own scale and
    # inserts int8 -> int8 QUANTIZE (requantize) ops in front of the CONCATENATION instead.
    "ops_zoo": ModelSpec(ops_zoo, 8, 40, False, "ops_zoo"),
    "ops_zoo_requant": ModelSpec(ops_zoo, 8, 40, False, "ops_zoo", old_quantizer=True),
}


# ---- training, conversion, evaluation -----------------------------------------------------
def train(tf, keras, spec: ModelSpec, x_train, y_train, epochs):
    keras.utils.set_random_seed(SEED)
    model = spec.builder(keras, None)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=not spec.softmax),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=0, shuffle=True)
    return model


def convert(tf, keras, spec: ModelSpec, trained, x_calib):
    """Full-integer int8 conversion of a batch-1 copy of ``trained``."""
    batch1 = spec.builder(keras, 1)
    batch1.set_weights(trained.get_weights())

    def representative():
        for img in x_calib:
            yield [img[None].astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(batch1)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    if spec.old_quantizer:
        conv.experimental_new_quantizer = False
    return conv.convert()


def int8_predict(buf: bytes, x: np.ndarray) -> np.ndarray:
    """Run ``buf`` image by image with LiteRT's reference kernels; return int8 outputs."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=buf, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    (ind,), (outd,) = it.get_input_details(), it.get_output_details()
    scale, zp = ind["quantization"]
    q = np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)
    out = []
    for img in q:
        it.set_tensor(ind["index"], img[None])
        it.invoke()
        out.append(it.get_tensor(outd["index"])[0].copy())
    return np.stack(out)


def describe(buf: bytes) -> dict:
    """Op list and input/output quantization of ``buf`` for the manifest."""
    model, ops, type_names = read_ops(buf)
    sg = model.subgraphs[0]

    def tensor(t):
        ten = sg.tensors[t]
        q = ten.quantization
        return {
            "index": int(t),
            "name": ten.name.decode() if isinstance(ten.name, bytes) else ten.name,
            "shape": [int(d) for d in ten.shape],
            "dtype": type_names[ten.type].lower(),
            "scale": float(np.float32(q.scale[0])),
            "zero_point": int(q.zeroPoint[0]),
        }

    return {
        "ops": [op.name for op in ops],
        "input": tensor(sg.inputs[0]),
        "output": tensor(sg.outputs[0]),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "examples" / "models")
    ap.add_argument("--epochs", type=int, default=None, help="override every model's epochs")
    ap.add_argument("--only", choices=sorted(MODELS), action="append", help="models to make")
    args = ap.parse_args(argv)

    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    import ai_edge_litert
    import keras
    import sklearn

    args.out.mkdir(parents=True, exist_ok=True)
    digits = load_digits_split()
    sample = sample_indices(digits)
    np.save(args.out / "digits_test_x.npy", digits.images[sample])
    np.save(args.out / "digits16_test_x.npy", upsample2(digits.images[sample]))
    np.save(args.out / "digits_test_y.npy", digits.labels[sample])
    versions = {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "ai-edge-litert": getattr(ai_edge_litert, "__version__", "?"),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }
    entries, trained = {}, {}
    for name in args.only or list(MODELS):
        spec = MODELS[name]
        epochs = args.epochs or spec.epochs
        images = digits.images if spec.size == 8 else upsample2(digits.images)
        t0 = time.perf_counter()
        if spec.arch not in trained:
            trained[spec.arch] = train(
                tf, keras, spec, images[digits.train], digits.labels[digits.train], epochs
            )
        model = trained[spec.arch]
        float_out = model.predict(images[digits.test], verbose=0)
        float_acc = float(np.mean(np.argmax(float_out, 1) == digits.labels[digits.test]))
        buf = convert(tf, keras, spec, model, images[digits.calib])
        problems = check_full_integer(buf)
        if problems:
            print(f"{name}: not full-integer:\n  " + "\n  ".join(problems), file=sys.stderr)
            return 1
        q_out = int8_predict(buf, images[digits.test])
        int8_acc = float(np.mean(np.argmax(q_out, 1) == digits.labels[digits.test]))
        path = args.out / f"{name}.tflite"
        path.write_bytes(buf)
        print(
            f"{name}: {len(buf)} bytes, float {float_acc:.4f}, int8 (BUILTIN_REF) {int8_acc:.4f}"
            f", {time.perf_counter() - t0:.1f} s"
        )
        print(format_ops(buf))
        entries[path.name] = {
            **describe(buf),
            "framework": "tflite",
            "quantization": "full-integer int8 (TFLiteConverter, TFLITE_BUILTINS_INT8"
            + (", experimental_new_quantizer=False)" if spec.old_quantizer else ")"),
            "epochs": epochs,
            "float_test_accuracy": float_acc,
            "int8_test_accuracy": int8_acc,
            "int8_reference": "LiteRT BUILTIN_REF",
            "test_images": int(len(digits.test)),
            "sample_input": "digits_test_x.npy" if spec.size == 8 else "digits16_test_x.npy",
        }
    update_manifest(
        args.out / "models.json", entries, versions,
        "python scripts/make_tflite_models.py",
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
