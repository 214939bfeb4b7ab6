"""CONCATENATION against LiteRT, bit-exact with every kernel set.

TFLite's int8 CONCATENATION only copies: its Prepare refuses int8 inputs whose scale or zero point
differ from the output's (tested below). The kernel that requantizes is the uint8 one, in
float32; golden requantizes int8 inputs with that arithmetic on the values shifted by 128, and the
tests check it on uint8 models. Measured with ``scripts/hostops_litert_agreement.py --trials 20``
(ai-edge-litert 2.3.0, x86-64): 15,353 outputs over 329 cases (int8 copies, uint8 requantizing
with random scales and with scale ratios 1/4, 1/2 and 2 that put values on exact halves):
0 mismatches with BUILTIN_REF, the optimized kernels and XNNPACK (which takes the int8 cases and
leaves the uint8 ones to the optimized kernel, whose float arithmetic is the reference's).
"""

from __future__ import annotations

import numpy as np
import pytest

import golden.hostops as H
from tests.golden.hostops import agreement, cases
from tests.golden.hostops.litert_one_op import Tensor, build_model, run

CASES = cases.concat_cases()
Q = H.TensorQuant(0.1, 0)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_concatenation_equals_litert_reference(case):
    agreement.assert_exact(case, "ref")


@pytest.mark.parametrize("resolver", ["opt", "xnnpack"])
def test_concatenation_other_kernels_are_exact(resolver):
    agreement.assert_within(CASES, resolver, 0)


def test_litert_int8_refuses_differing_quantization_and_so_does_strict():
    other = H.TensorQuant(0.2, 0)
    model = build_model("CONCATENATION", [Tensor((1, 2), "int8", 0.1, 0),
                                          Tensor((1, 2), "int8", 0.2, 0)],
                        [Tensor((1, 4), "int8", 0.1, 0)], {"axis": 1})
    with pytest.raises(RuntimeError, match="params.scale != output->params.scale"):
        run(model, [np.zeros((1, 2)), np.zeros((1, 2))])
    with pytest.raises(ValueError, match=r"^inputs\[1\] quantization .* TFLite's int8"):
        H.concatenation_params([Q, other], Q, 1, strict=True)


def test_equal_quantization_is_a_copy():
    xs = [np.array([[-128, 127]]), np.array([[5]])]
    y = H.concatenate(xs, H.concatenation_params([Q, Q], Q, -1))
    assert y.tolist() == [[-128, 127, 5]]


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (lambda p: H.concatenate([np.zeros((2, 2), int)], p), ValueError,
         r"^xs holds 1 arrays but params has 2 inputs$"),
        (lambda p: H.concatenate([np.zeros((2, 2), int), np.zeros((3, 2), int)], p), ValueError,
         r"^xs\[1\] shape \(3, 2\) does not match xs\[0\] shape \(2, 2\) outside axis 1$"),
        (lambda p: H.concatenate([np.zeros(2, int), np.zeros(2, int)], p), ValueError,
         r"^axis 1 is out of range for 1-D inputs$"),
        (lambda p: H.concatenate([np.zeros((1, 2)), np.zeros((1, 2), int)], p), TypeError,
         r"^xs\[0\] must have an integer dtype, not float64$"),
        (lambda p: H.concatenation_params([Q, Q], Q, 1, "RELU"), ValueError,
         r"^CONCATENATION takes no fused activation, not 'RELU'$"),
        (lambda p: H.concatenation_params(Q, Q, 1), TypeError,
         r"^inputs must be a sequence of TensorQuant, not TensorQuant$"),
        (lambda p: H.concatenation_params([], Q, 1), ValueError,
         r"^inputs must hold at least one TensorQuant$"),
    ],
)
def test_concatenation_bad_input(call, exc, pattern):
    p = H.concatenation_params([Q, Q], Q, 1)
    with pytest.raises(exc, match=pattern):
        call(p)
