"""Mutants of the requantization unit, for showing that the proof can fail.

A mutant is ``hw/requant.py`` with one textual change, loaded as a module of its own (the real
module is untouched), or a subclass that misreports its latency. Each names the rounding modes
whose spec it must violate.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import sys
import types

import hw.requant
from hw.config import ArrayConfig

__all__ = ["Mutant", "MUTANTS", "mutated_source", "build", "LateByOne"]


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One change to the unit's source.

    Attributes
    ----------
    name : str
    old, new : str
        ``old`` must occur exactly once in ``hw/requant.py``; it is replaced by ``new``.
    breaks : tuple of str
        Rounding modes whose spec the mutant violates (the proof must fail for them); only the
        modes the unit has (``hw.config.ROUNDINGS``) are tried.
    """

    name: str
    old: str
    new: str
    breaks: tuple[str, ...]


MUTANTS = (
    # The high multiply of a right-shifting channel truncates non-negative products instead of
    # rounding them (its rounding constant 2^(B-2) dropped, as the +1 at bit B - 2).
    Mutant("rounding_constant_dropped", "Mux(q[-1], -1, 1) if", "Mux(q[-1], -1, 0) if",
           ("tflite",)),
    # RoundingDivideByPOT rounds negative ties up instead of away from zero: this is exactly
    # the "halfup" contract, so the same mutant must pass that spec.
    Mutant("ties_away_correction_removed", "Mux(q[-1], -1, 1)", "1", ("tflite",)),
    # The final rounding truncates instead of rounding half up.
    Mutant("round_half_up_dropped", "r.eq((h_sat + 1) >> 1)", "r.eq(h_sat >> 1)",
           ("tflite", "single", "halfup")),
    # Saturation two bits too narrow: values beyond the clamp wrap into range.
    Mutant("saturation_too_narrow", "h_bits = out_bits + 3", "h_bits = out_bits + 1",
           ("tflite", "single", "halfup")),
)


def mutated_source(mutant: Mutant) -> str:
    """``hw/requant.py`` with the mutant's change.

    Raises
    ------
    LookupError
        If ``mutant.old`` does not occur exactly once (the unit's source moved on).
    """
    source = inspect.getsource(hw.requant)
    count = source.count(mutant.old)
    if count != 1:
        raise LookupError(
            f"mutant {mutant.name}: {mutant.old!r} occurs {count} times in hw/requant.py "
            "(expected once); update the mutant to the unit's current source"
        )
    return source.replace(mutant.old, mutant.new)


def _load(mutant: Mutant) -> types.ModuleType:
    source = mutated_source(mutant)
    name = f"hw._requant_mutant_{mutant.name}"
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))
    sys.modules[name] = module  # dataclasses and Amaranth look modules up by name
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


def build(mutant: Mutant, config: ArrayConfig):
    """A Requant of ``config`` built from the mutated source."""
    return _load(mutant).Requant(config)


class LateByOne(hw.requant.Requant):
    """The real unit claiming one cycle more latency than it has."""

    @property
    def latency(self) -> int:
        return super().latency + 1
