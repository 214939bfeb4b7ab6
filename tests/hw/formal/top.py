"""The proof's top module: free inputs, the unit, the spec delayed by the unit's latency, asserts.

What is proven
--------------
For a config and its rounding mode: for every state of the unit's registers and every input
sequence within the unit's input contract (``0 <= m0 < 2**(mult_bits - 1)``, ``-31 <= shift <=
30``, ``act_min <= act_max``; any ``acc``, ``bias``, ``y_zp``, ``i_valid``), the outputs
``latency`` cycles after any cycle t are ``o_data = spec(inputs at t)`` and ``o_valid = i_valid
at t``. ``spec`` is ``requant_spec.v`` (DESIGN.md's formulas in wide integers); ``latency`` is the
unit's own ``latency`` property.

Why a bounded check of depth ``latency + 1`` covers all time
------------------------------------------------------------
The unit's registers start unconstrained (every ``init`` value is removed before the proof); the
harness's registers start from their ``init`` values, and the assertions apply from step
``latency`` on, comparing the outputs with the spec of the inputs ``latency`` steps earlier. Take
any run of the real unit (from reset or not) and any cycle ``t >= latency``: its register state
at ``t - latency`` is some state s, and its inputs from then on are some sequence within the
contract. The bounded check contains the run that starts in s with those inputs, and at its step
``latency`` asserts exactly the claim for cycle t. So a pass covers every cycle of every run
without assuming anything about the unit's structure. That the unit is a feed-forward pipeline
(each output a function of the inputs ``latency`` cycles before) is what makes the claim true and
the check pass, not what makes it sound: a unit with feedback would be covered too, and would
fail from the states that make its outputs depend on older inputs. Reset is held low (reset
leads to one particular state, which the free start state includes). A stall (``EnableInserter``)
holds every register, so the claim holds counting enabled cycles.

Two ways to form the spec's product
-----------------------------------
``product="wide"``: the spec multiplies ``(acc + bias) * m0`` with one ``*`` and the unit keeps
its multipliers: the plain, monolithic proof. Solvers bit-blast both products, and a product
built from 17/18-bit partial products against one wide product is the classic hard case for
SAT; the README lists what finished.

``product="abstract"``: every ``$mul`` cell of the unit is cut out (``multipliers.py``) and its
result becomes a free value; the spec's product is the sum of free partial products of the chunks
of ``acc + bias`` and ``m0`` (``hw.requant_plan``'s chunking, :func:`chunks`), each shifted to its
place. What ties them together are assumptions that every multiplication satisfies:

- each result lies in the range of products of its operand widths (when its width holds them
  all: then the cell computes the exact product);
- functional consistency (Ackermann's constraints): a unit multiplier at step t whose operands
  equal, as integers, those of a spec partial product at step t - d (any d from 0 to latency, in
  either order, since multiplication commutes) gives the same result (the same integer, or the
  same low bits when one result is truncated).

The real unit, with true products, satisfies every assumption, so each of its runs is a run of
the abstract system: a pass proves unit = spec(sum of the true chunk products). The lemma in
``product_lemma.py`` proves that this sum equals ``(acc + bias) * m0`` for all operands, so the
two compose to unit = spec((acc + bias) * m0), the contract. The solver never sees a
multiplication. If the unit's multipliers stop matching the plan's chunks, their results are left
unconstrained and the proof fails (a spurious counterexample, which ``counterexample.replay``
exposes as such), never passes wrongly.

Because the abstraction lets the solver choose any consistent products, a counterexample of it
need not be one of the real unit. ``concrete=True`` adds the (true) assumption that the spec's
partial products are the products, so that a failure comes with real inputs; the mutant tests
use it and replay the inputs on the unit.
"""

from __future__ import annotations

import dataclasses

from hw.config import ArrayConfig
from hw.requant_plan import chunk_lsbs

from .multipliers import MulCell

__all__ = ["chunks", "top_verilog"]


