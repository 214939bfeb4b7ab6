"""qmac report: tables, figures and the self-contained HTML page from a small real results file."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path

import pytest

from qmac import cli
from qmac.report import columns_present, load_results, to_markdown, write_report
from qmac.report.figures import provenance

DATA = Path(__file__).resolve().parent.parent / "data"
RESULTS = DATA / "results_small.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def doc():
    return json.loads(RESULTS.read_text())


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert cli.main(["report", str(RESULTS), "-o", str(out)]) == 0
    return out


def test_csv_and_json_hold_every_row(doc, report):
    rows = list(csv.DictReader(io.StringIO((report / "results.csv").read_text())))
    assert len(rows) == len(doc["rows"])
    assert [r["name"] for r in rows] == [r["name"] for r in doc["rows"]]
    for got, want in zip(rows, doc["rows"], strict=True):
        assert got["status"] == want["status"]
        if want.get("dsp") is not None:
            assert int(got["dsp"]) == want["dsp"] and float(got["fmax_mhz"]) == want["fmax_mhz"]
    assert json.loads((report / "results.json").read_text()) == doc


def test_markdown_table(doc, report):
    md = (report / "results.md").read_text()
    table = [ln for ln in md.splitlines() if ln.startswith("|")]
    assert len(table) == 2 + len(doc["rows"])
    header = [c.strip() for c in table[0].strip("|").split("|")]
    assert header == [c for c in columns_present(doc["rows"]) if not c.endswith("_s")]
    assert doc["meta"]["command"] in md
    failed = [ln for ln in table[2:] if "| failed |" in ln]
    assert len(failed) == sum(r["status"] == "failed" for r in doc["rows"]) > 0
    assert all("ERROR: syntax error" in ln for ln in failed)


def test_html_is_self_contained_with_figures(doc, report):
    page = (report / "index.html").read_text()
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    pngs = sorted(report.glob("*.png"))
    # the rows have sizes, bit widths, Fmax and quantization error, but no workload cycles
    assert sorted(p.stem for p in pngs) == [
        "error_vs_bits",
        "resources_vs_bits",
        "resources_vs_size",
    ]
    assert sorted(base64.b64decode(i) for i in images) == sorted(p.read_bytes() for p in pngs)
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in pngs)
    assert not re.search(r"(src|href)=['\"](?!data:)", page)  # no external file referenced
    assert page.count("<tr class='failed'>") == sum(r["status"] == "failed" for r in doc["rows"])
    assert page.count("Produced by:") == len(pngs)
    for tool in ("qmac", "yosys", "nextpnr-ecp5"):
        assert f"{tool} {doc['meta']['versions'][tool]}" in page


def test_provenance_names_command_and_versions(doc):
    line = provenance(doc["meta"])
    assert line.startswith(doc["meta"]["command"])
    assert re.search(r"qmac \S+, yosys \S+, nextpnr-ecp5 \S+", line)


def test_tables_only_and_no_plot_data(tmp_path, doc):
    meta = dict(doc["meta"])
    rows = [{"name": "x", "status": "failed", "reason": "boom"}]
    written = write_report({"meta": meta, "rows": rows}, tmp_path, plots=True)
    assert not [k for k in written if k.startswith("fig:")]  # nothing to plot from a failed row
    assert "boom" in (tmp_path / "index.html").read_text()
    assert to_markdown(rows, meta).splitlines()[-1] == "| x | failed | boom |"


def test_load_results_rejects(tmp_path):
    with pytest.raises(ValueError, match=r"^results file '.*nope\.json' does not exist$"):
        load_results(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"rows": []}')
    with pytest.raises(ValueError, match=r"must hold \{'meta': \.\.\., 'rows': \[\.\.\.\]\}$"):
        load_results(bad)
    bad.write_text('{"meta": {}, "rows": [{"status": "ok"}]}')
    with pytest.raises(ValueError, match=r"row 0 has no 'name'$"):
        load_results(bad)


def test_cli_report_error_exit(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path / "missing.json"), "-o", str(tmp_path)]) == 2
    assert re.match(
        r"^qmac report: error: results file '.*missing\.json' does not exist$",
        capsys.readouterr().err.strip(),
    )


def test_merge_two_sweeps(tmp_path, doc):
    other = json.loads(json.dumps(doc))
    other["meta"]["command"] = "qmac sweep --second"
    other["meta"]["versions"]["yosys"] = "9.99"
    (tmp_path / "b.json").write_text(json.dumps(other))
    out = tmp_path / "out"
    assert cli.main(["report", str(RESULTS), str(tmp_path / "b.json"), "-o", str(out)]) == 0
    merged = json.loads((out / "results.json").read_text())
    assert merged["rows"] == doc["rows"] + other["rows"]
    assert merged["meta"]["command"] == doc["meta"]["command"] + " && qmac sweep --second"
    assert merged["meta"]["versions"]["yosys"] == doc["meta"]["versions"]["yosys"] + " / 9.99"
    assert merged["meta"]["failed_points"] == 2 * doc["meta"]["failed_points"]


def test_cycles_figure_from_workload_rows(tmp_path, doc):
    """Rows as a --workload sweep writes them (inputs here, not expected outputs)."""
    rows = [
        {
            "name": f"os{s}x{s}",
            "status": "ok",
            "target": None,
            "rows": s,
            "cols": s,
            "a_bits": 8,
            "w_bits": 8,
            "dataflow": "os",
            "workload": "matmul64",
            "macs": 64**3,
            "cycles": c,
            "ideal_cycles": c - 10,
            "utilization": 64**3 / (s * s * c),
        }
        for s, c in ((4, 17000), (8, 4500))
    ]
    written = write_report({"meta": doc["meta"], "rows": rows}, tmp_path)
    assert [k for k in written if k.startswith("fig:")] == ["fig:cycles_vs_size"]
    assert written["fig:cycles_vs_size"].read_bytes().startswith(PNG_MAGIC)
    md = (tmp_path / "results.md").read_text()
    assert "| cycles | ideal_cycles | utilization |" in md


def test_rejects_binary_duplicate_and_empty_results(tmp_path):
    binary = tmp_path / "r.bin"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(
        ValueError,
        match=r"^results file '.*r\.bin' is not a JSON results file of qmac sweep: not UTF-8 text",
    ):
        load_results(binary)
    out = tmp_path / "out"
    twice = r"^results file '.*' is given twice \(as '.*'\): its rows"
    with pytest.raises(ValueError, match=twice):
        write_report([RESULTS, DATA / ".." / "data" / RESULTS.name], out)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"meta": {}, "rows": []}))
    nothing = r"^results '.*empty\.json' hold no rows: nothing to report$"
    with pytest.raises(ValueError, match=nothing):
        write_report([empty], out)
    assert not out.exists()  # nothing written on bad input
