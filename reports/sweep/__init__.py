"""A sweep's report (``fleetchaos sweep``), from ``sweep.json`` alone: one row per
combination of the varied values, one cell per SLO; terminal, Markdown and HTML."""
