"""The Locust side: the only package that knows Locust's events, runners and stats.

It wires the lower layers into a Locust process: the plugin (custom arguments, the
engine on the master or local runner, the verdict as exit code), the run set-up and
the collaborators the engine is handed, the load shape, the sampler of Locust's stats,
the web UI's Chaos tab and its guard, and the Prometheus endpoint. The package's
locustfile (``fleetchaos/locustfile.py``) imports it; nothing below it imports it.
"""
