"""The signature shared by the dataflow engines (docs/ENGINE.md has the timing of each member)."""

from __future__ import annotations

from amaranth.hdl import signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig

__all__ = ["engine_signature"]


def engine_signature(config: ArrayConfig) -> wiring.Signature:
    """Ports of an ``OSEngine`` / ``WSEngine`` for ``config`` (directions as seen by the engine)."""
    dim = config.dim_bits
    return wiring.Signature({
        "start": In(1),
        "idle": Out(1),
        "job_m": In(dim),
        "job_k": In(dim),
        "job_n": In(dim),
        "job_x_zp": In(signed(config.a_bits)),
        "job_bank": In(1),
        "a_addr": Out(range(2 * config.a_buf_depth)),
        "a_en": Out(1),
        "a_data": In(config.rows * config.a_bits),
        "w_addr": Out(range(2 * config.w_buf_depth)),
        "w_en": Out(1),
        "w_data": In(config.cols * config.w_bits),
        "released": Out(1),
        "res_valid": Out(1),
        "res_acc": Out(data.ArrayLayout(signed(config.acc_bits), config.cols)),
        "res_nb": Out(dim),
        "res_bank": Out(1),
        "res_last": Out(1),
        "res_lanes": Out(config.cols),
    })
