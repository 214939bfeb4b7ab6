"""sim.cell_models: the models an ECP5-target build compiles cover every cell its Verilog
instantiates, ship with the package, and the target names agree with hw.target."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser from PyPI
    import tomli as tomllib

from hw.config import ArrayConfig
from hw.emit import generate_verilog
from hw.target import TARGETS
from sim.cell_models import (
    MULT18X18D_MODEL,
    TARGET_NAMES,
    check_target_name,
    target_models,
    yosys_ecp5_models,
)

ROOT = Path(__file__).resolve().parents[2]
SMALL = dict(rows=2, cols=2, a_buf_depth=16, w_buf_depth=16, param_depth=4, acc_depth=4,
             out_fifo_depth=4)


def _modules(text: str) -> set[str]:
    return set(re.findall(r"^\s*module\s+\\?([\w.$]+)", text, flags=re.M))


def _instantiated(text: str) -> set[str]:
    """Modules instantiated with parameters (how Amaranth writes an Instance), by name."""
    return set(re.findall(r"^\s*\\?([\w.$]+)\s+#\(", text, flags=re.M))


def test_target_names_are_those_of_hw():
    assert TARGET_NAMES == tuple(TARGETS)


def test_check_target_name():
    assert check_target_name("ecp5") == "ecp5"
    with pytest.raises(ValueError, match=r"^target must be one of generic, ecp5, not 'xc7'$"):
        check_target_name("xc7")
    with pytest.raises(ValueError, match=r"^target must be one of generic, ecp5, not None$"):
        check_target_name(None)
    with pytest.raises(ValueError, match=r"^target must be one of generic, ecp5, not 'ECP5'$"):
        target_models("ECP5")


def test_generic_needs_no_models():
    assert target_models("generic") == []


@pytest.mark.parametrize(("dataflow", "expected"), [
    ("os", {"MULT18X18D", "CCU2C"}),  # the OS PEs accumulate in CCU2C chains
    ("ws", {"MULT18X18D"}),  # WS sums in the accumulator memory's adders
])
def test_ecp5_models_define_every_instantiated_cell(dataflow, expected):
    text = generate_verilog(ArrayConfig(dataflow=dataflow, **SMALL), target="ecp5")
    cells = _instantiated(text) - _modules(text)
    assert cells == expected
    models = target_models("ecp5")
    assert [name for name, _ in models] == ["MULT18X18D.v", "yosys_ecp5_cells.v"]
    defined = set().union(*(_modules(t) for _, t in models))
    # and the models define what they instantiate themselves (CCU2C is made of LUT4 and LUT2)
    used = set().union(*(_instantiated(t) for _, t in models))
    assert used == {"LUT4", "LUT2"}
    assert cells | used <= defined


def test_yosys_models_by_name():
    text = yosys_ecp5_models("LUT2", "CCU2C")
    assert [m for m in re.findall(r"^module\s+(\w+)", text, flags=re.M)] == ["LUT2", "CCU2C"]
    with pytest.raises(RuntimeError, match=r"not in Yosys's ECP5 models .*: NOSUCHCELL$"):
        yosys_ecp5_models("CCU2C", "NOSUCHCELL")


def test_mult18x18d_model_ships_as_package_data():
    """The model is inside the sim package and pyproject's package data takes it into a wheel."""
    assert MULT18X18D_MODEL.is_file() and MULT18X18D_MODEL.parent.parent == ROOT / "sim"
    assert "module MULT18X18D (" in MULT18X18D_MODEL.read_text()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = data["tool"]["setuptools"]["package-data"]["sim"]
    assert any(MULT18X18D_MODEL in set((ROOT / "sim").glob(g)) for g in globs)
    assert not (ROOT / "tests" / "hw" / "models").exists()  # one copy, the package's
