"""Scenarios: the YAML a team reviews, validated; the timeline engine that runs it;
fault control through toxiproxy-python; the journal; the summary and SLO verdicts.

Each timeline action is a plug-in in ``steps/`` (schema, apply, undo, label, journal
form, effect). Nothing here knows Locust's events or writes a report: the engine
(clock, journal, rollback) is handed its set-up and outputs (``prepared``) by the Locust
side, ``fleetchaos.locust_app``, which also turns the engine into Locust's load shape.
"""
