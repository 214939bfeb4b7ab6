"""Formal proof of hw.requant.Requant against the numeric contract (SymbiYosys), and its checks.

Default run: the narrow config (acc 20, mult 16, out 4) for every rounding mode the unit has,
the mutants, the product lemma, and the spec against golden. ``-m slow``: the int8 preset's
widths (acc 32, mult 32, out 8).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import golden
import hw.requant
from hw.config import ROUNDINGS, ArrayConfig
from hw.requant import Requant

from . import mutants, product_lemma
from .counterexample import read_counterexample, replay
from .runner import SPEC_MODES, run_proof, write_job
from .spec_eval import eval_spec

NARROW = dict(acc_bits=20, mult_bits=16, out_bits=4)
INT8 = dict(acc_bits=32, mult_bits=32, out_bits=8)
WIDE = dict(acc_bits=48, mult_bits=24, out_bits=16)
# Generous: a proof that passes on a quiet machine in seconds must not be cut short on a busy
# one; a timeout fails the test (status TIMEOUT), it never passes it.
TIMEOUT = 3600


def config(widths: dict, rounding: str) -> ArrayConfig:
    return ArrayConfig(a_bits=8, w_bits=8, rounding=rounding, **widths)


def test_every_mode_of_the_unit_has_a_spec():
    assert set(ROUNDINGS) <= set(SPEC_MODES)


# ---- the proof ---------------------------------------------------------------------------------
@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_proof_narrow(tmp_path, rounding):
    result = run_proof(tmp_path, Requant(config(NARROW, rounding)), timeout=TIMEOUT)
    assert result.status == "PASS", result.jobdir
    # The proof ran with the multipliers cut: there were some, and none is left in the netlist.
    assert result.cells
    assert "cell $mul" not in (tmp_path / "requant_dut.il").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_proof_int8(tmp_path, rounding):
    result = run_proof(tmp_path, Requant(config(INT8, rounding)), timeout=TIMEOUT)
    assert result.status == "PASS", result.jobdir


def test_latency_comes_from_the_unit(tmp_path):
    unit = Requant(config(NARROW, "tflite"))
    sby, _ = write_job(tmp_path, unit)
    assert f"depth {unit.latency + 1}\n" in sby.read_text()
    assert f"localparam LATENCY = {unit.latency};" in (tmp_path / "requant_formal.v").read_text()


def test_bad_arguments(tmp_path):
    unit = Requant(config(NARROW, "tflite"))
    with pytest.raises(ValueError, match="mode 'nearest'"):
        write_job(tmp_path, unit, mode="nearest")
    with pytest.raises(ValueError, match="product must be"):
        write_job(tmp_path, unit, product="exact")
    with pytest.raises(ValueError, match="solver must be"):
        write_job(tmp_path, unit, solver="minisat")
    write_job(tmp_path, unit)  # and the same unit with good arguments is fine


# ---- mutants: the proof must fail, with a counterexample that is real ------------------------
MUTANT_CASES = [(m, mode) for m in mutants.MUTANTS for mode in m.breaks if mode in ROUNDINGS]


@pytest.mark.parametrize("mutant, rounding", MUTANT_CASES,
                         ids=[f"{m.name}-{mode}" for m, mode in MUTANT_CASES])
def test_mutant_fails_with_a_real_counterexample(tmp_path, mutant, rounding):
    cfg = config(NARROW, rounding)
    unit = mutants.build(mutant, cfg)
    # With the spec's products made true the counterexample is one of the real mutant. It is a
    # counterexample of the abstract proof too (concrete only adds assumptions), so the same
    # unit fails test_proof_narrow's check.
    result = run_proof(tmp_path, unit, timeout=TIMEOUT, concrete=True)
    assert result.status == "FAIL"
    cx = read_counterexample(result.trace, unit.latency)
    assert cx.o_data != cx.want
    assert replay(mutants.build(mutant, cfg), cx.inputs) == cx.o_data  # the mutant does this
    assert replay(Requant(cfg), cx.inputs) == cx.want  # the real unit does what the spec says
    i = cx.inputs
    expected = golden.requantize(
        np.array([i["i_acc"] + i["i_bias"]]), i["i_m0"], i["i_shift"], y_zp=i["i_y_zp"],
        act_min=i["i_act_min"], act_max=i["i_act_max"], rounding=rounding,
        mult_bits=cfg.mult_bits,
    )
    assert int(expected[0]) == cx.want


def test_wrong_latency_fails(tmp_path):
    result = run_proof(tmp_path, mutants.LateByOne(config(NARROW, "tflite")), timeout=TIMEOUT)
    assert result.status == "FAIL"
    assert result.trace is not None


def test_ties_away_mutant_is_the_halfup_contract(tmp_path):
    # Without the correction, the second rounding is half up: DESIGN.md's "halfup". The spec's
    # halfup mode, written from its own formula, must agree; the same unit fails "tflite" above.
    mutant = next(m for m in mutants.MUTANTS if m.name == "ties_away_correction_removed")
    unit = mutants.build(mutant, config(NARROW, "tflite"))
    assert run_proof(tmp_path, unit, mode="halfup", timeout=TIMEOUT).status == "PASS"


def test_mutants_apply_to_the_current_source():
    for mutant in mutants.MUTANTS:
        # Raises LookupError when the mutated line is gone from the unit's source.
        assert mutants.mutated_source(mutant) != inspect.getsource(hw.requant)


# ---- the product lemma ------------------------------------------------------------------------
@pytest.mark.parametrize("widths", [NARROW, INT8, WIDE], ids=["narrow", "int8", "wide"])
def test_product_lemma(widths):
    parts = product_lemma.prove_product_lemma(widths["acc_bits"], widths["mult_bits"])
    assert all(parts.values()), parts


def test_product_lemma_rejects_a_wrong_chunk_table(monkeypatch):
    real = product_lemma.chunks

    def top_chunk_one_bit_high(width):
        table = real(width)
        lsb, bits, signed = table[-1]
        return table[:-1] + [(lsb + 1, bits - 1, signed)]

    monkeypatch.setattr(product_lemma, "chunks", top_chunk_one_bit_high)
    parts = product_lemma.prove_product_lemma(NARROW["acc_bits"], NARROW["mult_bits"])
    assert not parts["decomposition_x"]


# ---- the spec against golden ------------------------------------------------------------------
def _vectors(widths: dict, n: int, seed: int):
    """Random (x, m0, shift, y_zp, act_min, act_max), plus exact ties of both roundings."""
    rng = np.random.default_rng(seed)
    acc_bits, mult_bits, out_bits = widths["acc_bits"], widths["mult_bits"], widths["out_bits"]
    x_lim, m_lim, o_lim = 1 << acc_bits, 1 << (mult_bits - 1), 1 << (out_bits - 1)
    rows = []
    for _ in range(n):
        lo, hi = sorted(int(v) for v in rng.integers(-o_lim, o_lim, 2))
        rows.append((int(rng.integers(-x_lim, x_lim)), int(rng.integers(0, m_lim)),
                     int(rng.integers(-31, 31)), int(rng.integers(-o_lim, o_lim)), lo, hi))
    # m0 = 2^(B-2) is 0.5 in Q31: x = (2k+1) * 2^r makes the shift by r an exact tie.
    for r in range(1, 12):
        for k in (-3, -2, -1, 0, 1, 2):
            x = (2 * k + 1) << r
            if -x_lim <= x < x_lim:
                rows.append((x, 1 << (mult_bits - 2), -r, 0, -o_lim, o_lim - 1))
    return rows


def _spec(tmp_path, widths: dict, mode: str, rows) -> list[int]:
    return eval_spec(tmp_path, widths["acc_bits"], widths["mult_bits"], widths["out_bits"], mode,
                     [(x * m0, s, zp, lo, hi) for x, m0, s, zp, lo, hi in rows])


# Every mode golden implements (when golden gains "halfup", its spec is checked with no change).
@pytest.mark.parametrize("widths", [NARROW, INT8], ids=["narrow", "int8"])
@pytest.mark.parametrize("rounding", golden.ROUNDINGS)
def test_spec_matches_golden(tmp_path, widths, rounding):
    rows = _vectors(widths, 200, seed=sum(map(ord, rounding)))
    want = [
        int(golden.requantize(np.array([x]), m0, s, y_zp=zp, act_min=lo, act_max=hi,
                              rounding=rounding, mult_bits=widths["mult_bits"])[0])
        for x, m0, s, zp, lo, hi in rows
    ]
    assert _spec(tmp_path, widths, rounding, rows) == want


def test_spec_modes_differ_where_the_contract_says(tmp_path):
    # On exact ties of the second rounding, "tflite" rounds away from zero and "halfup" up, so
    # they differ by one on negative ties only.
    rows = _vectors(NARROW, 0, seed=0)
    outs = {mode: _spec(tmp_path / mode, NARROW, mode, rows) for mode in ("tflite", "halfup")}
    signs = [np.sign(x) for x, *_ in rows]
    assert [t - h for t, h in zip(outs["tflite"], outs["halfup"], strict=True)] == [
        -1 if sign < 0 else 0 for sign in signs]
