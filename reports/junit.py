"""JUnit XML: one test case per SLO; a breach is a failure saying observed vs threshold.

CI systems render JUnit natively, so a breached SLO shows up where a failed test would.
The suite carries ``timestamp`` (the run's start), ``hostname`` and ``time`` (the run's
length) as the JUnit schema asks; each case's ``time`` is the length of the phase its SLO
judges. Properties never say ``None``: a missing value is left out or put in words.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from fleetchaos.reports.format import observed, recovery_text, threshold
from fleetchaos.reports.model import RunReport


def _timestamp(started: Any) -> str:
    """ISO 8601 without zone, as the JUnit schema's xs:dateTime pattern expects."""
    try:
        return datetime.fromisoformat(str(started)).strftime("%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return "1970-01-01T00:00:00"


def _phase_length(report: RunReport, phase: str) -> float:
    for p in report.phases():
        if p.get("name") == phase:
            return max(0.0, float(p.get("end_s", 0)) - float(p.get("start_s", 0)))
    return report.run_end()  # "all" or a phase the header does not list


def render_junit(report: RunReport) -> str:
    s, h = report.summary, report.header
    slos = s.get("slos", [])
    failures = sum(1 for x in slos if not x.get("passed"))
    suite = ET.Element("testsuite", {
        "name": f"fleetchaos.{report.scenario}", "tests": str(len(slos)
                                                                + (report.verdict == "incomplete")),
        "failures": str(failures), "errors": "0" if report.verdict != "incomplete" else "1",
        "skipped": "0", "time": f"{report.run_end():.1f}",
        "timestamp": _timestamp(h.get("started_at") or s.get("started_at")),
        "hostname": str(h.get("hostname") or s.get("hostname") or socket.gethostname()),
    })
    props = ET.SubElement(suite, "properties")
    values: dict[str, Any] = {k: s.get(k) for k in ("run_id", "seed", "verdict",
                                                    "stranded_drivers", "faults_left")}
    values["recovery"] = recovery_text(s, short=True) or "no fault to recover from"
    for key, value in values.items():
        if value is not None:
            ET.SubElement(props, "property", {"name": key, "value": str(value)})
    for slo in slos:
        case = ET.SubElement(suite, "testcase", {
            "classname": f"fleetchaos.{report.scenario}.{slo['phase']}", "name": slo["name"],
            "time": f"{_phase_length(report, str(slo['phase'])):.1f}",
        })
        if not slo.get("passed"):
            failure = ET.SubElement(case, "failure", {
                "message": f"observed {observed(slo)}, threshold {threshold(slo)}",
                "type": "SLOBreach",
            })
            failure.text = (f"{slo['metric']} in phase {slo['phase']}: observed {observed(slo)}"
                            f" against {threshold(slo)}")
    if report.verdict == "incomplete":
        case = ET.SubElement(suite, "testcase", {"classname": "fleetchaos", "name": "run completed",
                                                 "time": f"{report.run_end():.1f}"})
        ET.SubElement(case, "error", {"message": "the run ended before its summary was written"})
    suites = ET.Element("testsuites", {"tests": suite.get("tests", "0"),
                                       "failures": str(failures), "errors": suite.get("errors", "0"),
                                       "time": suite.get("time", "0")})
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
