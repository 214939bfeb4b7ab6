"""Seeded test cases for every host op: inputs, quantization, options and golden's output.

Each generator returns a list of :class:`Case`; a case knows how to build its one-op model and
run it on a LiteRT kernel set (:meth:`Case.litert`). Random cases come with edge cases: int8
extremes, zero points at both ends, ties of every rounding step, broadcast shapes, padding at
the borders, all-equal softmax logits. ``trials`` scales the random part, so that
``scripts/hostops_litert_agreement.py`` can measure agreement on many more outputs than the tests.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

import numpy as np

import golden.hostops as H
from tests.golden.hostops.litert_one_op import Tensor, run_one

__all__ = ["Case", "ACTS", "CASES"]

ACTS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
EXTREMES = np.array([-128, -127, -1, 0, 1, 126, 127])


@dataclass
class Case:
    """One op invocation and golden's answer to it."""

    name: str
    op: str
    inputs: list[Tensor]
    output: Tensor
    feeds: list[np.ndarray]
    expected: np.ndarray
    options: dict = field(default_factory=dict)
    uint8: bool = False  # the model is uint8: feeds and outputs are golden's int8 values + 128

    def litert(self, resolver: str) -> np.ndarray:
        """LiteRT's output on ``resolver`` ("ref", "opt", "xnnpack"), in golden's int8 terms."""
        offset = 128 if self.uint8 else 0
        feeds = [f + offset if f.dtype.kind in "iu" else f for f in self.feeds]
        out = run_one(self.op, self.inputs, self.output, feeds, self.options, resolver)
        return out - offset if out.dtype.kind in "iu" else out


def _q(rng: np.random.Generator, lo: float = 0.002, hi: float = 0.3) -> H.TensorQuant:
    return H.TensorQuant(float(rng.uniform(lo, hi)), int(rng.integers(-128, 128)))


def _t(shape: tuple[int, ...], q: H.TensorQuant, dtype: str = "int8") -> Tensor:
    zp = q.zero_point + (128 if dtype == "uint8" else 0)
    return Tensor(tuple(shape), dtype, q.scale, zp)


def _x(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-128, 128, shape)


# ---- ADD ------------------------------------------------------------------------------------
def add_cases(seed: int = 10, trials: int = 8) -> list[Case]:
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(trials):
        shape = (2, int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 17)))
        specs.append((f"random{i}", shape, shape, _q(rng), _q(rng), _q(rng), ACTS[i % 4]))
    broadcasts = [((2, 5, 7, 3), (1, 1, 1, 3)), ((2, 5, 7, 3), (2, 5, 1, 1)), ((3,), (2, 4, 3)),
                  ((1,), (2, 3, 4)), ((2, 1, 3, 1, 2, 3), (1, 4, 1, 2, 1, 3)), ((4, 1), (1, 5))]
    for i, (s1, s2) in enumerate(broadcasts):
        specs.append((f"random-broadcast{i}", s1, s2, _q(rng), _q(rng), _q(rng), ACTS[i % 4]))
    cases = [_add_case(rng, *spec) for spec in specs]
    # int8 extremes against int8 extremes, zero points at both ends of the range.
    a, b = (g.reshape(1, -1) for g in np.meshgrid(EXTREMES, EXTREMES))
    for i, (z1, z2, zo) in enumerate([(-128, 127, 0), (127, -128, -128), (0, 0, 127)]):
        q1, q2, qo = H.TensorQuant(0.02, z1), H.TensorQuant(0.05, z2), H.TensorQuant(0.03, zo)
        cases.append(_add_case(rng, f"extremes{i}", a.shape, b.shape, q1, q2, qo, ACTS[i], a, b))
    # Output scale twice the inputs': every odd sum is a tie of the last RoundingDivideByPOT;
    # three times: ties of the high multiply's rounding.
    a, b = (g.reshape(1, -1) for g in np.meshgrid(np.arange(-128, 128), np.arange(-128, 128, 3)))
    for ratio in (2.0, 3.0, 0.75):
        q = H.TensorQuant(0.0625, 0)
        qo = H.TensorQuant(0.0625 * ratio, 0)
        cases.append(_add_case(rng, f"ties_x{ratio}", a.shape, b.shape, q, q, qo, "NONE", a, b))
    # RELU_N1_TO_1 at output scale 0.4: float32(1) / float32(0.4) is exactly 2.5, so the clamp is
    # [-3, 3] only if the bound is computed in float32 as TFLite does (float64 gives [-2, 2]).
    a, b = (g.reshape(1, -1) for g in np.meshgrid(EXTREMES, EXTREMES))
    q = H.TensorQuant(0.02, 0)
    cases.append(_add_case(rng, "relu_n1_to_1_float32_bound", a.shape, b.shape, q, q,
                           H.TensorQuant(0.4, 0), "RELU_N1_TO_1", a, b))
    # Very different input scales.
    cases.append(_add_case(rng, "scales_0.001_0.9", (1, 4, 4, 8), (1, 4, 4, 8),
                           H.TensorQuant(0.001, 5), H.TensorQuant(0.9, -7), H.TensorQuant(0.5, 3),
                           "NONE"))
    return cases


