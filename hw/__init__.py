"""qmac hardware: Amaranth components of the quantized systolic MAC array.

One hierarchy level per file.

``QmacTop`` is the ``qmac_top`` Verilog module (ports: docs/PROTOCOL.md); its parts are the stream
loaders (``hw.loader``), a dataflow engine (``hw.engine_os.OSEngine`` or ``hw.engine_ws.WSEngine``,
interface docs/ENGINE.md) built from ``hw.mesh_os``/``hw.pe_os`` and ``hw.skew``, and the per-column
``hw.requant.Requant`` units.
"""

from hw.config import DATAFLOWS, PRESETS, ROUNDINGS, ArrayConfig, preset
from hw.engine import engine_signature
from hw.engine_os import OSEngine
from hw.requant import Requant
from hw.top import QmacTop, top_signature

__all__ = [
    "ArrayConfig",
    "PRESETS",
    "preset",
    "DATAFLOWS",
    "ROUNDINGS",
    "engine_signature",
    "OSEngine",
    "Requant",
    "QmacTop",
    "top_signature",
]
