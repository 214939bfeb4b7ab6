"""Reports: tables (CSV, JSON, Markdown), figures and self-contained HTML pages.

``qmac.report`` renders the data it is given (a sweep's results document, a demo summary) and
imports no other qmac package, so a report can be made anywhere from the JSON alone.
"""

from qmac.report.results import columns_present, load_results, merge_results
from qmac.report.tables import to_csv, to_markdown
from qmac.report.write import write_report

__all__ = [
    "columns_present",
    "load_results",
    "merge_results",
    "to_csv",
    "to_markdown",
    "write_report",
]