def _add_case(rng, name, s1, s2, q1, q2, qo, act, x1=None, x2=None) -> Case:
    x1 = _x(rng, s1) if x1 is None else x1
    x2 = _x(rng, s2) if x2 is None else x2
    y = H.add(x1, x2, H.add_params(q1, q2, qo, act))
    return Case(f"ADD-{name}", "ADD", [_t(x1.shape, q1), _t(x2.shape, q2)], _t(y.shape, qo),
                [x1, x2], y, {"fusedActivationFunction": act})


# ---- pooling --------------------------------------------------------------------------------
def pool_cases(op: str, seed: int = 20, trials: int = 12) -> list[Case]:
    rng = np.random.default_rng(seed)
    fn = H.average_pool_2d if op == "AVERAGE_POOL_2D" else H.max_pool_2d
    cases = []

    def case(name, x, q, f, s, pad, act="NONE"):
        p = H.pool_params(q, q, f, s, pad, act)
        y = fn(x, p)
        opts = {"padding": pad, "strideH": p.stride_hw[0], "strideW": p.stride_hw[1],
                "filterHeight": p.filter_hw[0], "filterWidth": p.filter_hw[1],
                "fusedActivationFunction": act}
        cases.append(Case(f"{op}-{name}", op, [_t(x.shape, q)], _t(y.shape, q), [x], y, opts))

    for i in range(trials):
        h, w = int(rng.integers(1, 12)), int(rng.integers(1, 12))
        f = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        pad = "SAME" if i % 2 or f[0] > h or f[1] > w else "VALID"
        case(f"random{i}", _x(rng, (2, h, w, 5)), _q(rng), f, s, pad, ACTS[i % 4])
    q = _q(rng)
    case("global_valid", _x(rng, (2, 7, 7, 8)), q, (7, 7), 1, "VALID")
    case("filter_over_input_same", _x(rng, (1, 2, 3, 4)), q, (5, 4), 2, "SAME")
    case("one_pixel", _x(rng, (3, 1, 1, 6)), q, 3, 1, "SAME")
    for v in (-128, 127):
        case(f"all{v}", np.full((1, 5, 5, 3), v), H.TensorQuant(0.1, v), 3, 2, "SAME", "RELU")
    case("extremes", rng.choice([-128, 127], (2, 6, 6, 4)), q, 2, 1, "SAME", "RELU6")
    # Averages of two taps (1x2 windows) and of four taps hit every half, positive and negative.
    pairs = np.stack(np.meshgrid(np.arange(-128, 128, 5), np.arange(-128, 128, 3)), -1)
    case("ties_1x2", pairs.reshape(1, -1, 2, 1), q, (1, 2), (1, 2), "VALID")
    quads = rng.integers(-128, 128, (1, 40, 40, 2))
    case("ties_2x2", quads, q, 2, 2, "VALID")
    # SAME borders clip windows to 6, 4, 3, 2 taps.
    case("borders_same", _x(rng, (1, 5, 5, 3)), q, 3, 1, "SAME", "RELU_N1_TO_1")
    return cases


# ---- MEAN -----------------------------------------------------------------------------------
_MEAN_AXES = [((1, 2), True), ((1, 2), False), ((2, 1), True), ((-3, -2), False), ((3,), True),
              ((0,), False), ((1,), True), ((0, 1, 2, 3), False), ((1, 2, 3), True),
              ((0, 3), False), ((1, 1, 2), True)]


