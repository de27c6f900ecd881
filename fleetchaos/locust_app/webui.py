"""The Locust web UI's Chaos tab and its endpoints.

Locust's UI takes extra tabs as ``extended_tabs`` / ``extended_tables`` template args,
with rows delivered inside the ``/stats/requests`` poll (``extended_stats``); that tab
shows the clock, the SLOs' live state, the timeline, faults (by hand too) and the fleet
gauges. ``/chaos/`` is a page of our own (static/chaos.html: timeline strip, SLO cards,
gauges, inline controls); its actions go through the engine's ``apply_manual`` so they
are validated and journaled as manual steps; once a run ends the page offers its HTML
report and summary (``/chaos/download/...``). Locust's own page gets a small script
(static/locust_tab.js) that makes the tab's "open /chaos/" row a link. Everything sits
behind ``webui_guard``; ``webui_live`` judges the SLOs so far (and "not judged" after a
stop), ``webui_start`` honours the start form and starts the next run after NEW -> START.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, jsonify, request

from fleetchaos.common import json_bounded
from fleetchaos.locust_app.session_paths import sibling
from fleetchaos.locust_app.webui_guard import TOKEN_HEADER, guard_web_ui, print_banner, run_token
from fleetchaos.locust_app.webui_live import LiveStatus
from fleetchaos.reports.labels import step_label

if TYPE_CHECKING:
    from locust.env import Environment

TAB_KEY = "chaos"


def _engine(environment: Environment) -> Any:
    from fleetchaos.scenarios.engine import current_engine

    return current_engine(environment)


STATE_WORDS = {"waiting": "waiting for its phase", "pending": "judged at the end",
               "nodata": "no data yet", "ok": "holding", "break": "BREAKING",
               "pass": "PASS", "fail": "FAIL", "insufficient": "too few samples to judge",
               "not_judged": "not judged (the run stopped before its phase ended)"}
CONTROLS_TEXT = "open /chaos/ (timeline, SLO cards, add or remove a fault by hand)"


def chaos_rows(status: dict[str, Any]) -> list[dict[str, str]]:
    """The Chaos tab's rows (Locust renders them as a two-column table): labels, never
    raw dicts; the SLOs' live state; faults by hand as steps."""
    live = status.get("live") or {}
    rows = [{"item": "scenario", "value": f"{status['title']} ({status['scenario']})"},
            {"item": "time", "value": str(live.get("clock") or
                                          f"{status['elapsed_s']:.0f} / {status['duration_s']:g} s")}]
    if live.get("run", 1) > 1:
        rows.append({"item": "run", "value": f"run {live['run']} in this web UI"})
    if live.get("verdict"):
        rows.append({"item": "verdict", "value": f"{str(live['verdict']).upper()}: "
                                                 f"{live.get('verdict_reason') or ''}".rstrip(": ")})
    for key in ("setup_error", "harness_error"):
        if status.get(key):
            rows.append({"item": key.replace("_", " "), "value": str(status[key])})
    for slo in live.get("slos") or []:
        value = STATE_WORDS.get(slo["state"], slo["state"])
        if slo.get("observed") is not None and slo["state"] not in ("waiting", "pending"):
            so_far = " so far" if slo["state"] == "not_judged" else ""
            value += f": {slo['observed']}{so_far} (needs {slo['threshold']})"
        rows.append({"item": f"SLO {slo['name']}", "value": value})
    for step in status["timeline"]:
        label = step.get("label") or step_label(step.get("action"), step.get("spec"))
        end = f"-{step['end_s']:g}" if step.get("end_s") is not None else ""
        rows.append({"item": f"step {step['index']} @ {step['at_s']:g}{end} s",
                     "value": f"{label} ({'fired' if step['fired'] else 'pending'})"})
    for fault in live.get("faults") or []:
        if fault.get("manual"):
            on = fault["ended_by"] is None
            rows.append({"item": f"by hand @ {fault['start']:.0f} s",
                         "value": f"{fault['label']} ({'on' if on else 'removed'})"})
    for fault in status["active_faults"]:
        rows.append({"item": "fault on now", "value": str(fault.get("label")
                                                         or fault.get("name") or fault["kind"])})
    fleet = status.get("fleet") or {}
    for key in ("cars_connected", "telemetry_sent", "telemetry_acked", "telemetry_resent",
                "stranded"):
        rows.append({"item": key.replace("_", " "), "value": str(fleet.get(key, "-"))})
    rows.append({"item": "controls", "value": CONTROLS_TEXT})  # a link: static/locust_tab.js
    return rows