def chunks(width: int) -> list[tuple[int, int, bool]]:
    """Chunks of a signed ``width``-bit operand as (lsb, bits, signed), per ``hw.requant_plan``.

    Low chunks are unsigned slices, the top chunk is a signed slice; the operand is
    ``sum(chunk * 2**lsb)``.
    """
    lsbs = chunk_lsbs(width)
    bounds = lsbs[1:] + [width]
    return [(lo, hi - lo, lo == lsbs[-1]) for lo, hi in zip(lsbs, bounds, strict=True)]


def _range(width: int, signed: bool) -> tuple[int, int]:
    return (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)


@dataclasses.dataclass(frozen=True)
class _App:
    """One multiplication in the harness: Verilog names and types of operands and result."""

    a: str
    b: str
    y: str
    a_width: int
    a_signed: bool
    b_width: int
    b_signed: bool
    y_width: int
    y_signed: bool

    def product_range(self) -> tuple[int, int]:
        (lo_a, hi_a), (lo_b, hi_b) = (
            _range(self.a_width, self.a_signed), _range(self.b_width, self.b_signed)
        )
        corners = [lo_a * lo_b, lo_a * hi_b, hi_a * lo_b, hi_a * hi_b]
        return min(corners), max(corners)

    @property
    def exact(self) -> bool:
        """Whether the result's width holds every product, so that it is the exact product."""
        lo, hi = self.product_range()
        r_lo, r_hi = _range(self.y_width, self.y_signed)
        return r_lo <= lo and hi <= r_hi


def _ext(expr: str, width: int, signed: bool, to: int) -> str:
    """Verilog for ``expr`` (``width`` bits) extended to ``to`` bits as its signedness says."""
    if to == width:
        return expr
    fill = f"{{{to - width}{{{expr}[{width - 1}]}}}}" if signed else f"{to - width}'b0"
    return f"{{{fill}, {expr}}}"


def _signed_literal(value: int, width: int) -> str:
    return f"-{width}'sd{-value}" if value < 0 else f"{width}'sd{value}"


def _spec_apps(acc_bits: int, mult_bits: int) -> tuple[list[_App], list[str]]:
    """The spec's partial products (free values) of every chunk pair, and ``prod``, their sum.

    Each term is shifted to its place and the sum taken in ``acc_bits + 1 + mult_bits`` bits;
    with true products it is the exact product (``product_lemma.py``).
    """
    x_bits, p_bits = acc_bits + 1, acc_bits + 1 + mult_bits
    apps, lines, terms = [], [], []
    for i, (la, wa, sa) in enumerate(chunks(x_bits)):
        for j, (lb, wb, sb) in enumerate(chunks(mult_bits)):
            name = f"spec_pp{i}_{j}"
            app = _App(f"{name}_a", f"{name}_b", f"{name}_y", wa, sa, wb, sb, wa + wb, sa or sb)
            assert app.exact
            lines += [
                f"    wire [{wa - 1}:0] {app.a} = x[{la + wa - 1}:{la}];",
                f"    wire [{wb - 1}:0] {app.b} = m[{lb + wb - 1}:{lb}];",
                f"    wire [{app.y_width - 1}:0] {app.y} = $anyseq;",
            ]
            apps.append(app)
            terms.append(f"({_ext(app.y, app.y_width, app.y_signed, p_bits)} << {la + lb})")
    lines.append(f"    wire [{p_bits - 1}:0] prod = {' + '.join(terms)};")
    return apps, lines


def _dut_apps(cells: list[MulCell]) -> list[_App]:
    return [
        _App(f"dut_mul{c.index}_a", f"dut_mul{c.index}_b", f"dut_mul{c.index}_y",
             c.a_width, c.signed, c.b_width, c.signed, c.y_width, c.signed)
        for c in cells
    ]


