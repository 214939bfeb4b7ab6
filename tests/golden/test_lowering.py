"""Lowering: jobs run through the job reference, reassembled, equal the layer computed directly."""

import zlib

import numpy as np
import pytest

import golden
from golden.lowering import job_sums, lower, run_job_reference, run_jobs_reference
from hw.config import ArrayConfig

# small buffers so that M and N tiling both happen on these small layers
SMALL = dict(a_buf_depth=64, w_buf_depth=64, param_depth=8, acc_depth=16)
CONFIGS = {
    "os4x4": ArrayConfig(rows=4, cols=4, **SMALL),
    "ws4x3": ArrayConfig(rows=4, cols=3, dataflow="ws", **SMALL),
    "os2x8_m16": ArrayConfig(rows=2, cols=8, mult_bits=16, rounding="single", **SMALL),
}

LAYERS = {
    "matmul_ragged": ("matmul", dict(m=23, k=13, n=19)),
    "fc": ("fully_connected", dict(batch=3, in_features=21, out_features=11)),
    "conv_s2_same": (
        "conv2d",
        dict(batch=2, h=9, w=8, cin=3, cout=5, kernel=3, stride=2, padding="SAME"),
    ),
    "conv_valid": ("conv2d", dict(h=7, w=6, cin=2, cout=3, kernel=3, padding="VALID")),
    "conv_explicit": (
        "conv2d",
        dict(h=5, w=6, cin=2, cout=4, kernel=(3, 2), padding=(1, 0, 2, 1), stride=(1, 2)),
    ),
    "conv_dilated": ("conv2d", dict(h=9, w=9, cin=2, cout=3, kernel=3, dilation=2, padding="SAME")),
    "conv_groups": ("conv2d", dict(h=6, w=5, cin=6, cout=4, kernel=3, groups=2, padding="SAME")),
    "conv_1x1": ("conv2d", dict(batch=2, h=4, w=5, cin=7, cout=9, kernel=1)),
    "dw_mult2": (
        "depthwise_conv2d",
        dict(h=7, w=6, cin=5, multiplier=2, kernel=3, stride=1, padding="SAME", dilation=1),
    ),
    "dw_s2": (
        "depthwise_conv2d",
        dict(h=8, w=7, cin=3, multiplier=1, kernel=3, stride=2, padding="VALID", dilation=1),
    ),
}


def _run(plan, cfg, layer):
    outs = run_jobs_reference(
        plan.jobs,
        rounding=cfg.rounding,
        mult_bits=cfg.mult_bits,
        out_bits=layer.out_bits,
        a_bits=layer.a_bits,
        w_bits=layer.w_bits,
        acc_bits=cfg.acc_bits,
    )
    return plan.assemble(outs)


@pytest.mark.parametrize("cfg_name", list(CONFIGS))
@pytest.mark.parametrize("layer_name", list(LAYERS))
def test_assembled_jobs_equal_direct_layer(cfg_name, layer_name):
    cfg = CONFIGS[cfg_name]
    op, dims = LAYERS[layer_name]
    layer = golden.make_random_layer(
        op, rng=np.random.default_rng(zlib.crc32(layer_name.encode())), **dims
    )
    plan = lower(layer, cfg)
    for j in plan.jobs:
        cfg.check_job(j.m, j.k, j.n, split=j.split)
        assert j.a.shape == (j.m, j.k) and j.w.shape == (j.k, j.n)
    got = _run(plan, cfg, layer)
    want = layer.output(rounding=cfg.rounding, mult_bits=cfg.mult_bits)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_tiling_happens_and_blocks_are_array_multiples():
    cfg = CONFIGS["os4x4"]
    layer = golden.make_random_layer("matmul", rng=np.random.default_rng(1), m=23, k=13, n=19)
    plan = lower(layer, cfg)
    # N <= param_depth 8 -> 3 blocks of 8, 8, 3; ceil(M/4) * 13 <= a_buf 64 -> M <= 16 -> 2 blocks,
    # split evenly in multiples of rows: 12 + 11
    got = [(j.row0, j.m, int(j.channels[0]), j.n) for j in plan.jobs]
    assert got == [
        (r0, m, c0, n) for c0, n in ((0, 8), (8, 8), (16, 3)) for r0, m in ((0, 12), (12, 11))
    ]


