"""Reports: everything a person reads about a run, rendered from its journal alone.

One renderer per format: ``terminal`` (rich), ``summary_json``, ``junit``, ``markdown``,
``html``; ``live`` is the headless live view, ``webui`` the Locust web UI's Chaos tab.
"""
