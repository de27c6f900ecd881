"""Scenarios: the YAML a team reviews, validated; the timeline engine that runs it as
Locust's load shape; fault control through toxiproxy-python; the journal; SLO verdicts.

``schema``, ``loader``, ``journal``, ``slo``, ``summary`` and ``fault_control`` import
without Locust; ``engine``, ``shape`` and ``locust_plugin`` are the Locust side.
"""
