"""Reports: everything a person reads about runs, rendered from what the runs wrote.

Pure renderers: typed records in, text out; nothing here runs a run, knows Locust or
changes anything (the web UI's Chaos tab lives with the Locust side,
``fleetchaos.locust_app``). The records' shape is ``fleetchaos.scenarios.records``
(the journal's records and the summary, typed and read defensively).

- ``run/``: one run, from its journal: ``report`` (``RunReport``: the summary, the time
  series, the faults as they really were), ``terminal`` (rich), ``summary_json``,
  ``junit``, ``markdown``, ``html``, ``broker`` (the MQTT broker's figures), ``export``
  (every file a run asked for), ``live`` (the headless live view), ``end_of_run`` (the
  verdict after a plain Locust run).
- ``compare/``: two runs side by side: ``comparison`` (``Comparison``, tolerances),
  ``terminal``, ``markdown``, ``html``.
- ``sweep/``: a sweep's runs: ``table`` (``Sweep``, the typed ``sweep.json``, and its rows
  per combination), ``terminal``, ``markdown``, ``html``.
- Shared: ``format`` (numbers and words every format prints the same way), ``labels``
  (fault and step labels), ``chart`` (time charts and a sweep's charts: HTML words over
  stretching SVG lines, readable at 390 px, lines broken where data is missing), ``fit``
  (terminal tables that fit 80 columns without wrapping a cell).
"""
