"""JUnit XML: one test case per SLO; a breach is a failure saying observed vs threshold.

CI systems render JUnit natively, so a breached SLO shows up where a failed test would.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fleetchaos.reports.format import observed, threshold
from fleetchaos.reports.model import RunReport


def render_junit(report: RunReport) -> str:
    s = report.summary
    slos = s.get("slos", [])
    failures = sum(1 for x in slos if not x.get("passed"))
    suite = ET.Element("testsuite", {
        "name": f"fleetchaos.{s.get('scenario')}", "tests": str(len(slos)),
        "failures": str(failures), "errors": "0" if report.verdict != "incomplete" else "1",
        "time": f"{float(s.get('duration_s') or 0):.1f}",
    })
    props = ET.SubElement(suite, "properties")
    for key in ("run_id", "seed", "verdict", "stranded_drivers", "recovery_s", "faults_left"):
        ET.SubElement(props, "property", {"name": key, "value": str(s.get(key))})
    for slo in slos:
        case = ET.SubElement(suite, "testcase", {
            "classname": f"fleetchaos.{s.get('scenario')}.{slo['phase']}", "name": slo["name"],
        })
        if not slo.get("passed"):
            failure = ET.SubElement(case, "failure", {
                "message": f"observed {observed(slo)}, threshold {threshold(slo)}",
                "type": "SLOBreach",
            })
            failure.text = (f"{slo['metric']} in phase {slo['phase']}: observed {observed(slo)}"
                            f" against {threshold(slo)}")
    if report.verdict == "incomplete":
        case = ET.SubElement(suite, "testcase", {"classname": "fleetchaos", "name": "run completed"})
        ET.SubElement(case, "error", {"message": "the run ended before its summary was written"})
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
