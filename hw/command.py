"""The job command: one ``data.StructLayout`` for the top's ports, its job slots and the testbench.

``qmac_top`` has one flat input port per field (``cmd_<field>``, docs/PROTOCOL.md); the top keeps
each accepted command in a slot of this layout; ``sim.jobfile`` writes the fields in this order, and
the testbench drives the ports by these names. So the field list exists once.
"""

from __future__ import annotations

from amaranth.hdl import signed
from amaranth.lib import data

from hw.config import ArrayConfig

__all__ = ["command_layout", "command_fields"]


def command_layout(config: ArrayConfig) -> data.StructLayout:
    """Fields of one job command for ``config``.

    ``m``, ``k``, ``n`` (unsigned, ``dim_bits``): job dimensions; ``x_zp`` (signed a_bits):
    activation zero point; ``y_zp``, ``act_min``, ``act_max`` (signed out_bits): output zero
    point and inclusive clamp; ``acc_cont``, ``acc_hold`` (1 bit each) chain the jobs of a K
    split (docs/PROTOCOL.md, "K split"): ``acc_cont`` adds the job's sums to the partial sums the
    previous job held, ``acc_hold`` keeps the sums in the partial-sum memory instead of
    requantizing and sending them. Both 0 is a whole job (the same as before K splits existed).
    """
    dim = config.dim_bits
    return data.StructLayout({
        "m": dim,
        "k": dim,
        "n": dim,
        "x_zp": signed(config.a_bits),
        "y_zp": signed(config.out_bits),
        "act_min": signed(config.out_bits),
        "act_max": signed(config.out_bits),
        "acc_cont": 1,
        "acc_hold": 1,
    })


def command_fields(config: ArrayConfig) -> tuple[str, ...]:
    """Field names of :func:`command_layout`, in port and job-file order."""
    return tuple(name for name, _ in command_layout(config))