def _abstraction(dut: list[_App], spec: list[_App], latency: int, concrete: bool) -> list[str]:
    """Range and consistency assumptions of the multiplier abstraction (module docstring)."""
    width = 1 + max(max(a.a_width, a.b_width) for a in dut + spec)
    y_width = 1 + max(a.y_width for a in dut + spec)
    lines = []
    if concrete:
        lines.append("    // The spec's partial products are true products (counterexamples only).")
        for app in spec:
            factors = [
                f"$signed({_ext(name, w, s, y_width)})"
                for name, w, s in ((app.a, app.a_width, app.a_signed),
                                   (app.b, app.b_width, app.b_signed))
            ]
            lines.append(
                f"    always @* assume ($signed({_ext(app.y, app.y_width, app.y_signed, y_width)})"
                f" == {factors[0]} * {factors[1]});"
            )
    lines.append("    // Multiplier abstraction: ranges.")
    for app in dut + spec:
        if app.exact:
            lo, hi = app.product_range()
            y = _ext(app.y, app.y_width, app.y_signed, y_width)
            lines.append(
                f"    always @* assume ($signed({y}) >= {_signed_literal(lo, y_width)} && "
                f"$signed({y}) <= {_signed_literal(hi, y_width)});"
            )
    # History of the spec's applications: entry d holds step t - d, valid once d steps have run.
    lines.append("    // Multiplier abstraction: the spec's partial products of the last steps.")
    history: dict[tuple[int, int], tuple[str, str, str]] = {}
    for j, app in enumerate(spec):
        a = _ext(app.a, app.a_width, app.a_signed, width)
        b = _ext(app.b, app.b_width, app.b_signed, width)
        history[j, 0] = (a, b, app.y)
        for d in range(1, latency + 1):
            names = tuple(f"hist{j}_{d}_{part}" for part in "aby")
            widths = (width, width, app.y_width)
            prev = history[j, d - 1]
            for name, w, src in zip(names, widths, prev, strict=True):
                lines.append(f"    reg [{w - 1}:0] {name};")
                lines.append(f"    always @(posedge clk) {name} <= {src};")
            history[j, d] = names
    lines.append("    // Multiplier abstraction: functional consistency, unit vs spec.")
    for k, unit in enumerate(dut):
        ua = _ext(unit.a, unit.a_width, unit.a_signed, width)
        ub = _ext(unit.b, unit.b_width, unit.b_signed, width)
        for j, app in enumerate(spec):
            both_exact = unit.exact and app.exact
            low = min(unit.y_width, app.y_width)
            uy = (_ext(unit.y, unit.y_width, unit.y_signed, y_width) if both_exact
                  else f"{unit.y}[{low - 1}:0]")
            for d in range(latency + 1):
                ha, hb, hy = history[j, d]
                hy = (_ext(hy, app.y_width, app.y_signed, y_width) if both_exact
                      else f"{hy}[{low - 1}:0]")
                valid = "1'b1" if d == 0 else f"age[{d - 1}]"
                lines.append(
                    f"    always @* if ({valid} && (({ua} == {ha} && {ub} == {hb}) || "
                    f"({ua} == {hb} && {ub} == {ha}))) assume ({uy} == {hy});"
                    f"  // mul{k}, pp{j}, d={d}"
                )
    return lines


