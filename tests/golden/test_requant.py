"""golden.requantize against a scalar Python-int transcription of TFLite/gemmlowp (tflite_ref)."""

from __future__ import annotations

import contextlib
import itertools
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import golden
from tests.golden import tflite_ref as ref

WIDE = 1 << 62  # a clamp that never binds: compare the raw scaled values


def _ref_array(
    acc, m0, shift, *, y_zp=0, act_min=-WIDE, act_max=WIDE, rounding="tflite", mult_bits=32
):
    acc = np.asarray(acc, dtype=object)
    m0 = np.broadcast_to(np.asarray(m0, dtype=object), acc.shape[-1:] if acc.ndim else ())
    shift = np.broadcast_to(np.asarray(shift, dtype=object), m0.shape)
    out = np.empty(acc.shape, dtype=np.int64)
    for idx in np.ndindex(acc.shape):
        c = idx[-1] if acc.ndim else ()
        out[idx] = ref.requantize(
            int(acc[idx]),
            int(m0[c]),
            int(shift[c]),
            y_zp=y_zp,
            act_min=act_min,
            act_max=act_max,
            rounding=rounding,
            mult_bits=mult_bits,
        )
    return out


def _ours(acc, m0, shift, **kw):
    kw.setdefault("act_min", -WIDE)
    kw.setdefault("act_max", WIDE)
    return golden.requantize(
        np.asarray(acc, dtype=np.int64), np.asarray(m0), np.asarray(shift), **kw
    )


@contextlib.contextmanager
def int64_path_only():
    """Disable the Python-int path so that a test proves it ran on the int64 path."""
    from golden import requant

    def refuse(*args, **kwargs):
        raise AssertionError("the exact object path ran where the int64 path should")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(requant, "_mbqm_exact", refuse)
        yield


# ---- hand-worked values (from the formulas, not from the implementation) --------------------
@pytest.mark.parametrize(
    ("acc", "m0", "shift", "tflite", "single", "halfup"),
    [
        (100, 1 << 30, 0, 50, 50, 50),  # 100 * 0.5
        (3, 1 << 30, 0, 2, 2, 2),  # 1.5: ties up in the high multiply / single rounding
        (-3, 1 << 30, 0, -1, -1, -1),  # -1.5: ties up (toward +inf) in all three
        (2, 1 << 30, -1, 1, 1, 1),  # 0.5: RoundingDivideByPOT ties away from zero; halfup up
        (-2, 1 << 30, -1, -1, 0, 0),  # -0.5: away from zero (tflite) vs up (single, halfup)
        (1, 1 << 30, -1, 1, 0, 1),  # 0.25: the high multiply rounds 0.5 up to 1, then 0.5 -> 1
        (-1, 1 << 30, -1, 0, 0, 0),  # -0.25: the high multiply rounds -0.5 up to 0
        (-6, 1 << 30, -1, -2, -1, -1),  # -1.5 after the exact high multiply -3: a negative tie
        (-10, 1 << 30, -2, -1, -1, -1),  # -10 * 0.5 / 4 = -1.25: no tie
        (5, 1 << 30, 1, 5, 5, 5),  # left shift: 5 * 0.5 * 2
    ],
)
def test_hand_worked_values(acc, m0, shift, tflite, single, halfup):
    with int64_path_only():
        assert int(_ours([acc], m0, shift)[0]) == tflite
        assert int(_ours([acc], m0, shift, rounding="single")[0]) == single
        assert int(_ours([acc], m0, shift, rounding="halfup")[0]) == halfup


# ---- edge values against the reference ------------------------------------------------------
EDGE_ACC = sorted(
    {
        0,
        1,
        -1,
        2,
        -2,
        3,
        -3,
        7,
        -7,
        (1 << 31) - 1,
        -(1 << 31),
        (1 << 31) - 2,
        -(1 << 31) + 1,
        1 << 30,
        -(1 << 30),
        12345,
        -12345,
    }
    | set(range(-40, 41))
)
EDGE_ACC_WIDE = [(1 << 47) - 1, -(1 << 47), (1 << 40) + 3, -(1 << 40) - 3]
EDGE_M0 = [0, 1, 1 << 30, (1 << 30) + 1, (1 << 31) - 1, 1518500250]
EDGE_SHIFT = [0, -1, -2, -15, -30, -31, 1, 5, 16, 30]


