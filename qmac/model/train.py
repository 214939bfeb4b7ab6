"""Training of the digits CNN in pure NumPy: im2col forward and backward, cross-entropy, Adam.

``scripts/train_digits_cnn.py`` runs :func:`train` and writes the shipped weights; the forward pass
is :func:`qmac.model.digits.layer_float` (golden's float layers), the backward pass the adjoints
below. Fixed seeds; well under 2 minutes on one core.
"""

from __future__ import annotations

import numpy as np

import golden
from qmac.model.digits import (
    ARCH,
    FloatCNN,
    float_forward,
    layer_float,
    load_digits_images,
    make_split,
)

__all__ = [
    "im2col_same",
    "col2im_same",
    "softmax_cross_entropy",
    "layer_backward",
    "Adam",
    "cosine_lr",
    "forward_backward",
    "init_params",
    "train",
]


def im2col_same(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Patches of a SAME convolution (``golden.im2col``): (N, OH, OW, kernel*kernel*C)."""
    return golden.im2col(x, kernel, kernel, stride=stride, padding="SAME")


def col2im_same(dcols: np.ndarray, x_shape: tuple, kernel: int, stride: int) -> np.ndarray:
    """Adjoint of :func:`im2col_same`: scatter-add column gradients back to NHWC."""
    n, h, w, c = x_shape
    oh, ow = golden.conv_output_size((h, w), (kernel, kernel), stride=stride, padding="SAME")
    pt, pl, pb, pr = golden.resolve_padding("SAME", (h, w), (kernel, kernel), stride)
    dxp = np.zeros((n, h + pt + pb, w + pl + pr, c))
    d = dcols.reshape(n, oh, ow, kernel, kernel, c)
    for i in range(kernel):
        for j in range(kernel):
            dxp[
                :, i : i + stride * (oh - 1) + 1 : stride, j : j + stride * (ow - 1) + 1 : stride, :
            ] += d[:, :, :, i, j, :]
    return dxp[:, pt : pt + h, pl : pl + w, :]


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``logits`` (N, 10) for labels ``y`` (N,) and its gradient (N, 10)."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -float(np.mean(np.log(p[np.arange(n), y] + 1e-12)))
    p[np.arange(n), y] -= 1.0
    return loss, p / n


def layer_backward(
    spec, xin: np.ndarray, w: np.ndarray, dz: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of one layer's pre-activation output ``z = layer_float(spec, xin, w, b)``.

    Parameters
    ----------
    spec : LayerSpec
    xin : the layer's input (NHWC, or (N, ...) for fc); w : (``spec.w_shape``)
    dz : dLoss/dz, shaped like z

    Returns
    -------
    dw, db, dx : shaped like ``w``, (cout,), ``xin``
    """
    n = len(xin)
    db = dz.reshape(-1, spec.cout).sum(axis=0)
    if spec.op == "fully_connected":
        dw = dz.T @ xin.reshape(n, -1)
        dx = (dz @ w).reshape(xin.shape)
    elif spec.op == "conv2d":
        cols = im2col_same(xin, spec.kernel, spec.stride)
        dzf = dz.reshape(-1, spec.cout)
        dw = (dzf.T @ cols.reshape(len(dzf), -1)).reshape(w.shape)
        dcols = dzf @ w.reshape(spec.cout, -1)
        dx = col2im_same(dcols, xin.shape, spec.kernel, spec.stride)
    else:  # depthwise
        kk = spec.kernel * spec.kernel
        cols = im2col_same(xin, spec.kernel, spec.stride).reshape(*dz.shape[:3], kk, spec.cin)
        dw = np.einsum("nhwkc,nhwc->kc", cols, dz).reshape(w.shape)
        dcols = np.einsum("nhwc,kc->nhwkc", dz, w.reshape(kk, spec.cout))
        dx = col2im_same(dcols.reshape(*dz.shape[:3], -1), xin.shape, spec.kernel, spec.stride)
    return dw, db, dx


class Adam:
    """Adam (Kingma & Ba 2015) over a dict of float64 arrays, updated in place."""

    def __init__(self, params: dict, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.b1, self.b2, self.eps, self.t = b1, b2, eps, 0

    def step(self, params: dict, grads: dict, lr: float) -> None:
        self.t += 1
        b1, b2, t = self.b1, self.b2, self.t
        for k in params:
            self.m[k] = b1 * self.m[k] + (1 - b1) * grads[k]
            self.v[k] = b2 * self.v[k] + (1 - b2) * grads[k] ** 2
            m_hat, v_hat = self.m[k] / (1 - b1**t), self.v[k] / (1 - b2**t)
            params[k] -= lr * m_hat / (np.sqrt(v_hat) + self.eps)


def cosine_lr(lr: float, epoch: int, epochs: int) -> float:
    """Cosine decay from ``lr`` at epoch 0 towards 0 at ``epochs``."""
    return lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))


