"""Reports: everything a person reads about a run, rendered from its journal alone.

Pure renderers: records in, text out; nothing here runs a run or knows Locust.

- One run: ``model`` (the report object built from the records), ``terminal`` (rich),
  ``summary_json``, ``junit``, ``markdown``, ``html`` (with ``labels``, ``format``,
  ``records``, ``broker``), ``export`` (every file a run asked for), ``live`` (the
  headless live view), ``end_of_run`` (the verdict after a plain Locust run).
- Compare: ``compare_model``, ``compare_terminal``, ``compare_markdown``,
  ``compare_html``, ``compare_svg``.
- Sweep: ``sweep_model``, ``sweep_terminal``, ``sweep_markdown``, ``sweep_html``.

The web UI's Chaos tab lives with the Locust side (``fleetchaos.locust_app.webui``).
"""
