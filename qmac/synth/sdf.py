"""Static timing over a routed nextpnr SDF: the worst path of every endpoint, grouped by RTL signal.

nextpnr's log names only the worst path of each clock. Its ``--sdf`` file holds every cell and net
delay of the routed design, so the whole picture follows from a longest-path search: arrival
starts at each register's clock-to-output delay, adds interconnect and combinational cell delays
(the max corner of each triple), and meets each register input's setup time. The clock network is
ideal (zero skew), as nextpnr assumes for a global clock. Every endpoint whose arrival plus setup
exceeds the period fails; the failing endpoints are grouped by the RTL signals that start and end
their worst paths, and by the hierarchy (``family``) those signals live in, so that the next path
after a fix is visible in one run.

The numbers agree with nextpnr's own critical path to within its clock-skew and rounding terms
(within a few percent); they are for ranking paths, nextpnr's Fmax stays the figure to report.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "PathGroup",
    "TimingReport",
    "parse_sdf",
    "analyze_sdf",
    "rtl_signal",
    "family",
]

# Cell types whose clock pins start paths (clock-to-output arcs in the SDF).
_CLOCK_PINS = re.compile(r"^(CLK\d?|CLKA|CLKB|WCK)$")
# Register-input pins that are enables or resets rather than data.
_CONTROL_PINS = {"CE": "CE", "LSR": "LSR", "CEA": "CE", "CEB": "CE", "CE0": "CE", "RST0": "LSR"}
_TRIPLE = re.compile(r"\(([-\d.]*):([-\d.]*):([-\d.]*)\)")
_NAME = r"((?:\\.|[^\s()\\])+)"
_RE_CELLTYPE = re.compile(r'\(CELLTYPE\s+"([^"]*)"')
_RE_INSTANCE = re.compile(r"\(INSTANCE\s*" + _NAME + r"?\s*\)")
_RE_INTER = re.compile(r"\(INTERCONNECT\s+" + _NAME + r"\s+" + _NAME + r"\s+(.*)\)")
_RE_IOPATH = re.compile(r"\(IOPATH\s+(?:\((?:posedge|negedge)\s+)?" + _NAME + r"\)?\s+" + _NAME
                        + r"\s+(.*)\)")
_RE_SETUP = re.compile(r"\(SETUPHOLD\s+\((?:posedge|negedge)\s+" + _NAME + r"\)\s+\((?:posedge|"
                       r"negedge)\s+" + _NAME + r"\)\s+(.*)\)")
# Suffixes Yosys and nextpnr append to the RTL name of a mapped cell.
_CELL_SUFFIX = re.compile(
    r"(_TRELLIS_FF_Q|_TRELLIS_FF|_DP16KD|_MULT18X18D|_LUT4|_CCU2C|_PFUMX|_L6MUX21|_TRELLIS_DPR16X4"
    r"|\$CCU2_COMB\d|\$\S*).*$"
)


def _unescape(name: str) -> str:
    return re.sub(r"\\(.)", r"\1", name)


def _max_ns(text: str) -> float:
    """Largest value of the ``(min:typ:max)`` triples in ``text`` (ps in the file), in ns."""
    values = [float(v) for t in _TRIPLE.findall(text) for v in t if v not in ("", "-")]
    return max(values) / 1000.0 if values else 0.0


def _first_triple_max_ns(text: str) -> float:
    found = _TRIPLE.search(text)
    return float(found.group(3) or 0.0) / 1000.0 if found else 0.0


def _split_pin(raw: str) -> tuple[str, str]:
    """``cell/pin`` (the SDF divider is ``/``; an escaped ``\\/`` belongs to the name)."""
    cut = max(i for i, ch in enumerate(raw) if ch == "/" and (i == 0 or raw[i - 1] != "\\"))
    return _unescape(raw[:cut]), raw[cut + 1:]


@dataclass
class _Graph:
    edges: dict = field(default_factory=lambda: defaultdict(list))  # node -> [(node, ns, kind)]
    clk2q: dict = field(default_factory=dict)  # start node -> ns
    setup: dict = field(default_factory=dict)  # end node -> ns
    cell_type: dict = field(default_factory=dict)


def parse_sdf(sdf: str | os.PathLike) -> _Graph:
    """Read a nextpnr SDF into a timing graph (nodes are ``(cell, pin)`` pairs)."""
    path = Path(sdf)
    if not path.is_file():
        raise ValueError(f"sdf must be an existing SDF file, not {str(sdf)!r}")
    g = _Graph()
    cell_type, inst = None, None
    pending: list[tuple[str, str, float]] = []  # IOPATH arcs of the current cell
    clocks: set[str] = set()

    def flush() -> None:
        for src, dst, ns in pending:
            if src in clocks or _CLOCK_PINS.match(src):
                g.clk2q[(inst, dst)] = max(g.clk2q.get((inst, dst), 0.0), ns)
            else:
                g.edges[(inst, src)].append(((inst, dst), ns, "cell"))
        pending.clear()
        clocks.clear()

    with open(path) as fh:
        for line in fh:
            s = line.strip()
            if s.startswith("(INTERCONNECT"):
                found = _RE_INTER.match(s)
                if found:
                    a, b = _split_pin(found.group(1)), _split_pin(found.group(2))
                    g.edges[a].append((b, _max_ns(found.group(3)), "net"))
            elif s.startswith("(IOPATH"):
                found = _RE_IOPATH.match(s)
                if found:
                    pending.append((found.group(1), found.group(2), _max_ns(found.group(3))))
            elif s.startswith("(SETUPHOLD"):
                found = _RE_SETUP.match(s)
                if found:
                    pin, clk = found.group(1), found.group(2)
                    clocks.add(clk)
                    node = (inst, pin)
                    setup = _first_triple_max_ns(found.group(3))
                    g.setup[node] = max(g.setup.get(node, 0.0), setup)
            elif s.startswith("(CELLTYPE"):
                flush()
                found = _RE_CELLTYPE.match(s)
                cell_type = found.group(1) if found else None
            elif s.startswith("(INSTANCE"):
                found = _RE_INSTANCE.match(s)
                inst = _unescape(found.group(1) or "") if found else ""
                g.cell_type[inst] = cell_type
    flush()
    return g


def rtl_signal(cell: str) -> str:
    """The RTL signal a mapped cell was made from: ``engine.mesh.pe_0_5.acc_TRELLIS_FF_Q_3`` ->
    ``engine.mesh.pe_0_5.acc``; an unnamed signal (``p_loader.$signal$12``) -> ``p_loader.$``;
    a block RAM's output (``w_mem.0.1_DOA3``) -> ``w_mem.DO``."""
    path, _, last = cell.rpartition(".")
    if last.startswith("$"):
        return f"{path}.$" if path else "$"
    ram = re.match(r"^(.*?)(?:\.\d+)+_DO[AB]?\d+", cell)
    if ram:
        return f"{ram.group(1)}.DO"
    return re.sub(r"_\d+$", "", _CELL_SUFFIX.sub("", cell)) or cell