def test_depthwise_groups_are_packed_block_diagonally():
    cfg = ArrayConfig(rows=4, cols=8)
    layer = golden.make_random_layer(
        "depthwise_conv2d",
        rng=np.random.default_rng(2),
        h=5,
        w=5,
        cin=6,
        multiplier=2,
        kernel=3,
        stride=1,
        padding="SAME",
        dilation=1,
    )
    packed, single = lower(layer, cfg), lower(layer, cfg, pack=False)
    assert len(single.jobs) == 6 and all(j.n == 2 and j.k == 9 for j in single.jobs)
    assert [j.n for j in packed.jobs] == [8, 4]  # 4 channels x mult 2 fill 8 columns, then 2 x 2
    w = packed.jobs[0].w
    assert (
        w.shape == (36, 8) and np.count_nonzero(w[9:, :2]) == 0 and np.count_nonzero(w[:9, 2:]) == 0
    )
    want = layer.output()
    np.testing.assert_array_equal(_run(packed, cfg, layer), want)
    np.testing.assert_array_equal(_run(single, cfg, layer), want)


def test_k_beyond_max_k_is_rejected_with_k_and_limit():
    cfg = ArrayConfig(rows=4, cols=4, a_bits=4, w_bits=4, acc_bits=12, mult_bits=16, out_bits=4)
    layer = golden.make_random_layer(
        "matmul", rng=np.random.default_rng(3), a_bits=4, w_bits=4, out_bits=4, m=4, k=40, n=4
    )
    with pytest.raises(
        ValueError,
        match=r"^layer matmul needs K=40 per output channel: K=40 exceeds max_k=17 of acc_bits=12",
    ):
        lower(layer, cfg)


# a 4x4 array whose banks hold K = 64 (M <= 4, N <= 4), accumulator for K up to 257
SPLIT = ArrayConfig(rows=4, cols=4, acc_bits=24, a_buf_depth=64, w_buf_depth=64, psum_depth=16)


@pytest.mark.parametrize(
    "dataflow,k,chunks",
    [
        ("os", 64, [64]),  # one bank: no split
        ("os", 96, [48, 48]),  # 1.5 banks
        ("os", 256, [64, 64, 64, 64]),  # 4 banks
        ("os", 257, [52, 52, 52, 52, 49]),  # max_k: 5 chunks, multiples of rows
        ("os", 130, [44, 44, 42]),
        ("ws", 96, [48, 48]),
        ("ws", 257, [52, 52, 52, 52, 49]),
    ],
)
def test_k_split_chunks_are_few_and_even(dataflow, k, chunks):
    cfg = SPLIT.replace(dataflow=dataflow)
    assert cfg.max_k == 257 and cfg.max_job_k == 64
    layer = golden.make_random_layer("matmul", rng=np.random.default_rng(k), m=6, k=k, n=7,
                                     acc_bits=cfg.acc_bits)
    plan = lower(layer, cfg)
    assert plan.k_chunks == len(chunks)
    blocks = {(j.row0, int(j.channels[0])) for j in plan.jobs}
    assert len(plan.jobs) == len(blocks) * len(chunks)
    for b in range(len(blocks)):  # each output block: its chunks in order, then the next block
        seq = plan.jobs[b * len(chunks):(b + 1) * len(chunks)]
        assert [j.k for j in seq] == chunks
        assert [j.k0 for j in seq] == [sum(chunks[:i]) for i in range(len(chunks))]
        split = len(chunks) > 1
        assert [(j.acc_cont, j.acc_hold) for j in seq] == [
            (i > 0, i < len(chunks) - 1) for i in range(len(chunks))
        ]
        assert all(j.split == split for j in seq)
        assert len({(j.m, j.n, j.row0) for j in seq}) == 1
    np.testing.assert_array_equal(_run(plan, cfg, layer), layer.output(rounding=cfg.rounding))


@pytest.mark.parametrize("dataflow", ["os", "ws"])
@pytest.mark.parametrize(
    "op,dims",
    [
        ("conv2d", dict(h=5, w=4, cin=20, cout=9, kernel=3, padding="SAME")),  # K = 180
        ("conv2d", dict(h=4, w=4, cin=16, cout=6, kernel=3, groups=2, padding="SAME")),  # K = 72
        ("fully_connected", dict(batch=5, in_features=250, out_features=6)),
    ],
)
def test_k_split_layers_equal_direct_layer(dataflow, op, dims):
    cfg = SPLIT.replace(dataflow=dataflow)
    layer = golden.make_random_layer(op, rng=np.random.default_rng(7), acc_bits=24, **dims)
    plan = lower(layer, cfg)
    assert plan.k_chunks > 1
    for j in plan.jobs:
        cfg.check_job(j.m, j.k, j.n, split=True)
    np.testing.assert_array_equal(_run(plan, cfg, layer), layer.output())