@pytest.mark.parametrize("accs", [EDGE_ACC, EDGE_ACC + EDGE_ACC_WIDE], ids=["int32", "wide"])
@pytest.mark.parametrize("rounding", golden.ROUNDINGS)
def test_edge_values_match_reference(rounding, accs):
    """Ties, shift 0 / -31 / 30, m0 at 2^30 and 2^31 - 1, int32 extremes; int64 and wide paths."""
    acc = np.array(accs, dtype=np.int64)
    for m0, shift in itertools.product(EDGE_M0, EDGE_SHIFT):
        np.testing.assert_array_equal(
            _ours(acc, m0, shift, rounding=rounding),
            _ref_array(acc[:, None], m0, shift, rounding=rounding)[:, 0],
            err_msg=f"m0={m0} shift={shift}",
        )


@pytest.mark.parametrize("mult_bits", range(8, 33))
@pytest.mark.parametrize("rounding", golden.ROUNDINGS)
def test_every_mult_bits_matches_reference(mult_bits, rounding):
    rng = np.random.default_rng(mult_bits)
    real = np.exp(rng.uniform(np.log(1e-6), np.log(4.0), size=8))
    m0, shift = golden.quantize_multiplier(real, mult_bits)
    assert m0.max() < 1 << (mult_bits - 1)
    acc = np.concatenate(
        [
            rng.integers(-(1 << 31), 1 << 31, size=(40, 8)),
            np.array([EDGE_ACC[:8]]).T * np.ones(8, int),
        ]
    )
    np.testing.assert_array_equal(
        _ours(acc, m0, shift, rounding=rounding, mult_bits=mult_bits),
        _ref_array(acc, m0, shift, rounding=rounding, mult_bits=mult_bits),
    )


@pytest.mark.parametrize("rounding", golden.ROUNDINGS)
def test_wide_accumulators_are_exact(rounding):
    """acc_bits = 48 times a Q31 m0 times a left shift overflows int64: still exact."""
    rng = np.random.default_rng(7)
    acc = rng.integers(-(1 << 47), 1 << 47, size=(50, 6))
    m0 = rng.integers(1 << 30, 1 << 31, size=6)
    shift = np.array([30, 12, 0, -5, -20, -31])
    np.testing.assert_array_equal(
        _ours(acc, m0, shift, rounding=rounding), _ref_array(acc, m0, shift, rounding=rounding)
    )


@pytest.mark.parametrize("rounding", golden.ROUNDINGS)
def test_tie_grid_every_shift(rounding):
    """Every shift from -31 to 30 on small accumulators, with multipliers that make ties."""
    acc = np.arange(-300, 301, dtype=np.int64)
    for m0 in (1 << 30, 3 << 29, (1 << 31) - 1):
        for shift in range(-31, 31):
            np.testing.assert_array_equal(
                _ours(acc, m0, shift, rounding=rounding),
                _ref_array(acc[:, None], m0, shift, rounding=rounding)[:, 0],
                err_msg=f"m0={m0} shift={shift}",
            )


def _second_step_is_negative_tie(acc: int, m0: int, shift: int) -> bool:
    high = ref.saturating_rounding_doubling_high_mul(acc * 2 ** max(shift, 0), m0)
    r = max(-shift, 0)
    return r > 0 and high < 0 and high % 2**r == 2 ** (r - 1)


def test_halfup_and_tflite_differ_exactly_on_negative_ties():
    """halfup = tflite except where y / 2^r is a negative tie, where halfup is 1 higher."""
    acc = np.arange(-300, 301, dtype=np.int64)
    ties = 0
    for m0 in (1 << 30, 3 << 29):
        for shift in (-1, -2, -5, -31, 0, 3):
            tfl = _ours(acc, m0, shift).tolist()
            hu = _ours(acc, m0, shift, rounding="halfup").tolist()
            for a, t, h in zip(acc.tolist(), tfl, hu, strict=True):
                tie = _second_step_is_negative_tie(a, m0, shift)
                ties += tie
                assert h == t + tie, f"acc={a} m0={m0} shift={shift}"
    assert ties > 100  # the grid really holds negative ties


