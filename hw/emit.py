"""Emission of one array: Verilog, a JSON manifest and a C header, all from the same ArrayConfig.

The manifest and the header carry the same figures (sizes, widths, latencies, limits, stream
layouts) so that software, testbenches and reports read them from the generated files instead of
re-deriving them. :func:`generator_hash` identifies the generator source (the files emission
imports, :mod:`hw.sources`), so caches of built simulations can tell when the hardware description
changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import amaranth
from amaranth.back import rtlil, verilog
from amaranth.hdl import Shape
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from hw.config import ArrayConfig
from hw.psum import PSUM_LATENCY
from hw.sources import ROOT, import_closure, sources_hash
from hw.target import Target, check_target
from hw.top import QmacTop, top_signature

__all__ = [
    "MODULE_NAME",
    "check_module_name",
    "generator_sources",
    "generator_hash",
    "generate_verilog",
    "ports",
    "manifest",
    "c_header",
    "write_outputs",
]

#: Default Verilog module name of the generated top level (docs/PROTOCOL.md); every submodule's
#: name starts with it (``qmac_top.engine.mesh``), and so do the header's macros (``QMAC_TOP_``).
MODULE_NAME = "qmac_top"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Verilog-2005 / SystemVerilog keywords a module may not be named (the common ones).
_KEYWORDS = frozenset(
    "always and assign automatic begin buf case casex casez cell class config default defparam "
    "design disable edge else end endcase endconfig endfunction endgenerate endmodule "
    "endprimitive endspecify endtable endtask event for force forever fork function generate "
    "genvar if ifnone incdir include initial inout input instance integer join large liblist "
    "library localparam logic macromodule medium module nand negedge nmos nor not or output "
    "parameter pmos posedge primitive pull0 pull1 pulldown pullup real realtime reg release "
    "repeat scalared signed small specify specparam strong0 strong1 supply0 supply1 table task "
    "time tran tri tri0 tri1 triand trior trireg unsigned use uwire vectored wait wand weak0 "
    "weak1 while wire wor xnor xor bit byte int interface package program string struct".split()
)


def check_module_name(name: object) -> str:
    """``name`` if it can name the top module (and prefix its submodules and macros).

    Raises
    ------
    TypeError, ValueError
        Not a string; not a plain Verilog identifier (letters, digits, ``_``, not starting with
        a digit) or a Verilog keyword.
    """
    if not isinstance(name, str):
        raise TypeError(f"module name must be a string, not {name!r}")
    if not _IDENTIFIER.fullmatch(name) or name in _KEYWORDS:
        raise ValueError(
            "module name must be a Verilog identifier (a letter or _, then letters, digits "
            f"or _; not a keyword), not {name!r}"
        )
    return name

def _version() -> str:
    try:
        return version("qmac")
    except PackageNotFoundError:  # source tree without installation
        return "0.0.0+src"


def generator_sources(root: Path = ROOT) -> list[Path]:
    """The source files emission imports (``hw.emit`` and everything it pulls in, transitively).

    ``root`` is the folder holding the packages (default: this source tree).
    """
    return import_closure([__name__], root=root)


def generator_hash(root: Path = ROOT) -> str:
    """SHA-256 (hex) of the generator: :func:`generator_sources` and the Amaranth version.

    Anything that can change the emitted Verilog for a given config changes this hash; a file
    that emission does not import (a report parser, say) does not.
    """
    h = hashlib.sha256(f"amaranth {amaranth.__version__}\n".encode())
    h.update(sources_hash([__name__], root=root).encode())
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
        Verilog module name (:func:`check_module_name`); Amaranth names every submodule
        ``name.<path>`` (``name.engine.mesh.pe_0_0``), so two arrays of different names can be
        instantiated in one design.
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
    _check_config(config)
    check_module_name(name)
    platform = check_target(target)
    if component is None:
        component = QmacTop(config)
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

    ``requant`` (``Requant.latency``), ``psum`` (``PartialSums.latency``), ``top_start`` /
    ``top_output`` (QmacTop's ``start_latency``: last parameter beat to engine start;
    ``output_latency``: engine result row to its output beat) and ``engine_<name>`` (the dataflow
    engine's ``latencies``).
    """
    top = QmacTop(config)
    top._MustUse__silence = True  # built only to read latency properties
    figures = {
        "requant": config.requant_latency,
        "psum": PSUM_LATENCY,
        "top_start": top.start_latency,
        "top_output": top.output_latency,
    }
    figures.update({f"engine_{k}": int(v) for k, v in top.engine.latencies.items()})
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