STATIC = Path(__file__).parent / "static"
PAGE_FILE = STATIC / "chaos.html"
LOCUST_TAB_SCRIPT = STATIC / "locust_tab.js"
DOWNLOAD_KINDS = {"report.html": ("html", "text/html; charset=utf-8", ".report.html"),
                  "summary.json": ("summary", "application/json", ".summary.json")}


MAX_BODY_BYTES = 64 * 1024  # a manual fault is a few hundred bytes
MAX_BODY_DEPTH = 16  # {"attributes": {...}} is 2 levels


def _json_body() -> tuple[Any, str | None]:
    """The request's JSON body (None when it sent none), or a problem to answer 400 with:
    too large, not JSON, nested too deep (a 100,000-level body was a text/plain 500)."""
    if not request.is_json:
        return None, None
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return None, f"the body is larger than {MAX_BODY_BYTES // 1024} KiB"
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        return None, f"the body is larger than {MAX_BODY_BYTES // 1024} KiB"
    if not raw.strip():
        return None, None
    try:
        return json_bounded.loads(raw, MAX_BODY_DEPTH), None
    except json_bounded.TooDeep as exc:
        return None, f"the body is {exc}"
    except ValueError:
        return None, "the body is not JSON"


def with_locust_tab_script(html: str) -> str:
    """Locust's page with our small script: the Chaos tab's controls row becomes a link
    (Locust renders extended-table cells as plain text)."""
    script = f"<script>{LOCUST_TAB_SCRIPT.read_text()}</script>"
    at = html.rfind("</body>")
    return html + script if at < 0 else html[:at] + script + html[at:]


