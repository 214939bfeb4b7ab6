"""Networks for the array: the network record and its backends, the digits example CNN, its
post-training quantization, training and evaluation.

A :class:`~qmac.model.network.Network` is an ordered graph of array ops and host ops over named
quantized tensors; :func:`~qmac.model.run.run_network` runs it on the ``golden`` backend (NumPy)
or the ``rtl`` backend (array ops on the simulated Verilog, each checked against golden);
:func:`~qmac.model.tflite_import.load_tflite` reads a full-integer int8 ``.tflite`` model as one.
``qmac.model`` imports ``golden`` (and ``sim`` only for the RTL backend); the command line and the
sweep build on it.
"""

from qmac.model.network import ArrayOp, HostOp, Network, TensorSpec
from qmac.model.run import (
    BACKENDS,
    NetworkMismatch,
    NetworkRun,
    OpStats,
    check_fits,
    run_network,
)
from qmac.model.tflite_import import SUPPORTED_OPS, TfliteError, load_tflite

__all__ = [
    "ArrayOp",
    "HostOp",
    "Network",
    "TensorSpec",
    "BACKENDS",
    "NetworkMismatch",
    "NetworkRun",
    "OpStats",
    "run_network",
    "check_fits",
    "load_tflite",
    "SUPPORTED_OPS",
    "TfliteError",
]
