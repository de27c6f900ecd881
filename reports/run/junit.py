"""JUnit XML: one test case per SLO; a breach is a failure saying observed vs threshold.

CI systems render JUnit natively, so a breached SLO shows up where a failed test would.
The suite carries ``timestamp`` (the run's start), ``hostname`` and ``time`` (the run's
length) as the JUnit schema asks; each case's ``time`` is the length of the phase its SLO
judges. Properties never say ``None``: a missing value is left out or put in words. The
properties carry the run's configuration (``config.*``) and its headline figures (the
summary's, as every report prints them: ``errors_5xx``, ``stranded_drivers`` of
``drivers_in_fleet``, ``needs``, ``requests``); a recovery the run ended before is
"> 19.3 s (run ended first)", never a measurement.

An SLO with too few samples is a failure of type ``InsufficientSamples`` (never a pass:
the run exits 4), an SLO of a phase a stopped run never finished is skipped, and each
fault whose delivery was measured is a case too, failed when it was under-delivered
("asked x60, delivered x2.8"). A fault that went on or off late against its schedule is
a ``late_fault.<step>`` property saying so (and a line of its case's system-out).
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import datetime

from fleetchaos.reports.format import (
    config_items,
    delivery_text,
    observed,
    observed_of,
    recovery_text,
    slo_status,
    threshold,
    verdict_reason,
)
from fleetchaos.reports.run.report import RunReport


def _timestamp(started: str | None) -> str:
    """ISO 8601 without zone, as the JUnit schema's xs:dateTime pattern expects."""
    try:
        return datetime.fromisoformat(str(started)).strftime("%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return "1970-01-01T00:00:00"


def _phase_length(report: RunReport, phase: str) -> float:
    span = report.header.phase(phase)
    if span is not None:
        return max(0.0, float(span.end_s) - float(span.start_s))
    return report.run_end()  # "all" or a phase the header does not list


def render_junit(report: RunReport) -> str:
    s, h = report.summary, report.header
    slos = s.slos
    faults = [f for f in s.faults if delivery_text(f)]
    failures = sum(1 for x in slos if slo_status(x) in ("fail", "insufficient")) \
        + sum(1 for f in faults if f.under_delivered)
    skipped = sum(1 for x in slos if slo_status(x) == "not_judged")
    errored = report.verdict in ("incomplete", "error")
    suite = ET.Element("testsuite", {
        "name": f"fleetchaos.{report.scenario}",
        "tests": str(len(slos) + len(faults) + errored),
        "failures": str(failures), "errors": "1" if errored else "0",
        "skipped": str(skipped), "time": f"{report.run_end():.1f}",
        "timestamp": _timestamp(h.started_at),
        "hostname": h.hostname or socket.gethostname(),
    })
    props = ET.SubElement(suite, "properties")
    d, t = s.drivers, s.totals
    values: dict[str, object] = {"run_id": s.run_id, "seed": s.seed, "verdict": s.verdict,
                                 "headline": report.headline(),
                                 "errors_5xx": t.errors_5xx if t else None,
                                 "requests": t.requests if t else None,
                                 "stranded_drivers": d.stranded_drivers
                                 if d.stranded_drivers is not None else s.stranded_drivers,
                                 "drivers_in_fleet": d.in_fleet,
                                 "needs": d.needs, "stranded_needs": d.stranded_needs,
                                 "faults_left": s.faults_left}
    values["recovery"] = recovery_text(s, short=True) or "no fault to recover from"
    for what, text in config_items(s.config):
        if text != "-":
            values[f"config.{what.replace(' ', '_')}"] = text
    for f in s.faults:  # a fault that went on or off late (scenarios/lateness.py)
        if f.timing_note:
            values[f"late_fault.{f.step}"] = f.timing_note
    for key, value in values.items():
        if value is not None:
            ET.SubElement(props, "property", {"name": key, "value": str(value)})
    for slo in slos:
        case = ET.SubElement(suite, "testcase", {
            "classname": f"fleetchaos.{report.scenario}.{slo.phase}", "name": slo.name,
            "time": f"{_phase_length(report, slo.phase):.1f}",
        })
        status = slo_status(slo)
        if status == "fail":
            failure = ET.SubElement(case, "failure", {
                "message": f"observed {observed_of(slo)}, threshold {threshold(slo)}",
                "type": "SLOBreach",
            })
            failure.text = (f"{slo.metric} in phase {slo.phase}: observed {observed(slo)}"
                            f" against {threshold(slo)}")
        elif status == "insufficient":
            ET.SubElement(case, "failure", {
                "message": f"insufficient: {slo.samples or 0} samples, {slo.min_samples} "
                           f"needed (observed {observed(slo)})",
                "type": "InsufficientSamples"})
        elif status == "not_judged":
            ET.SubElement(case, "skipped", {"message": str(slo.extra.get("not_judged")
                                                           or "its phase never finished")})
    for f in faults:
        case = ET.SubElement(suite, "testcase", {
            "classname": f"fleetchaos.{report.scenario}.faults",
            "name": f"fault delivered: {f.label or '?'}",
            "time": f"{max(0.0, (f.off_s or 0.0) - (f.on_s or 0.0)):.1f}"})
        if f.under_delivered:
            ET.SubElement(case, "failure", {"message": f.message or delivery_text(f),
                                            "type": "UnderDelivered"})
        out = [f.timing_note] if f.under_delivered else [delivery_text(f), f.timing_note]
        if any(out):
            ET.SubElement(case, "system-out").text = "\n".join(x for x in out if x)
    if errored:
        case = ET.SubElement(suite, "testcase", {"classname": "fleetchaos", "name": "run completed",
                                                 "time": f"{report.run_end():.1f}"})
        message = (verdict_reason(s) or "the harness failed") if report.verdict == "error" \
            else "the run ended before its summary was written"
        ET.SubElement(case, "error", {"message": message,
                                      "type": "HarnessFailure" if report.verdict == "error"
                                      else "Incomplete"})
    attrs = suite.attrib
    suites = ET.Element("testsuites", {"tests": attrs["tests"], "failures": str(failures),
                                       "errors": attrs["errors"], "time": attrs["time"]})
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