def family(signal: str) -> str:
    """The hierarchy a signal lives in with instance indices folded: ``engine.mesh.pe_0_5.acc``
    -> ``engine.mesh.pe``; a top-level signal -> ``top``."""
    parts = signal.split(".")[:-1]
    if not parts:
        return "top"
    return ".".join(re.sub(r"(_\d+)+$", "", p) for p in parts)


@dataclass(frozen=True)
class PathGroup:
    """The failing (or worst) endpoints whose worst paths share start and end signal.

    Attributes
    ----------
    start, end : str
        RTL signals (or families, for a family grouping) of the path's first register and its
        endpoint.
    pin : {"D", "CE", "LSR"}
        Kind of endpoint pin: data, clock enable, or set/reset.
    delay_ns : float
        Worst arrival plus setup in the group.
    count : int
        Endpoints in the group.
    logic_ns, route_ns : float
        Cell and net delay along the worst path (clock-to-output and setup not included).
    levels : int
        Combinational cells on the worst path (carry-chain steps included).
    start_pin, end_pin : str
        The worst path's first and last ``cell/pin``.
    """

    start: str
    end: str
    pin: str
    delay_ns: float
    count: int
    logic_ns: float
    route_ns: float
    levels: int
    start_pin: str
    end_pin: str

    @property
    def fmax_mhz(self) -> float:
        return 1000.0 / self.delay_ns if self.delay_ns > 0 else float("inf")

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["fmax_mhz"] = round(self.fmax_mhz, 2)
        for k in ("delay_ns", "logic_ns", "route_ns"):
            d[k] = round(d[k], 3)
        return d