def top_verilog(
    config: ArrayConfig,
    latency: int,
    cells: list[MulCell] | None,
    mode: str | None = None,
    concrete: bool = False,
) -> str:
    """Verilog module ``requant_formal`` (the harness), see the module docstring.

    Parameters
    ----------
    config : ArrayConfig
        Widths, and ``rounding``: the spec's MODE unless ``mode`` is given.
    latency : int
        The unit's ``latency``.
    cells : list of MulCell, or None
        The multipliers cut out of the unit (``product="abstract"``), or None to keep them and
        give the spec one wide ``*`` (``product="wide"``).
    mode : str, optional
        The spec's rounding mode, if not ``config.rounding``.
    concrete : bool
        With ``cells``: also assume that the spec's partial products are the true products, so
        that a counterexample is one of the real unit (the abstraction alone lets the solver pick
        any consistent products). Sound either way; used to confirm failures.
    """
    a, b, o, s = config.acc_bits, config.mult_bits, config.out_bits, config.shift_bits
    p_bits = a + 1 + b
    mul_ports, body = [], []
    if cells is None:
        body.append(f"    wire signed [{p_bits - 1}:0] prod = x * m;")
    else:
        dut, (spec, product_lines) = _dut_apps(cells), _spec_apps(a, b)
        for app, cell in zip(dut, cells, strict=True):
            body += [
                f"    wire [{cell.a_width - 1}:0] {app.a};",
                f"    wire [{cell.b_width - 1}:0] {app.b};",
                f"    wire [{cell.y_width - 1}:0] {app.y} = $anyseq;",
            ]
            mul_ports += [
                f".mul{cell.index}_a({app.a})", f".mul{cell.index}_b({app.b})",
                f".mul{cell.index}_y({app.y})",
            ]
        body += product_lines
        body += _abstraction(dut, spec, latency, concrete)
    extra = "".join(f", {p}" for p in mul_ports)
    body_text = "\n".join(body)
    return f"""\
module requant_formal (input clk);
    wire i_valid = $anyseq;
    wire signed [{a - 1}:0] i_acc = $anyseq;
    wire signed [{a - 1}:0] i_bias = $anyseq;
    wire signed [{b - 1}:0] i_m0 = $anyseq;
    wire signed [{s - 1}:0] i_shift = $anyseq;
    wire signed [{o - 1}:0] i_y_zp = $anyseq;
    wire signed [{o - 1}:0] i_act_min = $anyseq;
    wire signed [{o - 1}:0] i_act_max = $anyseq;

    // The unit's input contract.
    always @* begin
        assume (i_m0 >= 0);
        assume (i_shift >= -31 && i_shift <= 30);
        assume (i_act_min <= i_act_max);
    end

    // age[k]: at least k + 1 steps have run (the harness's only initialized register).
    localparam LATENCY = {latency};
    reg [LATENCY - 1:0] age = 0;
    always @(posedge clk) age <= {{age, 1'b1}};

    wire o_valid;
    wire signed [{o - 1}:0] o_data;
    requant_dut dut (
        .clk(clk), .rst(1'b0), .i_valid(i_valid), .i_acc(i_acc), .i_bias(i_bias),
        .i_m0(i_m0), .i_shift(i_shift), .i_y_zp(i_y_zp), .i_act_min(i_act_min),
        .i_act_max(i_act_max), .o_valid(o_valid), .o_data(o_data){extra}
    );

    // The spec of this step's inputs: prod = (acc + bias) * m0.
    wire signed [{a}:0] x = i_acc + i_bias;
    wire signed [{b - 1}:0] m = i_m0;
{body_text}
    wire signed [{o - 1}:0] want;
    requant_spec #(
        .ACC_BITS({a}), .MULT_BITS({b}), .OUT_BITS({o}), .MODE("{mode or config.rounding}")
    ) spec (
        .prod(prod), .shift(i_shift), .y_zp(i_y_zp), .act_min(i_act_min),
        .act_max(i_act_max), .out(want)
    );

    // The spec's output and i_valid, delayed by the unit's latency.
    reg [LATENCY * {o} - 1:0] want_pipe;
    reg [LATENCY - 1:0] valid_pipe;
    always @(posedge clk) begin
        want_pipe <= {{want_pipe, want}};
        valid_pipe <= {{valid_pipe, i_valid}};
    end
    wire signed [{o - 1}:0] want_late = want_pipe[LATENCY * {o} - 1 -: {o}];
    always @* begin
        if (age[LATENCY - 1]) begin
            assert (o_data == want_late);
            assert (o_valid == valid_pipe[LATENCY - 1]);
        end
    end
endmodule
"""