@settings(max_examples=300, deadline=None)
@given(
    acc=st.integers(-(1 << 31), (1 << 31) - 1),
    m0=st.integers(0, (1 << 31) - 1),
    shift=st.integers(-31, 30),
)
def test_property_halfup_vs_tflite(acc, m0, shift):
    tfl = int(_ours([acc], m0, shift)[0])
    hu = int(_ours([acc], m0, shift, rounding="halfup")[0])
    assert hu == tfl + _second_step_is_negative_tie(acc, m0, shift)


def test_zero_point_and_clamp():
    acc = np.arange(-1000, 1000, 7).reshape(-1, 2)
    m0, shift = golden.quantize_multiplier([0.1, 0.37])
    out = golden.requantize(acc, m0, shift, y_zp=-5, act_min=-20, act_max=60)
    np.testing.assert_array_equal(out, _ref_array(acc, m0, shift, y_zp=-5, act_min=-20, act_max=60))
    assert out.min() == -20 and out.max() == 60


# ---- properties (hypothesis) -----------------------------------------------------------------
params = st.tuples(st.integers(0, (1 << 31) - 1), st.integers(-31, 30))


@settings(max_examples=300, deadline=None)
@given(
    accs=st.lists(st.integers(-(1 << 31), (1 << 31) - 1), min_size=1, max_size=8),
    # shift <= 29: reducing m0 may carry into shift + 1 (saturation at 30: test_multiplier)
    p=st.tuples(st.integers(0, (1 << 31) - 1), st.integers(-31, 29)),
    rounding=st.sampled_from(golden.ROUNDINGS),
    mult_bits=st.integers(8, 32),
    y_zp=st.integers(-128, 127),
)
def test_property_int32(accs, p, rounding, mult_bits, y_zp):
    m0, shift = golden.reduce_multiplier(p[0], p[1], mult_bits)
    ours = golden.requantize(
        np.array(accs), m0, shift, y_zp=y_zp, rounding=rounding, mult_bits=mult_bits
    )
    m0_r, shift_r = ref.reduce_multiplier(p[0], p[1], mult_bits)
    expect = [
        ref.requantize(
            a,
            m0_r,
            shift_r,
            y_zp=y_zp,
            act_min=-128,
            act_max=127,
            rounding=rounding,
            mult_bits=mult_bits,
        )
        for a in accs
    ]
    assert ours.tolist() == expect


@settings(max_examples=300, deadline=None)
@given(
    acc=st.lists(st.integers(-(1 << 31), (1 << 31) - 1), min_size=3, max_size=3),
    m0=st.lists(st.integers(0, (1 << 31) - 1), min_size=3, max_size=3),
    shift=st.lists(st.integers(-31, 0), min_size=3, max_size=3),
    rounding=st.sampled_from(golden.ROUNDINGS),
)
def test_property_int64_fast_path(acc, m0, shift, rounding):
    """int32 accumulators, right shifts: the in-place int64 path (object path disabled)."""
    acc = np.array([acc, acc[::-1]])
    with int64_path_only():
        ours = _ours(acc, m0, shift, rounding=rounding)
    np.testing.assert_array_equal(ours, _ref_array(acc, m0, shift, rounding=rounding))