def test_k_split_at_max_k_with_extreme_operands_never_wraps():
    """The largest sums the accumulator can hold, carried through 5 chunks."""
    cfg = SPLIT
    k = cfg.max_k
    for x_val, w_val, x_zp in ((-128, -128, 127), (127, -128, -128)):
        layer = golden.Layer("matmul", np.full((3, k), x_val), np.full((k, 2), w_val),
                             np.zeros(2, np.int64), np.full(2, (1 << 31) - 1), np.full(2, -16),
                             x_zp=x_zp, y_zp=0)
        plan = lower(layer, cfg)
        assert plan.k_chunks == 5
        sums = None
        for j in plan.jobs:
            sums = job_sums(j, sums if j.acc_cont else None, acc_bits=cfg.acc_bits)
        assert abs(int(sums[0, 0])) == k * 255 * 128 < 1 << 23
        np.testing.assert_array_equal(_run(plan, cfg, layer), layer.output())


def test_job_reference_contract():
    layer = golden.make_random_layer("matmul", rng=np.random.default_rng(8), m=3, k=100, n=2,
                                     acc_bits=24)
    jobs = lower(layer, SPLIT).jobs
    assert [(j.acc_cont, j.acc_hold) for j in jobs] == [(False, True), (True, False)]
    kw = dict(acc_bits=24)
    assert run_job_reference(jobs[0]).shape == (0, 2)  # a holding job sends nothing
    with pytest.raises(ValueError, match=r"^psum must hold the previous job's sums"):
        run_job_reference(jobs[1])
    with pytest.raises(ValueError, match=r"^psum must be None for a job without acc_cont$"):
        job_sums(jobs[0], np.zeros((3, 2), np.int64))
    with pytest.raises(ValueError, match=r"^psum must have shape \(3, 2\), not \(2, 2\)$"):
        job_sums(jobs[1], np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match=r"^partial sum .* does not fit acc_bits=10$"):
        job_sums(jobs[0], acc_bits=10)
    with pytest.raises(ValueError, match=r"^jobs\[1\] has acc_cont=False but the previous job h"):
        run_jobs_reference([jobs[0], jobs[0]], **kw)
    with pytest.raises(ValueError, match=r"^jobs\[0\] has acc_cont=True but .* holds no partial"):
        run_jobs_reference(jobs[1:], **kw)
    with pytest.raises(ValueError, match=r"^the last job holds partial sums that no job contin"):
        run_jobs_reference(jobs[:1], **kw)
    other = lower(golden.make_random_layer("matmul", rng=np.random.default_rng(9), m=2, k=100,
                                           n=2, acc_bits=24), SPLIT).jobs
    with pytest.raises(ValueError, match=r"^jobs\[1\] continues a K split of an M x N = 3 x 2 job"):
        run_jobs_reference([jobs[0], other[1]], **kw)


def test_assemble_checks_outputs_and_locate_inverts_placement():
    cfg = CONFIGS["os4x4"]
    layer = golden.make_random_layer(
        "conv2d", rng=np.random.default_rng(4), h=5, w=5, cin=2, cout=11, kernel=3, padding="SAME"
    )
    plan = lower(layer, cfg)
    outs = [np.full((j.m, j.n), i) for i, j in enumerate(plan.jobs)]
    y = plan.assemble(outs).reshape(-1)
    for index in (0, 7, y.size // 2, y.size - 1):
        job, m, n = plan.locate(index)
        assert y[index] == job and 0 <= m < plan.jobs[job].m and 0 <= n < plan.jobs[job].n
    with pytest.raises(ValueError, match=r"^outputs must hold one array per job"):
        plan.assemble(outs[:-1])
    outs[0] = outs[0][:, :-1]
    with pytest.raises(ValueError, match=r"^outputs\[0\] must have shape"):
        plan.assemble(outs)


def test_config_without_check_job_is_a_type_error():
    layer = golden.make_random_layer("matmul", rng=np.random.default_rng(5), m=2, k=2, n=2)
    with pytest.raises(
        TypeError, match=r"^config must have rows, cols, mult_bits, check_k and check_job"
    ):
        lower(layer, object())
