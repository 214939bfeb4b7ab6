"""Sweep figures and pages: one palette across figures, skipped points noted with their reason,
--pareto-cost, the Pareto table, scrolling tables, and the demo page's bit-width table.

The rows are built here as a sweep writes them (inputs, not expected outputs). Figures are checked
through the matplotlib objects they were drawn with (``finish`` is intercepted), not by pixels.
"""

from __future__ import annotations

import re

import pytest
from matplotlib.colors import to_hex

from qmac import cli
from qmac.report import fig_hw, fig_quant, write_report
from qmac.report.demo_page import BIT_WIDTH_HEADER, bit_width_rows, bit_width_sweep_rows
from qmac.report.figures import FIGURES, make_figures
from qmac.report.palette import (
    METHOD_COLORS,
    PART_STYLES,
    method_color,
    size_color,
    width_color,
)
from qmac.report.results import METHODS

META = {"command": "qmac sweep --test", "versions": {"qmac": "0", "yosys": "1"}}


def _row(size, bits, *, lut=None, fmax=None, note=None, qat=True):
    base = {"name": f"os{size}x{size}_a{bits}", "status": "ok", "reason": "", "target": "ecp5",
            "rows": size, "cols": size, "a_bits": bits, "w_bits": bits, "dataflow": "os",
            "n_test": 397, "float_accuracy": 0.982, "sqnr_db": 6.0 * bits, "rms_err": 2.0 ** -bits,
            "int_accuracy": 1 - 0.5 / bits}
    base.update({f"int_accuracy_{m}": 1 - (0.5 + 0.1 * i) / bits for i, m in enumerate(METHODS)})
    if not qat:
        base["int_accuracy_qat"] = None
    lut = lut if lut is not None else 40 * size * size * bits
    base.update(lut=lut, ff=30 * size * size * bits, dsp=size * size, ram=2 * size, speed=6,
                seeds=3, target_mhz=150.0)
    if note:
        base["pnr_note"] = note
    else:
        f = fmax or 400.0 / size - 10 * bits
        base.update(fmax_mhz=f, fmax_min_mhz=f - 5, fmax_max_mhz=f + 3, critical_ns=1000 / f,
                    critical_start="engine.need", critical_end="mesh.pe_0_0.acc")
    return base


def _rows(sizes=(2, 4, 8), bits=(4, 8)):
    out = [_row(s, b) for s in sizes for b in bits if (s, b) != (8, 8)]
    if (8, 8) in [(s, b) for s in sizes for b in bits]:
        out.append(_row(8, 8, note="skipped: needs 64 DSP > 28 on ecp5-25k"))
    return out


@pytest.fixture
def drawn(monkeypatch):
    """Render figures, keeping {figure: {series label: colour}} and the figure's texts."""
    seen: dict[str, dict] = {}

    def capture(name):
        def finish(plt, fig, *, notes=None, color=None):
            colors, texts, ydata = {}, [t.get_text() for t in fig.texts], {}
            for ax in fig.axes:
                for line in ax.get_lines():
                    if not line.get_label().startswith("_"):
                        colors[line.get_label()] = to_hex(line.get_color())
                        ydata.setdefault(ax.get_title(), {})[line.get_label()] = [
                            float(y) for y in line.get_ydata()]
                for cont in ax.containers:  # errorbar series and bars
                    lines = getattr(cont, "lines", None)
                    label = cont.get_label()
                    if not label or label.startswith("_"):
                        continue
                    if lines and lines[0] is not None:
                        colors[label] = to_hex(lines[0].get_color())
                    elif getattr(cont, "patches", None):
                        colors[label] = to_hex(cont.patches[0].get_facecolor())
            seen[name] = {"colors": colors, "texts": texts, "notes": list(notes or []),
                          "ydata": ydata}
            plt.close(fig)
            return b"png"
        return finish

    def render(rows, **kw):
        seen.clear()
        for name, maker in FIGURES.items():
            module = fig_hw if maker.__module__.endswith("fig_hw") else fig_quant
            monkeypatch.setattr(module, "finish", capture(name))
            if name == "pareto":
                maker(rows, META, kw.get("cost", "lut"))
            else:
                maker(rows, META)
        return dict(seen)

    return render


