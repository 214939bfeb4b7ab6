"""The shipped QAT networks on the RTL of their width (Verilator): every array op bit-exact with
golden. A few images by default; the whole test split under ``slow``."""

from __future__ import annotations

import numpy as np
import pytest

from hw.config import ArrayConfig, preset
from qmac.model import digits, qat_shipped
from qmac.model.run import run_network

#: a 2-bit array: 2-bit operands and outputs, a 16-bit accumulator, a 16-bit multiplier
INT2_4X4 = ArrayConfig(rows=4, cols=4, a_bits=2, w_bits=2, acc_bits=16, mult_bits=16, out_bits=2)
CONFIGS = {"int4-4x4": preset("int4-4x4"), "int2-4x4": INT2_4X4}


def _run(name: str, n: int | None):
    config = CONFIGS[name]
    qnet = qat_shipped.qat_digits_cnn(config.a_bits)
    assert qnet.acc_bits_needed() <= config.acc_bits  # the array can hold every accumulator
    data = digits.load_digits_data()
    idx = data.test if n is None else data.test[:n]
    x = qnet.quantize_input(data.images[idx])
    run = run_network(qnet.to_network(), x, backend="rtl", config=config, keep_tensors=True)
    want = qnet.forward(x, rounding=config.rounding, mult_bits=config.mult_bits, all_layers=True)
    assert run.mismatches == 0
    for ql, w in zip(qnet.layers, want, strict=True):
        assert np.array_equal(run.tensors[ql.spec.name], w), ql.spec.name
    return run


@pytest.mark.parametrize("name", list(CONFIGS))
def test_qat_network_bit_exact_on_its_array(name):
    run = _run(name, 3)
    assert all(s.cycles > 0 for s in run.stats)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CONFIGS))
def test_qat_network_bit_exact_on_its_array_whole_test_split(name):
    _run(name, None)
