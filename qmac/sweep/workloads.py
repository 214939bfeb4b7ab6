"""Named workload layers of ``qmac sweep --workload``: each a random layer of fixed shape."""

from __future__ import annotations

import numpy as np

import golden

__all__ = ["WORKLOADS", "workload_layer"]

#: Named layers for ``--workload``: name -> (op, dims for golden.make_random_layer).
WORKLOADS: dict[str, tuple[str, dict]] = {
    "matmul16": ("matmul", {"m": 16, "k": 16, "n": 16}),
    "matmul64": ("matmul", {"m": 64, "k": 64, "n": 64}),
    "matmul256": ("matmul", {"m": 256, "k": 256, "n": 256}),
    "fc-256x128": ("fully_connected", {"batch": 8, "in_features": 256, "out_features": 128}),
    "conv3x3-8x8x16": (
        "conv2d",
        {"h": 8, "w": 8, "cin": 16, "cout": 16, "kernel": 3, "padding": "SAME"},
    ),
    "conv3x3-28x28x64": (
        "conv2d",
        {"h": 28, "w": 28, "cin": 64, "cout": 64, "kernel": 3, "padding": "SAME"},
    ),
    "dw3x3-28x28x32": (
        "depthwise_conv2d",
        {"h": 28, "w": 28, "cin": 32, "kernel": 3, "padding": "SAME"},
    ),
}


def workload_layer(name: str, config, seed: int) -> golden.Layer:
    """Workload ``name`` as a random layer of the config's widths (``golden.make_random_layer``).

    Raises
    ------
    ValueError
        If ``name`` is not a key of :data:`WORKLOADS`.
    """
    if name not in WORKLOADS:
        raise ValueError(f"workload must be one of {', '.join(WORKLOADS)}, not {name!r}")
    op, dims = WORKLOADS[name]
    return golden.make_random_layer(
        op,
        rng=np.random.default_rng(seed),
        a_bits=config.a_bits,
        w_bits=config.w_bits,
        out_bits=config.out_bits,
        acc_bits=config.acc_bits,
        **dims,
    )
