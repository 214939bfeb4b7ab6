"""golden.Layer, make_random_layer and the .npz layer files."""

from __future__ import annotations

import numpy as np
import pytest

import golden
from tests.golden.test_layers import direct_conv

DIMS = {
    "matmul": dict(m=9, k=20, n=7),
    "fully_connected": dict(batch=3, in_features=50, out_features=6),
    "conv2d": dict(batch=2, h=7, w=6, cin=4, cout=6, kernel=3, stride=2, padding="SAME", groups=2),
    "depthwise_conv2d": dict(
        h=8, w=8, cin=3, multiplier=2, kernel=(3, 2), dilation=2, padding=(1, 0, 2, 1)
    ),
}


@pytest.mark.parametrize("op", golden.OPS)
@pytest.mark.parametrize("bits", [(8, 8, 8), (4, 6, 5), (16, 16, 16), (2, 2, 2)])
def test_random_layer_uses_output_range(op, bits):
    a_bits, w_bits, out_bits = bits
    layer = golden.make_random_layer(
        op,
        rng=np.random.default_rng(a_bits),
        a_bits=a_bits,
        w_bits=w_bits,
        out_bits=out_bits,
        **DIMS[op],
    )
    assert layer.a_bits == a_bits and layer.out_bits == out_bits
    out = layer.output()
    lo, hi = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
    assert out.shape == layer.output_shape and out.min() >= lo and out.max() <= hi
    raw = golden.requantize(
        layer.acc(), layer.m0, layer.shift, y_zp=layer.y_zp, act_min=-(1 << 40), act_max=1 << 40
    )
    clipped = np.mean((raw < lo) | (raw > hi))
    assert 0 < clipped < 0.1 or out.size < 100 and clipped < 0.2, (
        clipped
    )  # some saturate, most do not
    assert np.unique(out).size >= min((hi - lo + 1) // 2, 8)
    assert max(-raw.min(), raw.max()) >= (hi + 1) // 2  # the range is used, not a sliver of it
    assert layer.m0.min() >= 1 << 30 and layer.m0.max() < 1 << 31


def test_layer_acc_and_output_match_functions():
    layer = golden.make_random_layer("conv2d", rng=np.random.default_rng(0), **DIMS["conv2d"])
    geo = dict(
        stride=layer.stride, padding=layer.padding, dilation=layer.dilation, groups=layer.groups
    )
    acc = direct_conv(
        layer.x, layer.w, layer.bias, layer.x_zp, layer.stride, "SAME", layer.dilation, 2
    )
    np.testing.assert_array_equal(layer.acc(), acc)
    for bits in (32, 16, 9):
        m0, shift = golden.reduce_multiplier(layer.m0, layer.shift, bits)
        expect = golden.conv2d(
            layer.x,
            layer.w,
            layer.bias,
            x_zp=layer.x_zp,
            y_zp=layer.y_zp,
            m0=m0,
            shift=shift,
            rounding="single",
            mult_bits=bits,
            **geo,
        )
        np.testing.assert_array_equal(layer.output(rounding="single", mult_bits=bits), expect)


def test_derived_figures():
    layer = golden.make_random_layer("conv2d", rng=np.random.default_rng(1), **DIMS["conv2d"])
    # 2 images, ceil(7/2) x ceil(6/2) pixels, 6 channels, 3*3*2 taps each
    assert layer.output_shape == (2, 4, 3, 6) and layer.k == 18 and layer.channels_out == 6
    assert layer.macs == 2 * 4 * 3 * 6 * 18
    dw = golden.make_random_layer(
        "depthwise_conv2d", rng=np.random.default_rng(1), **DIMS["depthwise_conv2d"]
    )
    # H: 8 + 1 + 2 - 5 + 1 = 7; W: 8 + 0 + 1 - 3 + 1 = 7
    assert dw.output_shape == (1, 7, 7, 6) and dw.k == 6 and dw.macs == 7 * 7 * 6 * 6
    mm = golden.make_random_layer("matmul", rng=np.random.default_rng(1), m=3, k=4, n=5)
    assert mm.macs == 60 and mm.k == 4 and mm.channels_out == 5
    fc = golden.make_random_layer(
        "fully_connected", rng=np.random.default_rng(1), batch=2, in_features=3, out_features=4
    )
    assert fc.macs == 24 and fc.output_shape == (2, 4)


def test_layer_is_frozen_and_arrays_read_only():
    layer = golden.make_random_layer("matmul", rng=np.random.default_rng(2), m=2, k=3, n=2)
    with pytest.raises(AttributeError):
        layer.x_zp = 3
    with pytest.raises(ValueError, match="read-only"):
        layer.x[0, 0] = 1


def _base(**changes):
    layer = dict(
        op="matmul",
        x=np.zeros((2, 3), np.int64),
        w=np.zeros((3, 4), np.int64),
        bias=np.zeros(4, np.int64),
        m0=np.full(4, 1 << 30),
        shift=np.zeros(4, np.int64),
        x_zp=0,
        y_zp=0,
    )
    layer.update(changes)
    return golden.Layer(**layer)


@pytest.mark.parametrize(
    ("changes", "exc", "pattern"),
    [
        (
            dict(op="conv3d"),
            ValueError,
            r"^op must be one of matmul, fully_connected, conv2d, depthwise_conv2d, not 'conv3d'$",
        ),
        (dict(x=np.zeros((2, 3))), TypeError, r"^x must have an integer dtype, not float64$"),
        (
            dict(w=np.zeros((3, 4), np.float32)),
            TypeError,
            r"^w must have an integer dtype, not float32$",
        ),
        (dict(x=np.zeros((2, 5), np.int64)), ValueError, r"^x has 5 columns but w expects 3"),
        (
            dict(bias=np.zeros(3, np.int64)),
            ValueError,
            r"^bias must have shape \(4,\) \(one per output channel\), not \(3,\)$",
        ),
        (
            dict(m0=np.full(4, 1 << 31)),
            ValueError,
            r"^m0 must be in \[0, 2147483647\] \(Q31\), found 2147483648$",
        ),
        (dict(shift=np.full(4, 31)), ValueError, r"^shift must be in \[-31, 30\], found 31$"),
        (dict(x_zp=128), ValueError, r"^x_zp must be in \[-128, 127\], not 128$"),
        (dict(y_zp=-200), ValueError, r"^y_zp must be in \[-128, 127\], not -200$"),
        (dict(act_min=10, act_max=5), ValueError, r"^act_min must be <= act_max, not 10 > 5$"),
        (dict(a_bits=1), ValueError, r"^a_bits must be in \[2, 16\], not 1$"),
        (dict(out_bits=17), ValueError, r"^out_bits must be in \[2, 16\], not 17$"),
        (
            dict(x=np.full((2, 3), 8), a_bits=4),
            ValueError,
            r"^x must be in \[-8, 7\] \(a_bits=4\), found 8$",
        ),
        (
            dict(stride=(2, 1)),
            ValueError,
            r"^stride, padding, dilation and groups must be defaults for op 'matmul'$",
        ),
        (
            dict(
                op="conv2d",
                x=np.zeros((1, 4, 4, 3), np.int64),
                w=np.zeros((4, 3, 3, 2), np.int64),
                groups=2,
            ),
            ValueError,
            r"^groups=2 must divide Cin=3 and Cout=4$",
        ),
        (
            dict(
                op="conv2d",
                x=np.zeros((1, 4, 4, 2), np.int64),
                w=np.zeros((4, 3, 3, 2), np.int64),
                stride=0,
            ),
            ValueError,
            r"^stride must be in \[1, inf\], not 0$",
        ),
        (
            dict(
                op="depthwise_conv2d",
                x=np.zeros((1, 4, 4, 3), np.int64),
                w=np.zeros((1, 3, 3, 4), np.int64),
            ),
            ValueError,
            r"^depthwise w has 4 channels, not a multiple of x's Cin=3",
        ),
    ],
)
def test_layer_validation(changes, exc, pattern):
    with pytest.raises(exc, match=pattern):
        _base(**changes)


def test_random_layer_bias_respects_acc_bits():
    """Near the largest safe K the bias shrinks so that the layer still fits acc_bits = 32."""
    k = golden.max_safe_k(8, 8, 32) - 3
    layer = golden.make_random_layer("matmul", rng=np.random.default_rng(5), m=1, k=k, n=4)
    assert np.abs(layer.bias).max() <= 2**31 - 1 - k * 255 * 128
    layer.acc(acc_bits=32)  # accepted by the accumulator check
    wide = golden.make_random_layer(
        "matmul", rng=np.random.default_rng(5), m=1, k=300, n=4, a_bits=16, w_bits=16, acc_bits=48
    )
    wide.acc(acc_bits=48)
    with pytest.raises(ValueError, match=r"^K=300 exceeds the accumulator: .*acc_bits=32 "):
        wide.acc(acc_bits=32)


def test_make_random_layer_bad_dims():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match=r"^unknown dimension 'channels' for op 'conv2d'"):
        golden.make_random_layer("conv2d", rng=rng, h=4, w=4, cin=2, cout=2, kernel=3, channels=3)
    with pytest.raises(ValueError, match=r"^missing dimension 'kernel' for op 'conv2d'$"):
        golden.make_random_layer("conv2d", rng=rng, h=4, w=4, cin=2, cout=2)
    with pytest.raises(ValueError, match=r"^k must be in \[1, inf\], not 0$"):
        golden.make_random_layer("matmul", rng=rng, m=1, k=0, n=1)
    with pytest.raises(TypeError, match=r"^rng must be a numpy.random.Generator, not int$"):
        golden.make_random_layer("matmul", rng=0, m=1, k=1, n=1)


