"""Runs as library code: everything a command does between parsing its options and printing.

``orchestrator.execute`` is one whole run (validate, start the children, run Locust,
sweep, stop, export); ``repeat`` runs it N times with one seed, ``sweep`` once per
combination of values, ``breakpoint`` bisects a field for where an SLO breaks. The
faces (``fleetchaos.api``, ``fleetchaos.cli``, ``fleetchaos.pytest_plugin``) stand on
this package; it never imports them. Named ``runs`` because ``fleetchaos.run`` is the
public function (a subpackage of that name would shadow it once imported).
"""
