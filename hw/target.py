"""Target: which FPGA primitives the generator may instantiate, passed to Amaranth as ``platform``.

Amaranth hands the ``platform`` argument of ``verilog.convert`` to every ``elaborate``, so a
component deep in the hierarchy (a PE, a requantization unit) can pick its implementation without
any parent knowing: ``hw.emit.generate_verilog(config, target="ecp5")`` converts with
``platform=TARGETS["ecp5"]``. The ``generic`` target (and ``platform=None``, what Amaranth's
simulator passes) infers everything from ``*``, ``+`` and registers, as portable Verilog; ``ecp5``
instantiates ``MULT18X18D`` with its own input/output registers (:mod:`hw.dsp`).

A Target has no ``get_memory`` or I/O hooks, so Amaranth's memories and FIFOs elaborate as they do
without a platform.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Target", "TARGETS", "GENERIC", "ECP5", "target_of", "check_target"]


@dataclass(frozen=True)
class Target:
    """An implementation target of the generated hardware.

    Attributes
    ----------
    name : str
        Key in :data:`TARGETS`.
    dsp : str or None
        Name of the DSP primitive instantiated for multipliers (None: inferred ``*``).
    """

    name: str
    dsp: str | None = None


GENERIC = Target("generic")
ECP5 = Target("ecp5", dsp="MULT18X18D")

#: Every target, by name.
TARGETS: dict[str, Target] = {t.name: t for t in (GENERIC, ECP5)}


def target_of(platform: object) -> Target:
    """The Target an ``elaborate(platform)`` call is for.

    Parameters
    ----------
    platform : Target, None or an Amaranth platform
        None (simulation, plain conversion) is :data:`GENERIC`; an Amaranth vendor platform whose
        ``family`` is ``"ecp5"`` (``LatticePlatform``) is :data:`ECP5`, any other is generic.

    Returns
    -------
    Target
    """
    if isinstance(platform, Target):
        return platform
    if platform is not None and getattr(platform, "family", None) == "ecp5":
        return ECP5
    return GENERIC


def check_target(target: object) -> Target:
    """The Target named by ``target`` (a name or a Target); ValueError for anything else."""
    if isinstance(target, Target):
        return target
    if isinstance(target, str) and target in TARGETS:
        return TARGETS[target]
    raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
