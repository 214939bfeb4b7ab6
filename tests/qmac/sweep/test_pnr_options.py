"""qmac sweep --speed / --seeds: validation, cache keys, and the PnR fields of every synth row.

Place and route is faked here (``place_and_route_seeds`` replaced by a function returning what it
documents); the real nextpnr runs in ``tests/qmac/synth``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qmac import cli
from qmac.sweep import task_synth
from qmac.sweep.run import build_tasks, run_sweep
from qmac.sweep.spec import SweepSpec, spec_from_toml

TINY = "tests.qmac.sweep.test_sweep:tiny_mac_verilog"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--speed", "5"], r"argument --speed: expected an ECP5 speed grade 6, 7, 8, not '5'"),
        (["--speed", "six"], r"argument --speed: expected an ECP5 speed grade 6, 7, 8, not 'six'"),
        (["--seeds", "0"], r"argument --seeds: expected a positive integer, not '0'"),
    ],
)
def test_bad_speed_or_seeds_is_a_parse_error(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        cli.main(["sweep", "--rows", "1", "--workdir", str(tmp_path / "w"), *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err)
    assert not (tmp_path / "w").exists()  # rejected before anything was written


def test_toml_speed_and_seeds_reach_the_spec(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("[sweep]\nrows = 1\n[options]\npnr = true\nspeed = 8\nseeds = 3\n")
    spec = spec_from_toml(f)
    assert (spec.speed, spec.seeds) == (8, 3)
    assert spec.options()["speed"] == 8 and spec.options()["seeds"] == 3


def _synth_keys(tmp_path, **options) -> list[str]:
    spec = SweepSpec(axes={"rows": "1,2"}, targets=["ecp5"], design=TINY, **options)
    return [t["key"] for t in build_tasks(spec, tmp_path)[1] if t["kind"] == "synth"]


def test_cache_key_follows_speed_and_seeds_of_routed_points(tmp_path):
    base = _synth_keys(tmp_path, pnr=True)
    assert len(set(base)) == 2
    for other in ({"speed": 8}, {"seeds": 3}, {"speed": 7, "seeds": 2}):
        keys = _synth_keys(tmp_path, pnr=True, **other)
        assert not set(keys) & set(base), other
    # without place and route, speed and seeds change nothing: the synthesis is shared
    assert _synth_keys(tmp_path, speed=8, seeds=3) == _synth_keys(tmp_path)


def test_ice40_points_get_no_speed_grade(tmp_path):
    spec = SweepSpec(axes={"rows": "1"}, targets=["ecp5", "ice40"], pnr=True, speed=8, seeds=2,
                     design=TINY)
    payloads = {t["payload"]["target"]: t["payload"] for t in build_tasks(spec, tmp_path)[1]}
    assert payloads["ecp5"]["speed"] == 8 and payloads["ice40"]["speed"] is None
    assert payloads["ecp5"]["seeds"] == payloads["ice40"]["seeds"] == 2


def _fake_seeds(calls):
    """A place_and_route_seeds that records its arguments and returns one run per seed given,
    Fmax 110 + 10 * seed MHz."""

    def fake(netlist, *, device, freq_mhz, workdir, seeds, speed, sdf, timeout):
        calls.append({"device": device, "freq_mhz": freq_mhz, "seeds": seeds, "speed": speed,
                      "sdf": sdf})
        runs = [
            {"fmax_mhz": 110.0 + 10 * s, "freq_mhz": float(freq_mhz), "pnr_s": 1.5, "seed": s,
             "speed": speed, "log": f"{workdir}/seed{s}/nextpnr.log",
             "utilization": {"TRELLIS_COMB": {"used": 10, "available": 1000}},
             "critical": {"start": "engine.need", "end": f"engine.mesh.pe_0_{s}.acc", "pin": "CE",
                          "delay_ns": 1000 / (110.0 + 10 * s), "count": 64}}
            for s in seeds
        ]
        for s in seeds:
            Path(workdir, f"seed{s}").mkdir(parents=True, exist_ok=True)
        return {"runs": runs, "seeds": seeds, "speed": speed}

    return fake


def test_rows_carry_speed_seeds_and_the_critical_path(tmp_path, monkeypatch):
    calls: list[dict] = []
    monkeypatch.setattr(task_synth, "place_and_route_seeds", _fake_seeds(calls))
    spec = SweepSpec(axes={"rows": "1"}, targets=["ecp5"], design=TINY, pnr=True,
                     freq_mhz=150, speed=7, seeds=3)
    doc = run_sweep(spec, workdir=tmp_path, jobs=1, progress=False)
    assert calls == [{"device": "ecp5-85k", "freq_mhz": 150, "seeds": [s], "speed": 7,
                      "sdf": True} for s in (1, 2, 3)]
    (row,) = doc["rows"]
    assert row["status"] == "ok", row["reason"]
    assert (row["speed"], row["seeds"], row["target_mhz"]) == (7, 3, 150.0)
    assert (row["fmax_mhz"], row["fmax_min_mhz"], row["fmax_max_mhz"]) == (130.0, 120.0, 140.0)
    assert row["fmax_runs_mhz"] == [120.0, 130.0, 140.0] and row["pnr_s"] == 4.5
    # the critical path of the median seed (seed 2)
    assert (row["critical_start"], row["critical_end"], row["critical_pin"]) == (
        "engine.need", "engine.mesh.pe_0_2.acc", "CE")
    assert row["critical_ns"] == pytest.approx(1000 / 130) and row["critical_count"] == 64
    assert row["pnr_logic_pct"] == 1.0


def test_an_interrupted_point_reuses_the_seeds_that_finished(tmp_path, monkeypatch):
    calls: list[dict] = []
    monkeypatch.setattr(task_synth, "place_and_route_seeds", _fake_seeds(calls))
    spec = SweepSpec(axes={"rows": "1"}, targets=["ecp5"], design=TINY, pnr=True, seeds=3)
    first = run_sweep(spec, workdir=tmp_path, jobs=1, progress=False)["rows"][0]
    (point,) = (tmp_path / "points").iterdir()
    (point / "pnr" / "seed2" / "result.json").unlink()  # as if killed while routing seed 2
    for cached in (tmp_path / "cache").glob("*.json"):
        cached.unlink()
    calls.clear()
    again = run_sweep(spec, workdir=tmp_path, jobs=1, progress=False)["rows"][0]
    assert [c["seeds"] for c in calls] == [[2]]
    assert again["fmax_runs_mhz"] == first["fmax_runs_mhz"] == [120.0, 130.0, 140.0]


def test_skipped_point_still_states_speed_and_seeds(tmp_path, monkeypatch):
    calls: list[dict] = []
    monkeypatch.setattr(task_synth, "place_and_route_seeds", _fake_seeds(calls))
    monkeypatch.setattr(task_synth, "check_fit", lambda stats, device: "needs 999 DSP > 156")
    spec = SweepSpec(axes={"rows": "1"}, targets=["ecp5"], design=TINY, pnr=True, speed=8,
                     seeds=2)
    (row,) = run_sweep(spec, workdir=tmp_path, jobs=1, progress=False)["rows"]
    assert calls == [] and row["pnr_note"] == "skipped: needs 999 DSP > 156"
    assert (row["speed"], row["seeds"], row.get("fmax_mhz")) == (8, 2, None)
