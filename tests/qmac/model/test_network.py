"""qmac.model.network and run: the record's checks, the golden backend, the RTL verdict."""

from __future__ import annotations

import numpy as np
import pytest

import golden
import golden.hostops as H
import sim
from hw.config import ArrayConfig
from qmac.model import digits, ptq
from qmac.model.network import ArrayOp, HostOp, Network, TensorSpec
from qmac.model.run import NetworkMismatch, check_fits, run_network


@pytest.fixture(scope="module")
def qnet():
    return ptq.quantized_digits_cnn(8, 8)


@pytest.fixture(scope="module")
def images():
    data = digits.load_digits_data()
    return data.images[data.test[:20]]


def _residual_net() -> Network:
    """input -> fc (array) -> ADD(input, fc) (host): a residual over a 1x1 'conv' as matmul."""
    rng = np.random.default_rng(3)
    q_in, q_fc, q_out = H.TensorQuant(0.05, -3), H.TensorQuant(0.08, 4), H.TensorQuant(0.1, -1)
    w = rng.integers(-127, 128, size=(6, 6))
    m0, shift = golden.quantize_multiplier(q_in.scale * 0.01 / q_fc.scale)
    fc = ArrayOp(name="fc", op="fully_connected", input="x", output="h", w=w,
                 bias=np.zeros(6, np.int64), m0=np.full(6, int(m0)), shift=np.full(6, int(shift)),
                 x_zp=q_in.zero_point, y_zp=q_fc.zero_point, act_min=-128, act_max=127)
    p = H.add_params(q_in, q_fc, q_out, "NONE")
    add = HostOp(name="add", op="ADD", inputs=("x", "h"), output="y",
                 apply=lambda xs: H.add(xs[0], xs[1], p), params=p)
    tensors = [TensorSpec("x", (1, 6), "int8", q_in.scale, q_in.zero_point),
               TensorSpec("h", (1, 6), "int8", q_fc.scale, q_fc.zero_point),
               TensorSpec("y", (1, 6), "int8", q_out.scale, q_out.zero_point)]
    return Network("residual", tensors, [fc, add], ["x"], ["y"])


def test_golden_backend_equals_the_quantized_cnn(qnet, images):
    net = qnet.to_network()
    x = qnet.quantize_input(images)
    run = run_network(net, x, keep_tensors=True)
    assert np.array_equal(run.outputs["fc4"], qnet.forward(x))
    for ql, want in zip(qnet.layers, qnet.forward(x, all_layers=True), strict=True):
        assert np.array_equal(run.tensors[ql.spec.name], want)
    assert run.macs == sum(ql.to_layer(a).macs for ql, a in
                           zip(qnet.layers, [x, *qnet.forward(x, all_layers=True)[:-1]],
                               strict=True))
    assert [s.output_shape[1:] for s in run.stats] == [net.tensors[o.output].shape[1:]
                                                       for o in net.ops]


def test_host_ops_run_with_their_bound_parameters():
    net = _residual_net()
    x = np.random.default_rng(0).integers(-128, 128, size=(5, 6))
    run = run_network(net, x, keep_tensors=True)
    h = net.ops[0].layer(x).output()
    assert np.array_equal(run.tensors["h"], h)
    assert np.array_equal(run.outputs["y"], H.add(x, h, net.ops[1].params))
    assert [s.kind for s in run.stats] == ["array", "host"] and run.stats[1].macs == 0


def test_intermediates_are_dropped_unless_kept():
    net = _residual_net()
    run = run_network(net, np.zeros((2, 6), np.int64))
    assert run.tensors == {} and set(run.outputs) == {"y"}


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda ops, t: Network("n", t, ops[::-1], ["x"], ["y"]),
         r"^op 0 \(ADD 'add'\) reads tensor 'h' before it is produced$"),
        (lambda ops, t: Network("n", t + t[:1], ops, ["x"], ["y"]),
         r"^tensor name 'x' appears twice$"),
        (lambda ops, t: Network("n", t, ops, ["x"], ["z"]),
         r"^network output 'z' is produced by no op$"),
        (lambda ops, t: Network("n", t, ops, ["q"], ["y"]),
         r"^network input 'q' is not a tensor of the network$"),
        (lambda ops, t: Network("n", t[:2], ops, ["x"], ["y"]),
         r"^op 1 \(ADD 'add'\) writes unknown tensor 'y'$"),
    ],
)
def test_network_checks(make, pattern):
    good = _residual_net()
    tensors = list(good.tensors.values())
    with pytest.raises(ValueError, match=pattern):
        make(list(good.ops), tensors)