def mean_cases(seed: int = 30, trials: int = 1) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []

    def case(name, x, qi, qo, axes, keep):
        y = H.mean(x, H.mean_params(qi, qo, axes, keep))
        ax = Tensor((len(axes),), "int32", data=np.array(axes))
        cases.append(Case(f"MEAN-{name}", "MEAN", [_t(x.shape, qi), ax], _t(y.shape, qo), [x], y,
                          {"keepDims": keep}))

    for t in range(trials):
        for axes, keep in _MEAN_AXES:
            shape = (2, int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 12)))
            qi = _q(rng)
            for same in (True, False):
                qo = qi if same else _q(rng)
                tag = "same" if same else "diff"
                case(f"random{t}-{axes}-keep{keep}-{tag}", _x(rng, shape), qi, qo, axes, keep)
    q = _q(rng)
    case("global_7x7", _x(rng, (2, 7, 7, 16)), q, _q(rng), (1, 2), True)
    case("global_14x14", _x(rng, (1, 14, 14, 8)), q, q, (1, 2), False)
    case("global_1x1", _x(rng, (2, 1, 1, 8)), q, _q(rng), (1, 2), True)
    case("2d", _x(rng, (6, 10)), q, _q(rng), (1,), False)
    case("3d", _x(rng, (3, 5, 7)), q, _q(rng), (0, 2), True)
    # s_in / s_out = 8: a left shift survives the 1/n fold; 1/1000: a long right shift.
    case("ratio_8", _x(rng, (1, 2, 2, 8)) // 16, H.TensorQuant(0.4, 3), H.TensorQuant(0.05, -2),
         (1, 2), True)
    case("ratio_1e-3", _x(rng, (1, 3, 3, 8)), H.TensorQuant(0.001, 3), H.TensorQuant(1.0, -2),
         (1, 2), True)
    for v, z in ((-128, 127), (127, -128), (-128, -128)):
        case(f"all{v}_zp{z}", np.full((1, 4, 4, 3), v), H.TensorQuant(0.02, z),
             H.TensorQuant(0.03, -z // 2), (1, 2), True)
    return cases


# ---- PAD / PADV2 ----------------------------------------------------------------------------
def pad_cases(seed: int = 40, trials: int = 6) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(trials):
        ndim = 1 + i % 5
        shape = tuple(int(d) for d in rng.integers(1, 5, ndim))
        pads = rng.integers(0, 3, (ndim, 2))
        q = _q(rng)
        x = _x(rng, shape)
        pad_t = Tensor((ndim, 2), "int32", data=pads)
        y = H.pad(x, H.pad_params(q, q, pads))
        cases.append(Case(f"PAD-random{i}-{ndim}d", "PAD", [_t(shape, q), pad_t], _t(y.shape, q),
                          [x], y))
        c = int(rng.choice([-128, 127, int(rng.integers(-128, 128))]))
        y2 = H.pad(x, H.pad_params(q, q, pads, c, q))
        cases.append(Case(f"PADV2-random{i}-{ndim}d", "PADV2",
                          [_t(shape, q), pad_t, Tensor((1,), "int8", q.scale, q.zero_point,
                                                       np.array([c]))],
                          _t(y2.shape, q), [x], y2))
    for z in (-128, 127):
        q = H.TensorQuant(0.1, z)
        x = _x(rng, (1, 4, 4, 2))
        pads = np.array([[0, 0], [1, 2], [2, 1], [0, 0]])
        y = H.pad(x, H.pad_params(q, q, pads))
        cases.append(Case(f"PAD-zp{z}", "PAD", [_t(x.shape, q), Tensor((4, 2), "int32", data=pads)],
                          _t(y.shape, q), [x], y))
    x = _x(rng, (2, 3, 3, 2))
    pads = np.zeros((4, 2), dtype=np.int64)
    y = H.pad(x, H.pad_params(q, q, pads))
    cases.append(Case("PAD-none", "PAD", [_t(x.shape, q), Tensor((4, 2), "int32", data=pads)],
                      _t(y.shape, q), [x], y))
    return cases


# ---- RESHAPE --------------------------------------------------------------------------------
def reshape_cases(seed: int = 50, trials: int = 2) -> list[Case]:
    rng = np.random.default_rng(seed)
    q = _q(rng)
    cases = []
    shapes = [((2, 3, 4, 5), (2, -1)), ((1, 1, 1, 10), (1, 10)), ((6, 4), (2, 3, 4)),
              ((2, 3, 4, 5), (-1, 5, 4))]
    for _ in range(trials):
        dims = [int(d) for d in rng.integers(1, 6, 4)]
        shapes.append((tuple(dims), (dims[0] * dims[1], -1)))
    for i, (shape, new) in enumerate(shapes):
        x = _x(rng, shape)
        y = H.reshape(x, new)
        shape_t = Tensor((len(new),), "int32", data=np.array(new))
        tag = f"random{i}" if i >= 4 else str(i)
        cases.append(Case(f"RESHAPE-{tag}", "RESHAPE", [_t(shape, q), shape_t], _t(y.shape, q), [x],
                          y, {"newShape": list(y.shape)}))
    x = _x(rng, (3, 2, 2, 4))
    y = H.flatten(x)
    cases.append(Case("RESHAPE-flatten", "RESHAPE",
                      [_t(x.shape, q), Tensor((2,), "int32", data=np.array(y.shape))],
                      _t(y.shape, q), [x], y, {"newShape": list(y.shape)}))
    return cases


# ---- CONCATENATION --------------------------------------------------------------------------
def concat_cases(seed: int = 60, trials: int = 8) -> list[Case]:
    """int8 models with equal quantization; uint8 models (shifted) where quantization differs."""
    rng = np.random.default_rng(seed)
    cases = []

    def case(name, xs, qs, qo, axis, uint8=False):
        y = H.concatenate(xs, H.concatenation_params(qs, qo, axis))
        dtype = "uint8" if uint8 else "int8"
        cases.append(Case(f"CONCATENATION-{name}", "CONCATENATION",
                          [_t(x.shape, q, dtype) for x, q in zip(xs, qs, strict=True)],
                          _t(y.shape, qo, dtype), xs, y, {"axis": axis}, uint8))

    for i in range(trials):
        ndim = 1 + i % 4
        axis = int(rng.integers(-ndim, ndim))
        base = [int(d) for d in rng.integers(1, 5, ndim)]
        xs = []
        for _ in range(int(rng.integers(2, 5))):
            shape = list(base)
            shape[axis] = int(rng.integers(1, 5))
            xs.append(_x(rng, tuple(shape)))
        q = _q(rng)
        case(f"random{i}-int8-{ndim}d", xs, [q] * len(xs), q, axis)
        qs = [_q(rng, 0.001, 0.5) for _ in xs]
        qs[0] = qo = _q(rng, 0.001, 0.5)  # one input copied, the others requantized
        case(f"random{i}-uint8-{ndim}d", xs, qs, qo, axis, uint8=True)
    # Scale ratios 1/2 and 2 and zero point shifts put many values on exact halves.
    grid = np.arange(-128, 128).reshape(1, 1, -1, 1)
    for r, (zi, zo) in itertools.product((0.5, 2.0, 0.25), ((0, 0), (-128, 127), (5, -6))):
        qi, qo = H.TensorQuant(0.125, zi), H.TensorQuant(0.125 * r, zo)
        case(f"ties-r{r}-zp{zi},{zo}", [grid, grid[..., :7, :]], [qi, qo], qo, 2, uint8=True)
    return cases


# ---- SOFTMAX --------------------------------------------------------------------------------
SOFTMAX_OUT = H.TensorQuant(1.0 / 256, -128)
# Rows where the reference (fixed-point) and optimized (float table) kernels differ by 1, found by
# a search over random rows; the tests check both kernels on them.
SOFTMAX_REF_VS_OPT = [
    ("ref_vs_opt_a", 0.18033897876739502, [-23, 33, 47, -64, -73, -110, 33, 2, 69, -102]),
    ("ref_vs_opt_b", 0.2820971608161926, [114, 87, 1, -76, 100, 127, 69]),
    ("ref_vs_opt_c", 0.3153665065765381, [-75, -122, -115, 10, -53, 121, 74, -24, 96, 125]),
]


def softmax_cases(seed: int = 70, trials: int = 9) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []

    def case(name, x, qi, beta=1.0):
        y = H.softmax(x, H.softmax_params(qi, SOFTMAX_OUT, beta))
        cases.append(Case(f"SOFTMAX-{name}", "SOFTMAX", [_t(x.shape, qi)],
                          _t(x.shape, SOFTMAX_OUT), [x], y, {"beta": beta}))

    for i in range(trials):
        lo, hi = ((0.001, 0.05), (0.05, 0.5), (0.5, 8.0))[i % 3]
        depth = int(rng.choice([2, 5, 10, 37, 100, 1001]))
        case(f"random{i}-d{depth}", _x(rng, (32, depth)), _q(rng, lo, hi),
             float(rng.choice([1.0, 0.5, 2.0])))
    q = H.TensorQuant(0.1, 3)
    rows = np.stack([np.full(10, v) for v in (-128, 0, 127)])
    case("all_equal", rows, q)
    case("all_equal_d511", np.zeros((2, 511), dtype=np.int64), q)  # largest sum that works
    case("one_element", _x(rng, (5, 1)), q)
    peak = np.full((4, 12), -128)
    peak[np.arange(4), [0, 3, 7, 11]] = 127
    case("one_peak_rest_min", peak, q)
    case("extremes", rng.choice([-128, 127], (8, 16)), q)
    case("scale_16_shift_31", _x(rng, (16, 10)), H.TensorQuant(16.0, 0))  # diff_min = 0
    case("scale_1e-4_flat", _x(rng, (16, 10)), H.TensorQuant(1e-4, 0))
    case("4d_nhwc", _x(rng, (2, 3, 3, 10)), _q(rng, 0.05, 0.2))
    for name, scale, row in SOFTMAX_REF_VS_OPT:
        case(name, np.array([row]), H.TensorQuant(scale, 0))
    return cases


# ---- QUANTIZE / DEQUANTIZE ------------------------------------------------------------------
def quantize_cases(seed: int = 80, trials: int = 6) -> list[Case]:
    """float32 -> int8."""
    rng = np.random.default_rng(seed)
    cases = []

    def case(name, x, q):
        y = H.quantize(x, q)
        cases.append(Case(f"QUANTIZE-f32-{name}", "QUANTIZE", [Tensor(x.shape, "float32")],
                          _t(x.shape, q), [x], y))

    for i in range(trials):
        q = _q(rng)
        x = (rng.standard_normal((16, 64)) * q.scale * 60).astype(np.float32)
        case(f"random{i}", x, q)
    for z in (-128, 0, 127):  # exact halves with a power-of-two scale: ties both ways, clamps
        q = H.TensorQuant(0.0625, z)
        halves = (np.arange(-300, 300) + 0.5).astype(np.float32) * np.float32(0.0625)
        case(f"halves_zp{z}", halves.reshape(1, -1), q)
    q = H.TensorQuant(0.1, -3)
    near = np.array([-12.85, -0.05, -0.15, 0.05, 0.15, 0.25, 12.75, 1e6, -1e6, 0.0, -0.0],
                    dtype=np.float32)
    case("near_halves_clamps", near.reshape(1, -1), q)
    return cases


def requantize_cases(seed: int = 90, trials: int = 6) -> list[Case]:
    """int8 -> int8."""
    rng = np.random.default_rng(seed)
    cases = []

    def case(name, x, qi, qo):
        y = H.requantize(x, H.requantize_params(qi, qo))
        cases.append(Case(f"QUANTIZE-i8-{name}", "QUANTIZE", [_t(x.shape, qi)], _t(x.shape, qo),
                          [x], y))

    for i in range(trials):
        case(f"random{i}", _x(rng, (16, 32)), _q(rng), _q(rng))
    grid = np.arange(-128, 128).reshape(1, -1)
    for r, zi, zo in ((2.0, 0, 0), (2.0, 5, -3), (4.0, -128, 127), (1.0, 10, -10), (0.5, 0, 0),
                      (1 / 3, 1, 2)):
        case(f"ratio{r:.3g}-zp{zi},{zo}", grid, H.TensorQuant(0.05, zi),
             H.TensorQuant(0.05 * r, zo))
    return cases


def dequantize_cases(seed: int = 100, trials: int = 6) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    grid = np.arange(-128, 128).reshape(1, -1)
    for i in range(trials):
        q = _q(rng) if i else H.TensorQuant(0.1, -128)
        y = H.dequantize(grid, q)
        cases.append(Case(f"DEQUANTIZE-random{i}", "DEQUANTIZE", [_t(grid.shape, q)],
                          Tensor(grid.shape, "float32"), [grid], y))
    return cases


CASES = {
    "ADD": add_cases,
    "AVERAGE_POOL_2D": functools.partial(pool_cases, "AVERAGE_POOL_2D"),
    "MAX_POOL_2D": functools.partial(pool_cases, "MAX_POOL_2D"),
    "MEAN": mean_cases,
    "PAD": pad_cases,
    "RESHAPE": reshape_cases,
    "CONCATENATION": concat_cases,
    "SOFTMAX": softmax_cases,
    "QUANTIZE (float32 -> int8)": quantize_cases,
    "QUANTIZE (int8 -> int8)": requantize_cases,
    "DEQUANTIZE": dequantize_cases,
}