@dataclass(frozen=True)
class TimingReport:
    """Result of :func:`analyze_sdf`.

    Attributes
    ----------
    period_ns : float
    worst_ns : float
        Worst arrival plus setup over all endpoints (``1000 / worst_ns`` is the Fmax estimate).
    endpoints, failing : int
        Timed endpoints, and those beyond the period.
    groups : list of PathGroup
        By (start signal, end signal, pin), worst first: every failing group (or, if none fails,
        the worst few).
    families : list of PathGroup
        The same grouped by (start family, end family, pin).
    """

    period_ns: float
    worst_ns: float
    endpoints: int
    failing: int
    groups: list
    families: list

    @property
    def fmax_mhz(self) -> float:
        return 1000.0 / self.worst_ns if self.worst_ns > 0 else float("inf")

    def to_dict(self, limit: int = 20) -> dict:
        return {
            "period_ns": self.period_ns,
            "worst_ns": round(self.worst_ns, 3),
            "fmax_mhz": round(self.fmax_mhz, 2),
            "endpoints": self.endpoints,
            "failing": self.failing,
            "groups": [g.to_dict() for g in self.groups[:limit]],
            "families": [g.to_dict() for g in self.families[:limit]],
        }


def _arrivals(g: _Graph) -> tuple[dict, dict]:
    """Longest arrival at every node reachable from a start, and the edge it came by."""
    indeg: Counter = Counter()
    for outs in g.edges.values():
        for dst, _, _ in outs:
            indeg[dst] += 1
    nodes = set(g.edges) | set(indeg) | set(g.clk2q)
    arrival = dict(g.clk2q)
    pred: dict = {}
    order = [n for n in nodes if indeg[n] == 0]
    while order:
        n = order.pop()
        t0 = arrival.get(n)
        for dst, ns, kind in g.edges.get(n, ()):
            if t0 is not None and t0 + ns > arrival.get(dst, -1.0):
                arrival[dst] = t0 + ns
                pred[dst] = (n, ns, kind)
            indeg[dst] -= 1
            if indeg[dst] == 0:
                order.append(dst)
    return arrival, pred


def _trace(node, pred) -> tuple[tuple, list]:
    hops = []
    while node in pred:
        src, ns, kind = pred[node]
        hops.append((src, node, ns, kind))
        node = src
    hops.reverse()
    return node, hops


def _pin_kind(pin: str) -> str:
    return _CONTROL_PINS.get(pin, "D")


def analyze_sdf(sdf: str | os.PathLike, period_ns: float, *, min_groups: int = 10) -> TimingReport:
    """Worst paths of a routed design, grouped by RTL signal and by family.

    Parameters
    ----------
    sdf : path
        SDF written by ``nextpnr-ecp5 --sdf``.
    period_ns : float
        Clock period (the ``--freq`` target: ``1000 / MHz``).
    min_groups : int
        Groups to list even when nothing fails (the worst paths of a design that meets timing).

    Returns
    -------
    TimingReport
    """
    if isinstance(period_ns, bool) or not isinstance(period_ns, (int, float)) or period_ns <= 0:
        raise ValueError(f"period_ns must be a positive number, not {period_ns!r}")
    g = parse_sdf(sdf)
    arrival, pred = _arrivals(g)
    ends = sorted(
        ((arrival[n] + s, n) for n, s in g.setup.items() if n in arrival),
        key=lambda e: -e[0],
    )
    failing = sum(1 for t, _ in ends if t > period_ns)
    chosen = ends[:failing] if failing else ends[:max(min_groups, 1) * 50]
    by_signal: dict = {}
    by_family: dict = {}
    for total, node in chosen:
        start, hops = _trace(node, pred)
        s_sig, e_sig = rtl_signal(start[0]), rtl_signal(node[0])
        pin = _pin_kind(node[1])
        for table, key in ((by_signal, (s_sig, e_sig, pin)),
                           (by_family, (family(s_sig), family(e_sig), pin))):
            if key in table:
                table[key][1] += 1
                continue
            logic = sum(ns for _, _, ns, kind in hops if kind == "cell")
            route = sum(ns for _, _, ns, kind in hops if kind == "net")
            levels = sum(1 for _, _, _, kind in hops if kind == "cell")
            table[key] = [total, 1, logic, route, levels, f"{start[0]}/{start[1]}",
                          f"{node[0]}/{node[1]}"]

    def groups(table: dict) -> list:
        out = [PathGroup(k[0], k[1], k[2], v[0], v[1], v[2], v[3], v[4], v[5], v[6])
               for k, v in table.items()]
        out.sort(key=lambda p: -p.delay_ns)
        return out if failing else out[:min_groups]

    return TimingReport(
        period_ns=float(period_ns),
        worst_ns=ends[0][0] if ends else 0.0,
        endpoints=len(ends),
        failing=failing,
        groups=groups(by_signal),
        families=groups(by_family),
    )
