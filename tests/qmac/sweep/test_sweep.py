"""qmac sweep: axes and TOML, tasks and cache keys, resume, failing points, processes and Dask.

The end-to-end tests synthesize a tiny design (``tiny_mac_verilog``: ``rows`` registered int8
multiply-accumulate PEs in a chain, a couple of seconds in Yosys) through the real task function.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from amaranth.back import verilog
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig
from qmac import cli
from qmac.sweep.run import build_tasks, run_sweep, run_tasks
from qmac.sweep.spec import (
    SWEEP_BUF_DEPTH,
    SweepSpec,
    derive_acc_bits,
    parse_axis,
    parse_sizes,
    spec_from_toml,
)

BROKEN_ROWS = 3


class _TinyPE(wiring.Component):
    def __init__(self, a_bits: int, w_bits: int, acc_bits: int):
        super().__init__(
            {"a": In(signed(a_bits)), "w": In(signed(w_bits)), "acc": Out(signed(acc_bits))}
        )

    def elaborate(self, platform):
        m = Module()
        product = Signal(signed(len(self.a) + len(self.w)))
        m.d.sync += [product.eq(self.a * self.w), self.acc.eq(self.acc + product)]
        return m


class _TinyChain(wiring.Component):
    def __init__(self, config: ArrayConfig):
        self._cfg = config
        super().__init__(
            {
                "a": In(signed(config.a_bits)),
                "w": In(signed(config.w_bits)),
                "acc": Out(signed(config.acc_bits)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        total, a = 0, self.a
        for i in range(self._cfg.rows):
            pe = m.submodules[f"pe_{i}"] = _TinyPE(
                self._cfg.a_bits, self._cfg.w_bits, self._cfg.acc_bits
            )
            m.d.comb += [pe.a.eq(a), pe.w.eq(self.w)]
            total = total + pe.acc
            delayed = Signal.like(a, name=f"a_{i}")  # distinct operands: no shared multiplier
            m.d.sync += delayed.eq(a)
            a = delayed
        m.d.comb += self.acc.eq(total)
        return m


def tiny_mac_verilog(config: ArrayConfig) -> str:
    """A sweep design (top ``qmac_top``); broken Verilog when rows == BROKEN_ROWS (tool fails)."""
    text = verilog.convert(_TinyChain(config), name="qmac_top")
    return text.replace("endmodule", "endmodule garbage", 1) if config.rows == BROKEN_ROWS else text


TINY = "tests.qmac.sweep.test_sweep:tiny_mac_verilog"


# ---- axes and spec -------------------------------------------------------------------------------
def test_parse_axis_values():
    assert parse_axis("rows", "4, 8,16") == [4, 8, 16]
    assert parse_axis("dataflow", "os,ws") == ["os", "ws"]
    assert parse_axis("target", ["ecp5", "generic"]) == ["ecp5", "generic"]
    assert parse_sizes("4x4,8X16") == [(4, 4), (8, 16)]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("rows", "4,x", r"^--rows values must be integers, not 'x'$"),
        ("rows", "4,,8", r"^--rows must be a non-empty comma list, not '4,,8'$"),
        ("a_bits", "4,4", r"^--a-bits has 4 twice$"),
        ("target", "ecp5,vivado", r"^--target values must be in .*, not 'vivado'$"),
        ("depth", "4", r"^unknown sweep axis 'depth'; known: target, rows, "),
    ],
)
def test_parse_axis_rejects(name, text, message):
    with pytest.raises(ValueError, match=message):
        parse_axis(name, text)


def test_parse_sizes_rejects():
    with pytest.raises(ValueError, match=r"^--size values must look like ROWSxCOLS, not '4by4'$"):
        parse_sizes("4x4,4by4")


def test_config_dicts_product_and_derived_widths():
    spec = SweepSpec(
        axes={"a_bits": "4,8,16", "w_bits": [8]}, sizes=[(2, 2), (4, 8)], targets=["ecp5"]
    )
    dicts = spec.config_dicts()
    assert len(dicts) == 2 * 3
    assert {(d["rows"], d["cols"], d["a_bits"]) for d in dicts} == {
        (r, c, a) for r, c in ((2, 2), (4, 8)) for a in (4, 8, 16)
    }
    for d in dicts:
        # the documented rule, and a K of at least 2^15 products never overflows
        assert d["acc_bits"] == max(32, d["a_bits"] + d["w_bits"] + 16)
        assert ArrayConfig.from_dict(d).max_k >= 1 << 15
        assert d["a_buf_depth"] == d["w_buf_depth"] == SWEEP_BUF_DEPTH
    assert derive_acc_bits(8, 8) == 32
    assert spec.with_quant_error
    assert not SweepSpec(axes={"rows": "2,4"}).with_quant_error


def test_explicit_acc_bits_axis_is_kept():
    spec = SweepSpec(axes={"acc_bits": "24"})
    assert [d["acc_bits"] for d in spec.config_dicts()] == [24]


def test_size_excludes_rows():
    with pytest.raises(ValueError, match=r"^size cannot be combined with rows or cols axes$"):
        SweepSpec(axes={"rows": "4"}, sizes=[(4, 4)])


def test_toml_spec(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(
        '[sweep]\nsize = ["2x2", "4x4"]\na_bits = [4, 8]\ntarget = ["ice40"]\n'
        "[options]\npnr = true\nfreq_mhz = 50\n"
    )
    spec = spec_from_toml(f)
    assert spec.sizes == [(2, 2), (4, 4)] and spec.axes == {"a_bits": [4, 8]}
    assert spec.targets == ["ice40"] and spec.pnr and spec.freq_mhz == 50
    f.write_text("[sweep]\nrows = [2]\n[options]\ngrade = 1\n")
    with pytest.raises(ValueError, match=r"has unknown option 'grade'"):
        spec_from_toml(f)
    f.write_text("[sweep\n")
    with pytest.raises(ValueError, match=r"is not valid TOML"):
        spec_from_toml(f)


# ---- tasks and keys ------------------------------------------------------------------------------
def test_tasks_share_quant_and_keys_follow_inputs(tmp_path):
    spec = SweepSpec(
        axes={"a_bits": "4,8"}, sizes=[(2, 2), (4, 4)], targets=["ecp5", "generic"], design=TINY
    )
    points, tasks = build_tasks(spec, tmp_path)
    kinds = [t["kind"] for t in tasks]
    assert len(points) == 2 * 2 * 2
    assert kinds.count("synth") == 8 and kinds.count("quant") == 2  # one per (a_bits, w_bits)
    again = build_tasks(spec, tmp_path)[1]
    assert [t["key"] for t in again] == [t["key"] for t in tasks]
    spec.freq_mhz = 50.0  # no PnR: the frequency does not change what is computed
    assert [t["key"] for t in build_tasks(spec, tmp_path)[1]] == [t["key"] for t in tasks]
    spec.pnr = True
    changed = build_tasks(spec, tmp_path)[1]
    synth = [t["key"] for t in tasks if t["kind"] == "synth"]
    ecp5_keys = [
        t["key"] for t in changed if t["kind"] == "synth" and t["payload"]["target"] == "ecp5"
    ]
    assert not set(ecp5_keys) & set(synth)


def test_invalid_config_is_an_input_error_naming_the_point(tmp_path):
    spec = SweepSpec(axes={"a_bits": "8", "acc_bits": "12,32"}, targets=["ecp5"], quant_error="off")
    with pytest.raises(
        ValueError,
        match=r"^sweep point a_bits=8, acc_bits=12: acc_bits must be at least a_bits \+ w_bits = "
        r"16 to hold one product, not 12$",
    ):
        build_tasks(spec, tmp_path)


# ---- execution: resume, failures, processes, Dask -----------------------------------------------
CALLS: list[str] = []


def counting_task(task: dict) -> dict:
    CALLS.append(task["key"])
    if task["payload"].get("a_bits") == 6 and "interrupt" in task["payload"].get("note", ""):
        raise KeyboardInterrupt
    return {"status": "ok", "reason": "", "value": task["payload"]["a_bits"] * 10, "seconds": 0.0}


def _quant_tasks(bits, note=""):
    return [{"kind": "quant", "key": f"k{b}", "payload": {"a_bits": b, "note": note}} for b in bits]


def test_interrupted_sweep_resumes(tmp_path):
    CALLS.clear()
    with pytest.raises(KeyboardInterrupt):
        run_tasks(
            _quant_tasks([2, 4, 6, 8], "interrupt"),
            cache_dir=tmp_path,
            jobs=1,
            progress=False,
            task_fn=counting_task,
        )
    assert CALLS == ["k2", "k4", "k6"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k2.json", "k4.json"]
    CALLS.clear()
    results = run_tasks(
        _quant_tasks([2, 4, 6, 8]),
        cache_dir=tmp_path,
        jobs=1,
        progress=False,
        task_fn=counting_task,
    )
    assert CALLS == ["k6", "k8"]  # only what the interrupted run did not finish
    assert {k: r["value"] for k, r in results.items()} == {"k2": 20, "k4": 40, "k6": 60, "k8": 80}
    assert [results[k]["cached"] for k in ("k2", "k4", "k6", "k8")] == [True, True, False, False]


def test_cli_failing_point_recorded_rest_finished(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = cli.main(
        [
            "sweep",
            "--rows",
            f"1,2,{BROKEN_ROWS}",
            "--target",
            "ecp5",
            "--design",
            TINY,
            "--jobs",
            "2",
            "--workdir",
            str(tmp_path / "w"),
            "-o",
            str(out),
            "--no-progress",
        ]
    )
    doc = json.loads(out.read_text())
    rows = {r["rows"]: r for r in doc["rows"]}
    assert code == 1 == doc["meta"]["failed_points"]
    assert rows[BROKEN_ROWS]["status"] == "failed"
    assert re.search(
        r"^ToolError: yosys \(ecp5\) exited with 1: .*ERROR", rows[BROKEN_ROWS]["reason"]
    )
    for r in (1, 2):  # one MULT18X18D per PE and the accumulators as flip-flops
        assert rows[r]["status"] == "ok" and rows[r]["dsp"] == r
        assert rows[r]["ff"] >= r * ArrayConfig().acc_bits
    assert rows[2]["carry"] > rows[1]["carry"]
    assert f"failed: {rows[BROKEN_ROWS]['name']}" in capsys.readouterr().err
    # a re-run computes only the failed point again
    code = cli.main(
        [
            "sweep",
            "--rows",
            f"1,2,{BROKEN_ROWS}",
            "--target",
            "ecp5",
            "--design",
            TINY,
            "--jobs",
            "2",
            "--workdir",
            str(tmp_path / "w"),
            "-o",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 1 and json.loads(out.read_text())["meta"]["tasks_cached"] == 2


def test_dask_local_cluster_runs_real_task(tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = SweepSpec(axes={"rows": "1,2"}, targets=["ecp5"], design=TINY)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        doc = run_sweep(spec, workdir=tmp_path, dask=cluster.scheduler_address, progress=False)
    assert doc["meta"]["dask"] == cluster.scheduler_address
    assert [(r["rows"], r["status"], r["dsp"]) for r in doc["rows"]] == [(1, "ok", 1), (2, "ok", 2)]


def test_cli_rejects_bad_axis(capsys):
    assert cli.main(["sweep", "--a-bits", "8,eight"]) == 2
    assert re.search(
        r"^qmac sweep: error: --a-bits values must be integers, not 'eight'$",
        capsys.readouterr().err.strip(),
    )


def test_example_sweep_files_are_valid():
    examples = Path(__file__).resolve().parents[3] / "examples"
    spec = spec_from_toml(examples / "sweep_ecp5.toml")
    dicts = spec.config_dicts()
    assert len(dicts) == 6 and spec.pnr and spec.with_quant_error
    assert (spec.speed, spec.seeds, spec.freq_mhz, spec.breakdown) == (6, 1, 150, True)
    assert {(d["rows"], d["a_bits"], d["w_bits"]) for d in dicts} == {
        (s, b, b) for s in (2, 4, 8) for b in (4, 8)
    }
    bits = spec_from_toml(examples / "sweep_bits.toml")
    assert bits.targets == ["ecp5"] and not bits.pnr and bits.with_quant_error
    assert {(d["rows"], d["a_bits"]) for d in bits.config_dicts()} == {(4, 2), (4, 3), (4, 6)}


def test_bits_excludes_a_bits(capsys):
    assert cli.main(["sweep", "--bits", "4,8", "--a-bits", "8"]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("error: bits cannot be combined with a_bits or w_bits axes")
    )


def interrupt_on_4_bits(task: dict) -> dict:
    if task["payload"]["a_bits"] == 4:
        raise KeyboardInterrupt
    return {"status": "ok", "reason": "", "sqnr_db": 1.5, "seconds": 0.0}


def test_partial_results_and_cache_only(tmp_path):
    spec = SweepSpec(bits=[2, 4], targets=[])
    out = tmp_path / "r.json"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(
            spec, workdir=tmp_path, jobs=1, progress=False, task_fn=interrupt_on_4_bits, output=out
        )
    partial = json.loads(out.read_text())
    assert partial["meta"]["partial"] is True
    assert [(r["a_bits"], r["status"], r["reason"]) for r in partial["rows"]] == [
        (2, "ok", ""),
        (4, "failed", "pending"),
    ]
    doc = run_sweep(
        spec, workdir=tmp_path, progress=False, task_fn=interrupt_on_4_bits, cache_only=True
    )
    assert [(r["status"], r.get("sqnr_db")) for r in doc["rows"]] == [("ok", 1.5), ("failed", None)]
    assert doc["rows"][1]["reason"] == "not in the cache (--cache-only)"
    assert doc["meta"]["tasks_cached"] == 1 and doc["meta"]["partial"] is False


# ---- input checked before anything runs -----------------------------------------------------
def test_toml_scalars_are_one_value_axes(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[sweep]\nbits = 8\nsize = "4x4"\nrounding = "single"\ntarget = "none"\n')
    spec = spec_from_toml(f)
    assert (spec.bits, spec.sizes, spec.axes, spec.targets) == (
        [8], [(4, 4)], {"rounding": ["single"]}, []
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ('pnr = "yes"', r"^pnr must be true or false, not 'yes'$"),
        ("timeout_s = 0", r"^timeout_s must be a positive number of seconds, not 0$"),
        ("seed = -1", r"^seed must be a non-negative integer, not -1$"),
        ("n_test = 0", r"^n_test must be in \[1, 397\] \(the digits test split\), not 0$"),
        ('n_test = "5"', r"^n_test must be an integer, not '5'$"),
        ('workload = "matmul7"', r"^workload must be one of matmul16, .*, not 'matmul7'$"),
        ("freq_mhz = -5", r"^freq_mhz must be a positive number, not -5$"),
        ("pnr = true\nspeed = 5", r"^speed must be an ECP5 speed grade, one of 6, 7, 8, not 5$"),
        ("pnr = true\nspeed = 6.0",
         r"^speed must be an ECP5 speed grade, one of 6, 7, 8, not 6\.0$"),
        ("pnr = true\nseeds = 0",
         r"^seeds must be a positive integer \(nextpnr seeds 1\.\.N\), not 0$"),
        ("pnr = true\nseeds = true", r"^seeds must be a positive integer .*, not True$"),
    ],
)
def test_toml_options_rejected_when_read(tmp_path, options, message):
    f = tmp_path / "s.toml"
    f.write_text(f"[sweep]\nbits = 8\n[options]\n{options}\n")
    with pytest.raises(ValueError, match=message):
        spec_from_toml(f)


def test_workload_that_cannot_run_on_a_point_is_an_input_error(tmp_path):
    spec = SweepSpec(sizes=[(4, 4)], axes={"acc_bits": [18, 32]}, workload="matmul64", targets=[])
    with pytest.raises(ValueError, match=r"^sweep point size=4x4, acc_bits=18: K=64 exceeds"):
        build_tasks(spec, tmp_path)


def test_unreachable_dask_scheduler_fails_before_anything_runs(tmp_path, monkeypatch):
    from qmac.sweep import run as sweep_run

    monkeypatch.setattr(sweep_run, "DASK_CONNECT_TIMEOUT_S", 1.0)
    CALLS.clear()
    spec = SweepSpec(bits=[4], targets=[])
    # every task cached: the scheduler is still checked, and no task runs
    run_sweep(spec, workdir=tmp_path, jobs=1, progress=False, task_fn=counting_task)
    CALLS.clear()
    with pytest.raises(ValueError, match=r"^--dask tcp://127\.0\.0\.1:1: no Dask scheduler"):
        run_sweep(spec, workdir=tmp_path, dask="tcp://127.0.0.1:1", progress=False,
                  task_fn=counting_task)
    assert CALLS == []


def test_sim_task_reports_a_testbench_failure(tmp_path, monkeypatch, capsys):
    """The sweep's sim task fails its point with the testbench's reason (outputs still match)."""
    import functools

    from qmac.sweep import task_sim

    monkeypatch.setattr(
        task_sim, "run_layer", functools.partial(task_sim.run_layer, inject=("input_tlast",))
    )
    out = tmp_path / "r.json"
    argv = ["sweep", "--size", "4x4", "--a-buf-depth", "1024", "--w-buf-depth", "1024",
            "--workload", "matmul16", "--target", "none", "--quant-error", "off", "--jobs", "1",
            "--workdir", str(tmp_path / "w"), "-o", str(out), "--no-progress"]
    assert cli.main(argv) == 1
    row = json.loads(out.read_text())["rows"][0]
    assert row["status"] == "failed"
    assert re.match(r"^SimError: the sticky error port is set", row["reason"]), row["reason"]
    assert "SimError: the sticky error port is set" in capsys.readouterr().err


def test_results_file_in_a_new_folder(tmp_path):
    out = tmp_path / "new" / "deeper" / "r.json"
    argv = ["sweep", "--bits", "8", "--target", "none", "--n-test", "5", "--jobs", "1",
            "--workdir", str(tmp_path / "w"), "-o", str(out), "--no-progress"]
    assert cli.main(argv) == 0
    assert json.loads(out.read_text())["rows"][0]["status"] == "ok"
