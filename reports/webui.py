"""The Locust web UI's Chaos tab and its endpoints.

Locust's UI takes extra tabs as ``extended_tabs`` / ``extended_tables`` template args,
with rows delivered inside the ``/stats/requests`` poll (``extended_stats``); that tab
shows the timeline, live faults, fleet gauges and SLO state. Controls (add or remove a
toxic, change verbosity) live on ``/chaos/``, a small page of our own, and go through
the engine's ``apply_manual`` so they are validated and journaled as manual steps.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request

from fleetchaos.reports.webui_guard import TOKEN_HEADER, guard_web_ui, print_banner, run_token

TAB_KEY = "chaos"


def _engine(environment: Any) -> Any:
    from fleetchaos.scenarios.engine import current_engine

    return current_engine(environment)


def chaos_rows(status: dict[str, Any]) -> list[dict[str, str]]:
    rows = [{"item": "scenario", "value": f"{status['title']} ({status['scenario']})"},
            {"item": "time", "value": f"{status['elapsed_s']:.0f} / {status['duration_s']:g} s"
                                      f" · phase {status['phase'] or '-'}"}]
    for step in status["timeline"]:
        state = "fired" if step["fired"] else "pending"
        end = f"-{step['end_s']:g}" if step.get("end_s") is not None else ""
        rows.append({"item": f"step {step['index']} @ {step['at_s']:g}{end} s ({state})",
                     "value": f"{step['action']} {json.dumps(step['spec'])}"})
    for fault in status["active_faults"]:
        rows.append({"item": "active fault", "value": fault.get("name") or fault["kind"]})
    fleet = status.get("fleet") or {}
    for key in ("cars_connected", "telemetry_sent", "telemetry_acked", "telemetry_resent",
                "stranded"):
        rows.append({"item": key.replace("_", " "), "value": str(fleet.get(key, "-"))})
    for slo in status["slos"]:
        rows.append({"item": f"SLO {slo['name']}", "value": f"{slo['metric']} {slo['op']} "
                                                            f"{slo['threshold']:g}"})
    rows.append({"item": "controls", "value": "open /chaos/ to inject a fault by hand"})
    return rows


PAGE_FILE = Path(__file__).parent / "static" / "chaos.html"


def install(environment: Any) -> None:
    """Add the Chaos tab and the /chaos endpoints to Locust's web UI, behind the guard
    (webui_guard: same-origin writes, Host check, the run's token on the Chaos API)."""
    web_ui = environment.web_ui
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

    @bp.route("/")
    def page() -> Response:
        from fleetchaos.scenarios.schema import TOXIC_TYPES

        engine = engine_or_404()
        proxies = sorted(engine.scenario.proxies) if engine else []
        return Response(PAGE_FILE.read_text() % {
            "proxies": "".join(f"<option>{html.escape(p)}</option>" for p in proxies),
            "types": "".join(f"<option>{t}</option>" for t in TOXIC_TYPES),
            "token": json.dumps(token), "token_header": json.dumps(TOKEN_HEADER),
        }, mimetype="text/html")

    @bp.route("/status")
    def status() -> Response | tuple[Response, int]:
        engine = engine_or_404()
        if engine is None:
            return jsonify({"error": "no scenario engine in this process"}), 404
        return jsonify(engine.status())

    @bp.route("/toxic", methods=["POST"])
    def add_toxic() -> Any:
        body = request.get_json(silent=True) or {}
        return manual({"action": "toxic_add", **body})

    @bp.route("/toxic/<name>", methods=["DELETE"])
    def remove_toxic(name: str) -> Any:
        return manual({"action": "toxic_remove", "name": name})

    @bp.route("/verbosity", methods=["POST"])
    def verbosity() -> Any:
        body = request.get_json(silent=True) or {}
        return manual({"action": "verbosity", **body})

    web_ui.app.register_blueprint(bp)
    web_ui.template_args["extended_tabs"] = [{"title": "Chaos", "key": TAB_KEY}]
    web_ui.template_args["extended_tables"] = [{"key": TAB_KEY, "structure": [
        {"key": "item", "title": "Item"}, {"key": "value", "title": "Value"}]}]

    @web_ui.app.after_request
    def add_chaos_rows(response: Response) -> Response:
        if request.path != "/stats/requests" or not response.is_json:
            return response
        engine = engine_or_404()
        if engine is None:
            return response
        data = response.get_json()
        data["extended_stats"] = [{"key": TAB_KEY, "data": chaos_rows(engine.status())}]
        response.set_data(json.dumps(data))
        return response
