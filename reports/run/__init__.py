"""One run's report, from its journal: terminal, summary JSON, JUnit, Markdown, HTML, the
live view and the end-of-run verdict (see ``fleetchaos.reports``)."""