def test_same_series_same_colour_in_every_figure(drawn):
    full = drawn(_rows())
    assert {"resources_vs_size", "per_pe_vs_bits", "fmax_vs_size", "accuracy_vs_bits",
            "pareto", "error_vs_bits"} <= set(full)
    # a width is one colour in the resource and Fmax figures
    for fig in ("resources_vs_size", "fmax_vs_size"):
        c = full[fig]["colors"]
        suffix = " (-6)" if fig == "fmax_vs_size" else ""  # the speed grade in the Fmax legend
        assert c[f"4 bit{suffix}"] == width_color(4), (fig, c)
        assert c[f"8 bit{suffix}"] == width_color(8), (fig, c)
    # a method is one colour in the accuracy figure and the Pareto plot
    for m, label in (("minmax", "PTQ min/max"), ("entropy", "PTQ entropy"), ("qat", "QAT")):
        assert full["accuracy_vs_bits"]["colors"][label] == method_color(m)
        assert full["pareto"]["colors"][label] == method_color(m)
    # an array size is one colour wherever it is a series
    assert full["per_pe_vs_bits"]["colors"]["4x4"] == size_color(4, 4)
    # a colour does not depend on which other series a figure shows
    fewer = drawn(_rows(sizes=(4, 8), bits=(8,)) + _rows(sizes=(4, 8), bits=(4,)))
    assert fewer["fmax_vs_size"]["colors"]["4 bit (-6)"] == full["fmax_vs_size"]["colors"][
        "4 bit (-6)"]
    assert len(set(METHOD_COLORS.values())) == len(METHOD_COLORS)
    assert len({width_color(b) for b in range(2, 17)}) == 15


def test_skipped_points_are_noted_with_their_reason(drawn):
    figs = drawn(_rows())
    notes = figs["fmax_vs_size"]["notes"]
    assert notes == ["x 8x8 8b: skipped: needs 64 DSP > 28 on ecp5-25k"]
    pareto = drawn(_rows(), cost="fmax")["pareto"]["notes"]
    assert pareto == ["not plotted: ecp5 8x8 8b has no fmax (skipped: needs 64 DSP > 28 on "
                      "ecp5-25k)"]
    assert drawn(_rows())["pareto"]["notes"] == []  # LUTs exist for every point


def test_accuracy_only_rows_are_not_skipped_synthesis_points(drawn):
    # A quantization-only sweep (--target none) has no synthesis target: its rows are accuracy
    # points, not synthesis points that failed.
    quant_only = [{k: v for k, v in _row(4, b).items()
                   if k not in ("lut", "ff", "dsp", "ram", "fmax_mhz", "fmax_min_mhz",
                                "fmax_max_mhz", "critical_ns")} | {"target": None}
                  for b in (2, 3)]
    figs = drawn(_rows() + quant_only)
    assert not any("2b" in n or "3b" in n for n in figs["resources_vs_size"]["notes"])
    assert not any("2b" in n or "3b" in n for n in figs["fmax_vs_size"]["notes"])
    broken = dict(_row(4, 4), lut=None, reason="yosys failed", status="failed")
    notes = drawn(_rows(sizes=(2, 8)) + [broken])["resources_vs_size"]["notes"]
    assert notes == ["x 4x4 4b ecp5: yosys failed"]


def test_qat_missing_widths_and_failed_quant_are_noted(drawn):
    broken = {"name": "q2", "status": "failed", "a_bits": 2, "w_bits": 2, "rows": 4, "cols": 4,
              "reason": "ValueError: boom"}
    rows = [_row(4, 8), _row(4, 16, qat=False), broken]
    notes = drawn(rows)["accuracy_vs_bits"]["notes"]
    assert notes == ["x 2 bit: ValueError: boom",
                     "QAT: no trained network at 16 bits (shipped QAT widths only)"]


def test_report_pareto_cost_fmax_writes_plot_and_table(tmp_path):
    written = write_report({"meta": META, "rows": _rows()}, tmp_path, pareto_cost="fmax")
    assert "fig:pareto" in written and "fig:fmax_vs_size" in written
    page = (tmp_path / "index.html").read_text()
    assert "<h2>Accuracy vs Fmax (MHz, nextpnr median)</h2>" in page
    table = page[page.index("<h2>Accuracy vs"):page.index("<h2>All points")]
    rows = re.findall(r"<tr( class='optimal')?><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>",
                      table)
    # 2x2, 4x4 at 4 and 8 bits, 8x8 at 4 bits (8 bits skipped), five methods each, and float
    assert len(rows) == 5 * 5 + 1
    optimal = {(r[1], r[2], r[3]) for r in rows if r[0]}
    # per array and width the best method (minmax here: every method at a width has the same
    # cost); 4 bits is faster, 8 bits more accurate; 8x8 has only 4 bits routed
    assert optimal == {("ecp5 2x2", "4b", "minmax"), ("ecp5 2x2", "8b", "minmax"),
                       ("ecp5 4x4", "4b", "minmax"), ("ecp5 4x4", "8b", "minmax"),
                       ("ecp5 8x8", "4b", "minmax")}
    md = (tmp_path / "results.md").read_text()
    assert "## Accuracy vs Fmax (MHz, nextpnr median)" in md
    for col in ("speed", "seeds", "fmax_min_mhz", "critical_ns", "critical_start",
                "critical_end"):
        assert f" {col} |" in md.splitlines()[6]
    assert "critical_start" in (tmp_path / "results.csv").read_text().splitlines()[0]