def _job_limits(config: ArrayConfig) -> dict:
    """What one command may carry and why (``ArrayConfig.job_limits``), the K of a whole layer.

    ``max_m``/``max_k``/``max_n``: the largest dimension of one job (the others being 1), with
    ``limited_by`` the limits that bind each; ``max_layer_k``: the K of one output over all the
    jobs of a K split (docs/PROTOCOL.md, "K split"), bounded by acc_bits (``max_k``);
    ``psum_rows``: the ``ceil(N/cols) * M`` a job of a K split may hold on chip.
    """
    limits = config.job_limits()
    out: dict = {f"max_{dim}": lim.value for dim, lim in limits.items()}
    out["limited_by"] = {dim: list(lim.causes) for dim, lim in limits.items()}
    out.update(
        max_layer_k=config.max_k,
        psum_rows=config.psum_depth,
        a_buf_words=config.a_buf_depth,
        w_buf_words=config.w_buf_depth,
        jobs_in_flight=2,
    )
    return out


def manifest(
    config: ArrayConfig, component: wiring.Component | None = None, *, name: str = MODULE_NAME
) -> dict:
    """Everything a user of the emitted module needs to know, as a JSON-serializable dict.

    Keys: ``module`` (``name``), ``qmac_version``, ``generator_hash``, ``config`` (all
    ArrayConfig fields), ``config_name``, ``config_digest``, ``ports`` (see :func:`ports`),
    ``latencies`` (cycles), ``derived`` (``acc_max_k``: the longest K the accumulator sums
    without overflow; ``peak_macs_per_cycle``, widths), ``streams`` (tdata widths and layouts),
    ``job_limits`` (``max_m``/``max_k``/``max_n``: the largest dimension of one command, the
    others being 1, from ``ArrayConfig.job_limits``; ``limited_by``: the limits that bind each).
    """
    _check_config(config)
    check_module_name(name)
    return {
        "module": name,
        "qmac_version": _version(),
        "generator_hash": generator_hash(),
        "config": config.to_dict(),
        "config_name": config.name,
        "config_digest": config.digest,
        "ports": ports(config, component),
        "latencies": _latencies(config),
        "derived": {
            "acc_max_k": config.max_k,
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
    """C header with the manifest's figures as ``#define <MODULE>_*`` constants and a guard.

    The prefix is the module name in capitals (``QMAC_TOP_ROWS`` for ``qmac_top``), so headers of
    two arrays of different names can be included together.

    Parameters
    ----------
    config : ArrayConfig
    info : dict, optional
        A :func:`manifest` of ``config`` (computed when omitted); its ``module`` names the prefix.
    """
    _check_config(config)
    info = manifest(config) if info is None else info
    module = info["module"]
    prefix = module.upper() + "_"
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
    limits = info["job_limits"]
    comments: dict[str, str] = {}
    for key, value in limits.items():
        if isinstance(value, int):
            defines.append((f"JOB_{key.upper()}", value))
    for dim, causes in limits["limited_by"].items():
        comments[f"JOB_MAX_{dim.upper()}"] = f"limited by {', '.join(causes)}"

    guard = f"{prefix}H"
    lines = [
        f"/* {module}.h: generated by qmac {info['qmac_version']} for {config.name}. "
        "Do not edit. */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
    ]
    width = max(len(name) for name, _ in defines) + len(prefix) + 1
    for name, value in defines:
        line = f"#define {prefix + name:<{width}}{_c_value(value)}"
        if name in comments:
            line += f"  /* {comments[name]} */"
        lines.append(line)
    lines += ["", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def write_outputs(
    config: ArrayConfig,
    outdir: str | Path,
    *,
    name: str = MODULE_NAME,
    target: str | Target = "generic",
) -> dict[str, Path]:
    """Write ``<name>.v``, ``<name>.json`` and ``<name>.h`` into ``outdir`` (made if needed).

    Parameters
    ----------
    config : ArrayConfig
    outdir : path
        A directory (created with its parents when missing).
    name : str
        Module name (:func:`check_module_name`), prefix of every submodule and header macro.
    target : {"generic", "ecp5"} or Target
        The Verilog's implementation (see :func:`generate_verilog`); the manifest and header
        describe the interface, which is the same for every target.

    Returns
    -------
    dict
        ``{"verilog": Path, "manifest": Path, "header": Path}``.
    """
    _check_config(config)
    check_module_name(name)
    check_target(target)
    if str(outdir) == "":
        raise ValueError("outdir must name a directory, not ''")
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise ValueError(f"outdir must be a directory, not the file {str(outdir)!r}")
    outdir.mkdir(parents=True, exist_ok=True)
    component = QmacTop(config)
    info = manifest(config, component, name=name)  # ports from the component that is converted
    paths = {
        "verilog": outdir / f"{name}.v",
        "manifest": outdir / f"{name}.json",
        "header": outdir / f"{name}.h",
    }
    paths["verilog"].write_text(generate_verilog(config, component, name=name, target=target))
    paths["manifest"].write_text(json.dumps(info, indent=2) + "\n")
    paths["header"].write_text(c_header(config, info))
    return paths
