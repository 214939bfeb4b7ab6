"""Emission of one array: Verilog, a JSON manifest and a C header, all from the same ArrayConfig.

The manifest and the header carry the same figures (sizes, widths, latencies, limits, stream
layouts) so that software, testbenches and reports read them from the generated files instead of
re-deriving them. :func:`generator_hash` identifies the generator source, so caches of built
simulations can tell when the hardware description changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from amaranth.hdl import Shape
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from hw.config import ArrayConfig
from hw.target import Target, check_target

__all__ = [
    "MODULE_NAME",
    "generator_hash",
    "generate_verilog",
    "ports",
    "manifest",
    "c_header",
    "write_outputs",
]

#: Verilog module name of the generated top level (docs/PROTOCOL.md).
MODULE_NAME = "qmac_top"

_HW_DIR = Path(__file__).resolve().parent


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qmac")
    except PackageNotFoundError:  # source tree without installation
        return "0.0.0+src"


def generator_hash() -> str:
    """SHA-256 (hex) of the generator: every ``hw/*.py`` source (sorted) and the Amaranth version.

    Anything that can change the emitted Verilog for a given config changes this hash.
    """
    import amaranth

    h = hashlib.sha256()
    h.update(f"amaranth {amaranth.__version__}\n".encode())
    for path in sorted(_HW_DIR.glob("*.py")):
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


@contextlib.contextmanager
def _no_zero_meminit():
    """While active, Amaranth's RTLIL back end emits no ``$meminit_v2`` for all-zero memories.

    Amaranth 0.5 always writes a memory's initial contents bit by bit (``init=[]`` means all
    zeros), and Yosys then writes one ``initial`` assignment per word: for the 32 x 32 preset
    about a million bits through Python and thousands of Verilog lines per buffer. Without the
    cell the memory's initial contents are undefined in the emitted Verilog. That is sound for
    ``qmac_top``: no word of a memory is read into a port-visible value before it is written (the
    buffers' reads are held until the loader wrote the word, parameter lanes never written are
    those outside N, whose outputs are forced to zero, and the FIFO reads only filled entries,
    with ``tdata``/``tlast`` qualified by ``tvalid``). Verilator starts memories at zero anyway
    (unless ``+verilator+rand+reset``), and ECP5 block RAMs start at zero.
    """
    from amaranth.back import rtlil

    emitter = getattr(rtlil, "ModuleEmitter", None)
    original = getattr(emitter, "emit_memory", None)
    if original is None:  # another Amaranth version: leave its back end alone
        yield
        return

    def emit_memory(self, cell_idx, cell):
        if any(cell.init):
            original(self, cell_idx, cell)

    emitter.emit_memory = emit_memory
    try:
        yield
    finally:
        emitter.emit_memory = original


def _check_config(config: object) -> ArrayConfig:
    if not isinstance(config, ArrayConfig):
        raise TypeError(f"config must be an ArrayConfig, not {config!r}")
    return config


def _top(config: ArrayConfig) -> wiring.Component:
    from hw.top import QmacTop

    return QmacTop(config)


def generate_verilog(
    config: ArrayConfig,
    component: wiring.Component | None = None,
    *,
    name: str = MODULE_NAME,
    emit_src: bool = False,
    zero_init: bool = False,
    target: str | Target = "generic",
) -> str:
    """Verilog of ``QmacTop(config)`` (or of ``component``) as one module named ``name``.

    Parameters
    ----------
    config : ArrayConfig
        The array; also named in the provenance comment on the first line.
    component : wiring.Component, optional
        What to convert instead of ``QmacTop(config)`` (its signature gives the ports).
    name : str
        Verilog module name.
    emit_src : bool
        Keep Amaranth's ``src`` attributes (absolute source paths; off for reproducible output).
    zero_init : bool
        Keep the explicit all-zero initial contents of memories that Amaranth writes (slow and
        bulky; by default they are left out, see :func:`_no_zero_meminit` for why that is sound).
    target : {"generic", "ecp5"} or Target
        Implementation target (:mod:`hw.target`), handed to every ``elaborate`` as its platform:
        ``generic`` infers multipliers (portable Verilog, what simulation uses); ``ecp5``
        instantiates MULT18X18D blocks with their own registers (the Verilog then needs the
        vendor's cell library, or ``yosys synth_ecp5``).

    Returns
    -------
    str
        The Verilog text: a provenance comment line, then Amaranth's output (ports ``clk``,
        synchronous active-high ``rst`` and the signature members).

    Raises
    ------
    TypeError
        If ``config`` is not an ArrayConfig or ``component`` not a wiring.Component.
    ValueError
        If ``target`` is not a known target.
    """
    from amaranth.back import verilog

    _check_config(config)
    platform = check_target(target)
    if component is None:
        component = _top(config)
    elif not isinstance(component, wiring.Component):
        raise TypeError(f"component must be a wiring.Component, not {component!r}")
    with contextlib.nullcontext() if zero_init else _no_zero_meminit():
        text = verilog.convert(component, name=name, emit_src=emit_src, platform=platform)
    header = (
        f"// {name}: generated by qmac {_version()} for {config.name} "
        f"(config {config.digest}, generator {generator_hash()[:12]}"
        + ("" if platform.name == "generic" else f", target {platform.name}")
        + "). Do not edit.\n"
    )
    return header + text


def ports(config: ArrayConfig, component: wiring.Component | None = None) -> list[dict]:
    """Port list of the emitted module: ``clk``, ``rst``, then the component's signature members.

    Returns
    -------
    list of dict
        ``{"name": str, "direction": "in" | "out", "width": int, "signed": bool}`` in port order.
    """
    _check_config(config)
    if component is None:
        from hw.top import top_signature

        signature = top_signature(config)
    else:
        signature = component.signature
    result = [
        {"name": "clk", "direction": "in", "width": 1, "signed": False},
        {"name": "rst", "direction": "in", "width": 1, "signed": False},
    ]
    for path, member in signature.members.flatten():
        if not member.is_port:
            continue
        shape = Shape.cast(member.shape)
        result.append({
            "name": "__".join(str(p) for p in path),
            "direction": "out" if member.flow == Out else "in",
            "width": shape.width,
            "signed": shape.signed,
        })
    return result


def _latencies(config: ArrayConfig) -> dict[str, int]:
    """Pipeline figures in cycles, read from the components' own properties.

    ``requant`` (``Requant.latency``), ``top_start`` / ``top_output`` (QmacTop's ``start_latency``:
    last parameter beat to engine start; ``output_latency``: engine result row to its output beat)
    and ``engine_*`` (the dataflow engine's latency properties).
    """
    if config.dataflow == "os":
        from hw.engine_os import OSEngine as Engine
    else:
        from hw.engine_ws import WSEngine as Engine
    figures = {"requant": config.requant_latency}
    top, engine = _top(config), Engine(config)
    for obj, prefix, props in (
        (top, "top", ("start_latency", "output_latency")),
        (engine, "engine", ("out_latency", "preload_cycles", "row_latency", "result_latency")),
    ):
        obj._MustUse__silence = True  # built only to read latency properties
        for prop in props:
            if hasattr(obj, prop):
                figures[f"{prefix}_{prop.removesuffix('_latency')}"] = int(getattr(obj, prop))
    return figures


def _streams(config: ArrayConfig) -> dict[str, dict]:
    """Beat layouts of the four streams (docs/PROTOCOL.md, "Stream formats")."""
    a, w, b, s = config.acc_bits, config.mult_bits, config.acc_bits, config.shift_bits
    a_order = "mb*K + k, lane i = A[mb*R + i, k]" if config.dataflow == "os" else \
        "kb*M + m, lane i = A[m, kb*R + i]"
    return {
        "a": {"tdata_bits": config.a_tdata_bits, "lanes": config.rows, "lane_bits": config.a_bits,
              "beat_order": a_order},
        "w": {"tdata_bits": config.w_tdata_bits, "lanes": config.cols, "lane_bits": config.w_bits,
              "beat_order": "nb*K + k, lane j = W[k, nb*C + j]"},
        "param": {"tdata_bits": config.param_tdata_bits, "beat_order": "channel n",
                  "fields": {"bias": [0, b], "m0": [a, a + w], "shift": [a + w, a + w + s]}},
        "out": {"tdata_bits": config.out_tdata_bits, "lanes": config.cols,
                "lane_bits": config.out_bits, "beat_order": "nb*M + m, lane j = out[m, nb*C + j]"},
    }


def _job_limits(config: ArrayConfig) -> dict[str, int]:
    top = (1 << config.dim_bits) - 1
    limits = {
        "max_m": min(top, config.acc_depth) if config.dataflow == "ws" else top,
        "max_k": min(top, config.max_k),
        "max_n": min(top, config.param_depth),
        "a_buf_words": config.a_buf_depth,
        "w_buf_words": config.w_buf_depth,
        "jobs_in_flight": 2,
    }
    return limits


def manifest(config: ArrayConfig, component: wiring.Component | None = None) -> dict:
    """Everything a user of the emitted module needs to know, as a JSON-serializable dict.

    Keys: ``module``, ``qmac_version``, ``generator_hash``, ``config`` (all ArrayConfig fields),
    ``config_name``, ``config_digest``, ``ports`` (see :func:`ports`), ``latencies`` (cycles),
    ``derived`` (``max_k``, ``peak_macs_per_cycle``, widths), ``streams`` (tdata widths and
    layouts), ``job_limits``.
    """
    _check_config(config)
    return {
        "module": MODULE_NAME,
        "qmac_version": _version(),
        "generator_hash": generator_hash(),
        "config": config.to_dict(),
        "config_name": config.name,
        "config_digest": config.digest,
        "ports": ports(config, component),
        "latencies": _latencies(config),
        "derived": {
            "max_k": config.max_k,
            "peak_macs_per_cycle": config.peak_macs_per_cycle,
            "diff_bits": config.diff_bits,
            "product_bits": config.product_bits,
            "max_product": config.max_product,
            "shift_bits": config.shift_bits,
            "dim_bits": config.dim_bits,
        },
        "streams": _streams(config),
        "job_limits": _job_limits(config),
    }


def _c_value(value: int | str | bool) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a C string literal for these ASCII values
    value = int(value)
    return f"{value}ULL" if value > 0x7FFFFFFF else str(value)


def c_header(config: ArrayConfig, info: dict | None = None) -> str:
    """C header with the manifest's figures as ``#define QMAC_*`` constants and an include guard.

    Parameters
    ----------
    config : ArrayConfig
    info : dict, optional
        A :func:`manifest` of ``config`` (computed when omitted).
    """
    _check_config(config)
    info = manifest(config) if info is None else info
    defines: list[tuple[str, int | str]] = [("VERSION", info["qmac_version"]),
                                            ("GENERATOR_HASH", info["generator_hash"][:12]),
                                            ("CONFIG_DIGEST", config.digest)]
    for field, value in config.to_dict().items():
        defines.append((field.upper(), value))
    defines += [
        (f"DATAFLOW_{config.dataflow.upper()}", 1),
        (f"ROUNDING_{config.rounding.upper()}", 1),
    ]
    defines += [(key.upper(), value) for key, value in info["derived"].items()]
    defines += [(f"LATENCY_{key.upper()}", value) for key, value in info["latencies"].items()]
    for stream, layout in info["streams"].items():
        defines.append((f"{stream.upper()}_TDATA_BITS", layout["tdata_bits"]))
        if "lanes" in layout:
            defines.append((f"{stream.upper()}_LANES", layout["lanes"]))
            defines.append((f"{stream.upper()}_LANE_BITS", layout["lane_bits"]))
    for field, (lo, hi) in info["streams"]["param"]["fields"].items():
        defines.append((f"PARAM_{field.upper()}_LSB", lo))
        defines.append((f"PARAM_{field.upper()}_BITS", hi - lo))
    defines += [(f"JOB_{key.upper()}", value) for key, value in info["job_limits"].items()]

    guard = f"{MODULE_NAME.upper()}_H"
    lines = [
        f"/* {MODULE_NAME}.h: generated by qmac {info['qmac_version']} for {config.name}. "
        "Do not edit. */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
    ]
    width = max(len(name) for name, _ in defines) + len("QMAC_") + 1
    for name, value in defines:
        lines.append(f"#define {'QMAC_' + name:<{width}}{_c_value(value)}")
    lines += ["", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def write_outputs(
    config: ArrayConfig, outdir: str | Path, *, target: str | Target = "generic"
) -> dict[str, Path]:
    """Write ``qmac_top.v``, ``qmac_top.json`` and ``qmac_top.h`` into ``outdir`` (made if needed).

    ``target`` selects the Verilog's implementation (see :func:`generate_verilog`); the manifest
    and header describe the interface, which is the same for every target.

    Returns
    -------
    dict
        ``{"verilog": Path, "manifest": Path, "header": Path}``.
    """
    _check_config(config)
    check_target(target)
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise ValueError(f"outdir must be a directory, not the file {str(outdir)!r}")
    outdir.mkdir(parents=True, exist_ok=True)
    component = _top(config)
    info = manifest(config, component)  # ports from the same component that is converted
    paths = {
        "verilog": outdir / f"{MODULE_NAME}.v",
        "manifest": outdir / f"{MODULE_NAME}.json",
        "header": outdir / f"{MODULE_NAME}.h",
    }
    paths["verilog"].write_text(generate_verilog(config, component, target=target))
    paths["manifest"].write_text(json.dumps(info, indent=2) + "\n")
    paths["header"].write_text(c_header(config, info))
    return paths