def install(environment: Environment) -> None:
    """Add the Chaos tab and the /chaos endpoints to Locust's web UI, behind the guard
    (webui_guard: same-origin writes, Host check, the run's token on the Chaos API)."""
    web_ui = environment.web_ui
    assert web_ui is not None and web_ui.app is not None  # plugin.py installs us into one
    app = web_ui.app
    token, generated = run_token()
    guard_web_ui(web_ui, token)
    if generated:  # a plain `locust -f`: nobody else will print it (the CLI prints its own)
        print_banner(f"http://{web_ui.host or '127.0.0.1'}:{web_ui.port}/", token)
    bp = Blueprint("fleetchaos_chaos", __name__, url_prefix="/chaos")

    def engine_or_404() -> Any:
        engine = _engine(environment)
        if engine is None:
            return None
        return engine

    def manual(step: dict[str, Any]) -> Response | tuple[Response, int]:
        from fleetchaos.scenarios.schema import ScenarioError

        engine = engine_or_404()
        if engine is None:
            return jsonify({"error": "no scenario engine in this process"}), 404
        try:
            return jsonify(engine.apply_manual(step))
        except (ScenarioError, ValueError) as exc:
            return jsonify({"error": str(exc)}), 400
        except Exception as exc:
            return jsonify({"error": f"Toxiproxy refused it: {exc}"}), 502
        finally:
            live.invalidate()  # the page and the tab show the change on their next poll

    live = LiveStatus()

    def runner_state() -> str | None:
        runner = environment.runner
        return None if runner is None else str(runner.state)

    @bp.route("/")
    def page() -> Response:
        from fleetchaos.scenarios.steps.targeting import TARGETABLE
        from fleetchaos.scenarios.steps.toxic import TOXIC_ATTRIBUTES

        engine = engine_or_404()
        proxies = sorted(engine.scenario.proxies) if engine else []
        config = {"token": token, "tokenHeader": TOKEN_HEADER, "proxies": proxies,
                  "toxics": TOXIC_ATTRIBUTES, "targets": list(TARGETABLE)}
        return Response(PAGE_FILE.read_text().replace(
            "/*CONFIG*/null", json.dumps(config).replace("</", "<\\/")), mimetype="text/html")

    @bp.route("/status")
    def status() -> Response | tuple[Response, int]:
        engine = engine_or_404()
        if engine is None:
            return jsonify({"error": "no scenario engine in this process"}), 404
        return jsonify(live.status(engine, runner_state()))

    def from_body(action: str) -> Any:
        body, problem = _json_body()
        if problem is not None:
            return jsonify({"error": f"{request.path}: {problem}"}), 400
        if not isinstance(body, dict):
            return jsonify({"error": f"{request.path}: the body must be a JSON object, got "
                                     f"{type(body).__name__}"}), 400
        return manual({**body, "action": action})

    @bp.route("/download/<name>")
    def download(name: str) -> Response | tuple[Response, int]:
        """The ended run's HTML report or summary, rendered from its journal (as
        ``fleetchaos report`` does): the Chaos page links to them once the run ends."""
        from fleetchaos.reports.run.export import RENDERERS
        from fleetchaos.reports.run.report import RunReport
        from fleetchaos.scenarios.journal import read_journal

        engine = engine_or_404()
        if engine is None:
            return jsonify({"error": "no scenario engine in this process"}), 404
        if name not in DOWNLOAD_KINDS:
            return jsonify({"error": f"{name}: the downloads are "
                                     f"{', '.join(DOWNLOAD_KINDS)}"}), 404
        if not (engine.finished and engine.summary is not None):
            return jsonify({"error": f"{name}: the run has not ended yet (its report is "
                                     "written when it stops)"}), 409
        kind, mimetype, suffix = DOWNLOAD_KINDS[name]
        body = RENDERERS[kind](RunReport.from_records(read_journal(engine.journal.path)))
        answer = Response(body, mimetype=mimetype.split(";")[0])
        answer.headers["Content-Type"] = mimetype
        answer.headers["Content-Disposition"] = (
            f'attachment; filename="{sibling(engine.journal.path, suffix).name}"')
        return answer

    @bp.route("/toxic", methods=["POST"])
    def add_toxic() -> Any:
        return from_body("toxic_add")

    @bp.route("/toxic/<name>", methods=["DELETE"])
    def remove_toxic(name: str) -> Any:
        return manual({"action": "toxic_remove", "name": name})

    @bp.route("/http_error", methods=["POST"])
    def http_error() -> Any:
        return from_body("http_error_add")

    @bp.route("/verbosity", methods=["POST"])
    def verbosity() -> Any:
        return from_body("verbosity")

    app.register_blueprint(bp)
    web_ui.template_args["extended_tabs"] = [{"title": "Chaos", "key": TAB_KEY}]
    web_ui.template_args["extended_tables"] = [{"key": TAB_KEY, "structure": [
        {"key": "item", "title": "Item"}, {"key": "value", "title": "Value"}]}]
    first = engine_or_404()
    if first is not None:
        from fleetchaos.locust_app.webui_start import show_fleet_in_form

        show_fleet_in_form(environment, first.scenario)

    @app.before_request
    def honour_start_form() -> Any:
        if request.endpoint != "locust.swarm" or request.method != "POST":
            return None
        from fleetchaos.locust_app.webui_start import on_swarm

        problem = on_swarm(environment, request.form)
        live.invalidate()
        if problem is not None:
            return jsonify({"success": False, "message": problem,
                            "host": environment.host}), 400
        return None

    @app.after_request
    def add_chaos_rows(response: Response) -> Response:
        if request.endpoint == "locust.index" and response.mimetype == "text/html" \
                and response.status_code == 200:
            response.set_data(with_locust_tab_script(response.get_data(as_text=True)))
            return response
        if request.path != "/stats/requests" or not response.is_json:
            return response
        engine = engine_or_404()
        if engine is None:
            return response
        data = response.get_json()
        data["extended_stats"] = [{"key": TAB_KEY,
                                   "data": chaos_rows(live.status(engine, runner_state()))}]
        response.set_data(json.dumps(data))
        return response