def forward_backward(params: dict, x: np.ndarray, y: np.ndarray, weight_decay: float):
    """Loss and gradients of the mean cross-entropy (+ L2 on weights) for a batch.

    Parameters
    ----------
    params : dict
        ``<layer>_w`` (``spec.w_shape``) and ``<layer>_b`` (cout,) float64 arrays of ``ARCH``.
    x : (N, 8, 8, 1) float array; y : (N,) int array of labels.
    weight_decay : float
        L2 coefficient on the weights.

    Returns
    -------
    (loss, grads) : float and a dict shaped like ``params``
    """
    acts, pre = [x], []
    for spec in ARCH:
        z = layer_float(spec, acts[-1], params[spec.name + "_w"], params[spec.name + "_b"])
        pre.append(z)
        acts.append(np.maximum(z, 0.0) if spec.relu else z)
    loss, dz = softmax_cross_entropy(acts[-1], y)
    grads = {}
    for li in range(len(ARCH) - 1, -1, -1):
        spec, w = ARCH[li], params[ARCH[li].name + "_w"]
        if spec.relu:
            dz = dz * (pre[li] > 0)
        dw, db, dx = layer_backward(spec, acts[li], w, dz)
        grads[spec.name + "_w"] = dw + weight_decay * w
        grads[spec.name + "_b"] = db
        loss += 0.5 * weight_decay * float(np.sum(w * w))
        dz = dx
    return loss, grads


def init_params(rng: np.random.Generator) -> dict:
    """He-normal weights and zero biases for ``ARCH``."""
    params = {}
    for spec in ARCH:
        fan_in = int(np.prod(spec.w_shape)) // spec.cout
        params[spec.name + "_w"] = rng.normal(0.0, np.sqrt(2.0 / fan_in), spec.w_shape)
        params[spec.name + "_b"] = np.zeros(spec.cout)
    return params


def train(epochs: int, seed: int, batch: int = 32, lr: float = 3e-3, weight_decay: float = 1e-4):
    """Adam with cosine decay on the train split; prints the calibration accuracy every 10 epochs.

    Returns
    -------
    params, (train, calib, test) index arrays, images, labels
    """
    images, labels = load_digits_images()
    tr, ca, te = make_split(labels, seed=0)
    rng = np.random.default_rng(seed)
    params = init_params(rng)
    adam = Adam(params)
    for epoch in range(epochs):
        order = rng.permutation(tr)
        step_lr = cosine_lr(lr, epoch, epochs)
        total = 0.0
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            loss, grads = forward_backward(params, images[idx], labels[idx], weight_decay)
            total += loss * len(idx)
            adam.step(params, grads, step_lr)
        if epoch % 10 == 9 or epoch == epochs - 1:
            model = FloatCNN.from_arrays({k: p.astype(np.float32) for k, p in params.items()})
            acc = np.mean(np.argmax(float_forward(model, images[ca]), axis=1) == labels[ca])
            print(f"epoch {epoch + 1:3d}  loss {total / len(tr):.4f}  calib acc {acc:.4f}")
    return params, (tr, ca, te), images, labels
