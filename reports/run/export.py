"""Write every requested export from journal records (the run's end and `fleetchaos report`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fleetchaos.reports.run.html import render_html
from fleetchaos.reports.run.junit import render_junit
from fleetchaos.reports.run.markdown import render_markdown
from fleetchaos.reports.run.report import RunReport
from fleetchaos.reports.run.summary_json import render_summary_json

RENDERERS = {"summary": render_summary_json, "junit": render_junit, "html": render_html,
             "markdown": render_markdown}


def write_all(records: Iterable[object], *, summary: str | Path | None = None,
              junit: str | Path | None = None, html: str | Path | None = None,
              markdown: str | Path | None = None) -> RunReport:
    report = RunReport.from_records(records)
    for name, path in (("summary", summary), ("junit", junit), ("html", html),
                       ("markdown", markdown)):
        if path:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(RENDERERS[name](report), encoding="utf-8")
    return report