@pytest.mark.parametrize(
    ("inputs", "exc", "pattern"),
    [
        (np.zeros((2, 5), np.int64), ValueError, r"^input 'x' must have shape \(N, 6\), not"),
        (np.zeros((2, 6)), TypeError, r"^input 'x' must hold integers \(int8 values\), not float"),
        (np.full((2, 6), 200), ValueError, r"^input 'x' must hold int8 values, found 200\.\.200$"),
        (np.zeros((0, 6), np.int64), ValueError, r"^inputs must hold at least one sample"),
        ({"q": np.zeros((1, 6), np.int64)}, ValueError, r"^inputs must be exactly the network"),
    ],
)
def test_bad_inputs_fail_before_anything_runs(inputs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        run_network(_residual_net(), inputs)


def test_bad_backend_and_missing_config():
    with pytest.raises(ValueError, match=r"^backend must be one of golden, rtl, not 'fpga'$"):
        run_network(_residual_net(), np.zeros((1, 6), np.int64), backend="fpga")
    with pytest.raises(ValueError, match=r"^backend 'rtl' needs the array config$"):
        run_network(_residual_net(), np.zeros((1, 6), np.int64), backend="rtl")


def test_rtl_backend_stops_at_the_first_wrong_op(monkeypatch):
    """A faked RTL that corrupts one element: the run stops there, naming the op."""
    calls = []

    def fake_run_layer(config, layer, **kw):
        calls.append(layer.op)
        y = layer.output(rounding=config.rounding, mult_bits=config.mult_bits).copy()
        y.flat[0] += 1
        return y, {"cycles": 10, "ideal_cycles": 12, "utilization": 0.5, "jobs": 1,
                   "mismatch": None}

    monkeypatch.setattr(sim, "run_layer", fake_run_layer)
    with pytest.raises(NetworkMismatch, match=r"^op 0 \(fc\): 1 output value\(s\) differ") as e:
        run_network(_residual_net(), np.zeros((2, 6), np.int64), backend="rtl",
                    config=ArrayConfig(rows=2, cols=2))
    assert calls == ["fully_connected"] and e.value.op_index == 0 and len(e.value.stats) == 1


def test_rtl_backend_on_the_simulated_array(qnet, images):
    """The digits network on a 4x4 array in Verilator: every array op equal to golden."""
    net = qnet.to_network()
    x = qnet.quantize_input(images[:3])
    run = run_network(net, x, backend="rtl", config=ArrayConfig(rows=4, cols=4))
    assert np.array_equal(run.outputs["fc4"], qnet.forward(x))
    assert run.mismatches == 0 and all(s.cycles > 0 for s in run.stats)
    assert run.cycles == sum(s.cycles for s in run.stats)


def test_rtl_backend_can_count_mismatches_and_go_on(monkeypatch):
    """stop_on_mismatch=False: the wrong element is counted and the RTL output is fed on."""

    def fake_run_layer(config, layer, **kw):
        y = layer.output(rounding=config.rounding, mult_bits=config.mult_bits).copy()
        y.flat[0] = 127 if y.flat[0] != 127 else 126
        return y, {"cycles": 10, "ideal_cycles": 12, "utilization": 0.5, "jobs": 1,
                   "mismatches": 1, "job_mismatches": 0, "mismatch": "first at 0"}

    monkeypatch.setattr(sim, "run_layer", fake_run_layer)
    net = _residual_net()
    x = np.zeros((2, 6), np.int64)
    run = run_network(net, x, backend="rtl", config=ArrayConfig(rows=2, cols=2),
                      keep_tensors=True, stop_on_mismatch=False)
    h = run.tensors["h"]
    assert run.mismatches == 1 and run.stats[0].sim == {"mismatches": 1, "job_mismatches": 0}
    assert h.flat[0] != net.ops[0].layer(x).output().flat[0]
    assert np.array_equal(run.outputs["y"], H.add(x, h, net.ops[1].params))  # fed the RTL output


def test_golden_backend_reports_ideal_cycles_with_a_config():
    net = _residual_net()
    x = np.zeros((3, 6), np.int64)
    assert run_network(net, x).stats[0].ideal_cycles is None
    cfg = ArrayConfig(rows=2, cols=2)
    st = run_network(net, x, config=cfg).stats[0]
    assert st.ideal_cycles == golden.cycles.layer_cycles(net.ops[0].layer(x), rows=2, cols=2).cycles
    assert st.cycles is None and st.utilization is None


def test_check_fits_names_the_op_the_array_cannot_hold():
    net = _residual_net()
    check_fits(net, ArrayConfig(rows=2, cols=2))
    with pytest.raises(ValueError, match=r"^op 0 \(fc\): a_bits=8 exceeds the array's a_bits=4$"):
        check_fits(net, ArrayConfig(rows=2, cols=2, a_bits=4, w_bits=4, acc_bits=20,
                                    mult_bits=16, out_bits=4))
    narrow = ArrayConfig(rows=2, cols=2, acc_bits=20)  # max_k = 16: the accumulator's limit
    check_fits(_residual_net(), ArrayConfig(rows=2, cols=2, a_buf_depth=16, w_buf_depth=16))
    w = np.ones((4, 40), np.int64)
    big = ArrayOp(name="wide", op="fully_connected", input="x", output="y", w=w,
                  bias=np.zeros(4, np.int64), m0=np.full(4, 1 << 30), shift=np.zeros(4, np.int64),
                  x_zp=0, y_zp=0, act_min=-128, act_max=127)
    wide = Network("wide", [TensorSpec("x", (1, 40), "int8", 0.1, 0),
                            TensorSpec("y", (1, 4), "int8", 0.1, 0)], [big], ["x"], ["y"])
    check_fits(wide, ArrayConfig(rows=2, cols=2, a_buf_depth=16, w_buf_depth=16))  # K split
    with pytest.raises(ValueError, match=r"^op 0 \(wide\): layer fully_connected needs K=40 per "
                                         r"output channel: K=40 exceeds max_k=16 of acc_bits=20"):
        check_fits(wide, narrow)
