"""Scenarios: the YAML a team reviews, validated; the timeline engine that runs it as
Locust's load shape; fault control through toxiproxy-python; the journal; SLO verdicts.

Each timeline action is a plug-in in ``steps/`` (schema, apply, undo, label, journal
form, effect). ``schema``, ``loader``, ``checker``, ``steps``, ``journal``, ``summary``,
``effects`` and ``fault_control`` import without Locust; ``engine`` (clock, journal,
rollback), ``run_setup`` (Toxiproxy, proxies, fleet registration, header),
``collaborators``, ``shape`` and ``locust_plugin`` are the Locust side.
"""
