"""SOFTMAX int8 against LiteRT: bit-exact with the reference kernel; a model of the optimized one.

LiteRT's BUILTIN_REF runs ``reference_ops::Softmax`` (gemmlowp fixed point): golden.hostops.softmax
is bit-exact with it. BUILTIN_WITHOUT_DEFAULT_DELEGATES runs ``optimized_ops::Softmax`` with a
float32 table of ``expf`` (x86; aarch64 clang builds use a uint16 table), and the default
interpreter runs that same kernel (XNNPACK does not take int8 SOFTMAX: 0 of 191 cases
delegated); golden.hostops.softmax_lut models it and matched it on every output measured.
Measured with ``scripts/hostops_litert_agreement.py --trials 20`` (ai-edge-litert 2.3.0,
x86-64): 833,664 outputs over 191 cases, softmax vs BUILTIN_REF 0 mismatches, softmax vs the
optimized kernel and the default interpreter 3 mismatches (by 1), the three rows of
``SOFTMAX_REF_VS_OPT``; softmax_lut vs both 0 mismatches. On 200,000 random rows of 2..11 logits
(input scales 0.01..0.5, seed 7) 17 of 1,311,500 outputs (1.3e-5) of the reference model differ
from the optimized kernel, each by 1: the fixed-point exp and reciprocal and the float32 ones
land on opposite sides of a rounding boundary; softmax_lut matched all 1,311,500.

The reference kernel aborts (``TFLITE_CHECK``) when a row's sum of exponentials reaches 512,
e.g. 512 equal logits; golden raises ValueError there (the abort is checked in a subprocess).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import golden.hostops as H
from tests.golden.hostops import agreement, cases
from tests.golden.hostops.cases import SOFTMAX_OUT, Case

CASES = cases.softmax_cases()


def _lut_case(c: Case) -> Case:
    qi = H.TensorQuant(c.inputs[0].scale, c.inputs[0].zero_point)
    y = H.softmax_lut(c.feeds[0], qi, SOFTMAX_OUT, c.options["beta"])
    return Case(c.name, c.op, c.inputs, c.output, c.feeds, y, c.options)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_softmax_equals_litert_reference(case):
    agreement.assert_exact(case, "ref")


@pytest.mark.parametrize("resolver", ["opt", "xnnpack"])
def test_softmax_lut_equals_optimized_kernel(resolver):
    agreement.assert_within([_lut_case(c) for c in CASES], resolver, 0)


@pytest.mark.parametrize("resolver", ["opt", "xnnpack"])
def test_softmax_reference_within_one_of_optimized(resolver):
    a = agreement.assert_within(CASES, resolver, 1)
    assert a.mismatches == len(cases.SOFTMAX_REF_VS_OPT)


def test_softmax_known_values():
    p = H.softmax_params(H.TensorQuant(0.1, 0), SOFTMAX_OUT)
    assert H.softmax(np.zeros((1, 4), dtype=np.int64), p).tolist() == [[-64] * 4]  # 64/256
    assert H.softmax(np.array([[5]]), p).tolist() == [[127]]  # 256/256 saturates
    x = np.array([[-128, 127, -128]])  # 25.5 below the max is e^-25.5: below one LSB
    assert H.softmax(x, p).tolist() == [[-128, 127, -128]]


def test_softmax_params_large_input_scale_has_shift_31():
    # beta * s_in * 2^26 = 2^30 would saturate golden's array multiplier at shift 30;
    # TFLite keeps (2^31 - 1, 31) after the cap, and diff_min = 0.
    p = H.softmax_params(H.TensorQuant(64.0, 0), SOFTMAX_OUT)
    assert (p.input_multiplier, p.input_left_shift, p.diff_min) == ((1 << 31) - 1, 31, 0)


def test_softmax_sum_of_512_raises_and_litert_reference_aborts():
    p = H.softmax_params(H.TensorQuant(0.1, 0), SOFTMAX_OUT)
    assert H.softmax(np.zeros((1, 511), dtype=np.int64), p).shape == (1, 511)
    with pytest.raises(ValueError, match=r"^x has 1 row\(s\) whose sum of exponentials reaches"):
        H.softmax(np.zeros((1, 512), dtype=np.int64), p)
    script = textwrap.dedent("""
        import numpy as np
        from tests.golden.hostops.litert_one_op import Tensor, run_one
        run_one("SOFTMAX", [Tensor((1, 512), "int8", 0.1, 0)], Tensor((1, 512), "int8",
                1 / 256, -128), [np.zeros((1, 512))], {"beta": 1.0})
        print("survived")
    """)
    root = Path(__file__).resolve().parents[3]  # the repository, for `tests.` imports
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=root)
    assert done.returncode == -signal.SIGABRT, (done.returncode, done.stdout + done.stderr)


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (lambda p: H.softmax(np.zeros((2, 3)), p), TypeError,
         r"^x must have an integer dtype, not float64$"),
        (lambda p: H.softmax(np.zeros((2, 0), int), p), ValueError,
         r"^x must be at least 1-D with a non-empty last axis, not \(2, 0\)$"),
        (lambda p: H.softmax_params(H.TensorQuant(0.1, 0), H.TensorQuant(1 / 256, 0)), ValueError,
         r"^int8 SOFTMAX output must have zero point -128 and scale 1/256"),
        (lambda p: H.softmax_params(H.TensorQuant(0.1, 0), H.TensorQuant(1 / 128, -128)),
         ValueError, r"^int8 SOFTMAX output must have zero point -128 and scale 1/256"),
        (lambda p: H.softmax_params(H.TensorQuant(0.1, 0), SOFTMAX_OUT, 0.0), ValueError,
         r"^beta must be finite and > 0, not 0.0$"),
        (lambda p: H.softmax_params(H.TensorQuant(1e-9, 0), SOFTMAX_OUT), ValueError,
         r"^beta \* input scale \* 2\^26 must be finite and > 1"),
        (lambda p: H.softmax(np.zeros((1, 2), int), None), TypeError,
         r"^params must be SoftmaxParams, not NoneType$"),
    ],
)
def test_softmax_bad_input(call, exc, pattern):
    p = H.softmax_params(H.TensorQuant(0.1, 0), SOFTMAX_OUT)
    with pytest.raises(exc, match=pattern):
        call(p)