# ---- layer files -----------------------------------------------------------------------------
@pytest.mark.parametrize("op", golden.OPS)
def test_save_load_round_trip(tmp_path, op):
    layer = golden.make_random_layer(op, rng=np.random.default_rng(3), a_bits=6, **DIMS[op])
    path = tmp_path / f"{op}.npz"
    golden.save_layer(path, layer)
    back = golden.load_layer(path)
    for name in golden.layerfile.LAYER_FIELDS:
        a, b = getattr(layer, name), getattr(back, name)
        assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b, name
    np.testing.assert_array_equal(back.output(), layer.output())


def _write(path, **fields):
    np.savez(path, **fields)
    return path


def _fields(layer):
    out = {}
    for name in golden.layerfile.LAYER_FIELDS:
        v = getattr(layer, name)
        out[name] = np.array(v) if not isinstance(v, np.ndarray) else v
    return out


def test_load_rejects_bad_files(tmp_path):
    layer = golden.make_random_layer("conv2d", rng=np.random.default_rng(4), **DIMS["conv2d"])
    good = _fields(layer)
    p = _write(tmp_path / "missing.npz", **{k: v for k, v in good.items() if k != "m0"})
    with pytest.raises(
        ValueError, match=rf"^{p}: missing field 'm0' \(a layer file needs op, x, w"
    ):
        golden.load_layer(p)
    p = _write(tmp_path / "float.npz", **{**good, "x": good["x"].astype(np.float32)})
    with pytest.raises(
        ValueError, match=rf"^{p}: bad layer: x must have an integer dtype, not float32$"
    ):
        golden.load_layer(p)
    p = _write(tmp_path / "zp.npz", **{**good, "x_zp": np.array(300)})
    with pytest.raises(
        ValueError, match=rf"^{p}: bad layer: x_zp must be in \[-128, 127\], not 300$"
    ):
        golden.load_layer(p)
    p = _write(tmp_path / "pad.npz", **{**good, "padding": np.array([1, 2])})
    with pytest.raises(
        ValueError, match=rf"^{p}: field 'padding' must be 'SAME', 'VALID' or 4 integers"
    ):
        golden.load_layer(p)
    p = _write(tmp_path / "stride.npz", **{**good, "stride": np.array(2)})
    with pytest.raises(ValueError, match=rf"^{p}: field 'stride' must be 2 integers"):
        golden.load_layer(p)
    p = _write(tmp_path / "groups.npz", **{**good, "groups": np.array(2.0)})
    with pytest.raises(ValueError, match=rf"^{p}: field 'groups' must be an integer scalar"):
        golden.load_layer(p)
    p = tmp_path / "junk.npz"
    p.write_bytes(b"not a zip")
    # not "pickled data ... allow_pickle": np.load's guess for anything neither .npy nor .npz
    with pytest.raises(
        ValueError,
        match=rf"^{p}: not a layer file: expected a \.npz archive \(golden\.save_layer\), but "
        r"the file starts with b'not '$",
    ):
        golden.load_layer(p)
    p.write_bytes(b"PK\x03\x04 and then no zip")
    with pytest.raises(ValueError, match=rf"^{p}: not a readable \.npz layer file: "):
        golden.load_layer(p)
    p = tmp_path / "objects.npz"
    np.savez(p, **{**good, "op": np.array(["conv2d"], dtype=object)})
    with pytest.raises(
        ValueError, match=rf"^{p}: field 'op' holds Python objects, expected numbers or a string$"
    ):
        golden.load_layer(p)
    with pytest.raises(
        ValueError, match=r"nothere\.npz: cannot read the layer file: No such file or directory$"
    ):
        golden.load_layer(tmp_path / "nothere.npz")