@settings(max_examples=300, deadline=None)
@given(
    acc=st.lists(st.integers(-(1 << 62) + 1, (1 << 62) - 1), min_size=3, max_size=3),
    m0=st.lists(st.integers(0, (1 << 31) - 1), min_size=3, max_size=3),
    shift=st.lists(st.integers(-31, 0), min_size=3, max_size=3),
    rounding=st.sampled_from(golden.ROUNDINGS),
)
def test_property_wide_limb_path(acc, m0, shift, rounding):
    """Wide accumulators with right shifts: the int64 two-limb path (object path disabled)."""
    acc = np.array([acc, acc[::-1], [1 << 47, -(1 << 47), (1 << 62) - 1]])
    with int64_path_only():
        ours = _ours(acc, m0, shift, rounding=rounding)
    np.testing.assert_array_equal(ours, _ref_array(acc, m0, shift, rounding=rounding))


@settings(max_examples=200, deadline=None)
@given(
    accs=st.lists(st.integers(-(1 << 47), (1 << 47) - 1), min_size=1, max_size=8),
    p=params,
    rounding=st.sampled_from(golden.ROUNDINGS),
)
def test_property_wide(accs, p, rounding):
    ours = golden.requantize(
        np.array(accs), p[0], p[1], act_min=-WIDE, act_max=WIDE, rounding=rounding
    )
    expect = [
        ref.requantize(
            a, p[0], p[1], y_zp=0, act_min=-WIDE, act_max=WIDE, rounding=rounding, mult_bits=32
        )
        for a in accs
    ]
    assert ours.tolist() == expect


@settings(max_examples=100, deadline=None)
@given(data=st.data(), channels=st.integers(1, 5), rounding=st.sampled_from(golden.ROUNDINGS))
def test_property_per_channel_broadcast(data, channels, rounding):
    m0 = data.draw(st.lists(st.integers(0, (1 << 31) - 1), min_size=channels, max_size=channels))
    shift = data.draw(st.lists(st.integers(-31, 30), min_size=channels, max_size=channels))
    rows = data.draw(st.integers(1, 4))
    acc = data.draw(
        st.lists(
            st.integers(-(1 << 31), (1 << 31) - 1),
            min_size=rows * channels,
            max_size=rows * channels,
        )
    )
    acc = np.array(acc).reshape(rows, channels)
    np.testing.assert_array_equal(
        _ours(acc, m0, shift, rounding=rounding), _ref_array(acc, m0, shift, rounding=rounding)
    )


# ---- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        (dict(acc=np.array([1.5])), TypeError, r"^acc must have an integer dtype, not float64$"),
        (
            dict(m0=1 << 31),
            ValueError,
            r"^m0 must be in \[0, 2\^31\) for mult_bits=32, not 2147483648$",
        ),
        (dict(m0=-1), ValueError, r"^m0 must be in \[0, 2\^31\) for mult_bits=32, not -1$"),
        (
            dict(m0=200, mult_bits=8),
            ValueError,
            r"^m0 must be in \[0, 2\^7\) for mult_bits=8, not 200$",
        ),
        (dict(shift=31), ValueError, r"^shift must be in \[-31, 30\], not 31$"),
        (dict(shift=-32), ValueError, r"^shift must be in \[-31, 30\], not -32$"),
        (
            dict(rounding="even"),
            ValueError,
            r"^rounding must be one of tflite, single, halfup, not 'even'$",
        ),
        (dict(mult_bits=7), ValueError, r"^mult_bits must be in \[8, 32\], not 7$"),
        (dict(act_min=5, act_max=4), ValueError, r"^act_min must be <= act_max"),
        (
            dict(m0=np.array([1, 2, 3])),
            ValueError,
            r"^m0 has 3 channels but the last axis of acc has 2",
        ),
        (dict(acc=np.array([[1 << 62, 0]])), ValueError, r"^acc must satisfy \|acc\| < 2\^62"),
    ],
)
def test_bad_input(kwargs, exc, pattern):
    args = dict(acc=np.array([[1, 2]]), m0=1 << 30, shift=0)
    args.update(kwargs)
    acc, m0, shift = args.pop("acc"), args.pop("m0"), args.pop("shift")
    with pytest.raises(exc, match=pattern):
        golden.requantize(acc, m0, shift, **args)


def test_error_names_parameter_in_message():
    with pytest.raises(TypeError, match=re.escape("acc must be an integer ndarray, not list")):
        golden.requantize([1, 2], 1 << 30, 0)