def test_wide_tables_scroll_instead_of_being_cut(tmp_path):
    write_report({"meta": META, "rows": _rows()}, tmp_path)
    page = (tmp_path / "index.html").read_text()
    assert ".scroll{overflow-x:auto" in page
    tables = page.count("<table>")  # timing, Pareto, all points
    assert tables == 3 and page.count("<div class='scroll") == tables
    timing = page[page.index("<h2>Timing"):page.index("<h2>Accuracy vs")]
    assert ("<td>os2x2_a4</td><td>ecp5</td><td></td><td>6</td><td>3</td><td>150</td><td>160</td>"
            "<td>155..163</td><td>engine.need -&gt; mesh.pe_0_0.acc</td><td></td><td>6.25</td>"
            ) in timing
    assert "8x8_a8" not in timing  # not routed (skipped)


def test_bad_pareto_cost_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["report", "x.json", "-o", str(tmp_path / "o"), "--pareto-cost", "luts"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(r"argument --pareto-cost: invalid choice: 'luts' \(choose from "
                     r"'?lut'?, '?ff'?, '?dsp'?, '?ram'?, '?fmax'?\)", err)
    with pytest.raises(ValueError, match=r"^pareto_cost must be one of .*, not 'area'$"):
        write_report({"meta": META, "rows": _rows()}, tmp_path / "o", pareto_cost="area")
    assert not (tmp_path / "o").exists()
    with pytest.raises(ValueError, match=r"^pareto_cost must be one of"):
        make_figures(_rows(), META, pareto_cost="area")


def test_demo_bit_width_table():
    rows = [
        {"a_bits": 4, "w_bits": 4, "method": "qat", "int_accuracy": 0.975,
         "int_accuracy_ci95": [0.955, 0.987], "float_accuracy": 0.982, "sqnr_db": 20.04,
         "rms_err": 0.25, "ties": 1},
        {"a_bits": 8, "w_bits": 4, "method": "mse", "int_accuracy": 0.5, "float_accuracy": 0.982,
         "sqnr_db": 3.0, "ties": 0},
    ]
    assert BIT_WIDTH_HEADER[:4] == ("width", "method", "int accuracy (95% CI)", "float accuracy")
    assert bit_width_rows(rows) == [
        ["4 bit", "qat", "97.50% (95.50..98.70)", "98.20%", "20.0", "0.25", 1],
        ["a8 w4", "mse", "50.00%", "98.20%", "3.0", "", 0],
    ]


def test_demo_rows_become_one_sweep_row_per_width(drawn):
    demo = [{"a_bits": a, "w_bits": a, "method": m, "int_accuracy": acc, "n_test": 397,
             "float_accuracy": 0.98}
            for a, m, acc in ((8, "minmax", 0.98), (8, "qat", 0.97), (4, "minmax", 0.9),
                              (4, "mse", 0.95))]
    rows = bit_width_sweep_rows(demo)
    assert [(r["a_bits"], r.get("int_accuracy_minmax"), r.get("int_accuracy_mse"),
             r.get("int_accuracy_qat")) for r in rows] == [(8, 0.98, None, 0.97),
                                                           (4, 0.9, 0.95, None)]
    colors = drawn(rows)["accuracy_vs_bits"]["colors"]  # the sweep's figure, the sweep's colours
    assert colors["PTQ MSE"] == method_color("mse") and colors["QAT"] == method_color("qat")


def test_breakdown_figure_only_with_breakdown_rows(drawn):
    assert "breakdown_vs_size" not in drawn(_rows())
    rows = _rows()
    for r in rows:
        for k in ("lut", "ff", "dsp", "ram"):
            r[f"mesh_{k}"], r[f"requant_{k}"] = r[k] // 2, r[k] // 4
            r[f"rest_{k}"] = r[k] - r[f"mesh_{k}"] - r[f"requant_{k}"]
    figs = drawn(rows)
    # per PE: the mesh's own LUTs over the PEs (the whole array's without the breakdown)
    per_pe = figs["per_pe_vs_bits"]["ydata"]["LUT4 cells per PE"]["4x4"]
    want = [r["mesh_lut"] / 16 for r in sorted(rows, key=lambda r: r["a_bits"])
            if r["rows"] == 4]
    assert per_pe == want
    whole = drawn(_rows())["per_pe_vs_bits"]["ydata"]["LUT4 cells per PE"]["4x4"]
    assert whole == [r["lut"] / 16 for r in sorted(_rows(), key=lambda r: r["a_bits"])
                     if r["rows"] == 4] != per_pe
    colors = figs["breakdown_vs_size"]["colors"]
    assert colors == {"mesh (PEs)": PART_STYLES["mesh"][0],
                      "requant units": PART_STYLES["requant"][0],
                      "rest: buffers, loaders, control": PART_STYLES["rest"][0]}
