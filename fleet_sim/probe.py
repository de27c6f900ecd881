"""Try a profile against a live backend before any fleet is started.

``probe`` makes one login, one call of each action and one telemetry batch, as the
fleet would render them (identity 0 of the default seed), and returns each request with
its answer and, where the answer is not what the profile expects, what in the profile
to fix. ``check_reachable`` is the cheap part a run does before it starts the fleet:
the backend answers HTTP at all, and the login (when the profile has one and needs no
fleet registration first) succeeds. Plain ``requests`` here, no gevent: this runs in
the CLI process.
"""

from __future__ import annotations

import contextlib
import json
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from fleetchaos.fleet_sim.identities import identity
from fleetchaos.fleet_sim.profiles import Profile, ProfileError, RequestTemplate, dig, render
from fleetchaos.fleet_sim.telemetry import field_names, make_record

TIMEOUT_S = 10.0
WS_ACK_WAIT_S = 5.0
ORDER = ("list_vehicles", "vehicle_data", "wake_up", "unlock", "remote_start")


@dataclass
class Exchange:
    """One request the probe made and what came back."""

    label: str  # "login", an action name, "telemetry"
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    status: int = 0  # 0: no HTTP answer
    answer: str = ""
    ok: bool = False
    fix: str = ""  # what to change in the profile (or the backend) when not ok
    notes: list[str] = field(default_factory=list)


def _variables(seed: int = 2021, index: int = 0) -> dict[str, Any]:
    ident = identity(seed, index, {})
    return {"vin": ident.vin, "vehicle_id": ident.vin, "owner_email": ident.owner_email,
            "owner_password": ident.owner_password, "car_token": ident.car_token,
            "display_name": ident.display_name}


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _why(exc: BaseException) -> str:
    """A connection failure in a few words (requests' own text runs to 300 characters)."""
    if isinstance(exc, requests.Timeout):
        return f"no answer within {TIMEOUT_S:g} s"
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, ConnectionResetError):
            return "connection reset"
        seen = seen.__cause__ or seen.__context__
        if seen is None and exc.args and isinstance(exc.args[0], BaseException):
            seen, exc = exc.args[0], exc.args[0]
    text = str(exc)
    if "Connection refused" in text or "NewConnectionError" in text:
        return "connection refused"
    return _short(text, 200)


def _send(label: str, base: str, tpl: RequestTemplate, variables: dict[str, Any],
          extra_headers: dict[str, str] | None = None) -> tuple[Exchange, Any]:
    headers = {**render(dict(tpl.headers), variables), **(extra_headers or {})}
    body = render(tpl.json, variables) if tpl.json is not None else None
    url = base.rstrip("/") + render(tpl.path, variables)
    ex = Exchange(label, tpl.method, url, headers, body)
    try:
        resp = requests.request(tpl.method, url, json=body, headers=headers, timeout=TIMEOUT_S,
                                allow_redirects=False)
    except requests.RequestException as exc:
        ex.answer = f"no answer: {_why(exc)}"
        ex.fix = f"is the backend running at {base}? (--host)"
        return ex, None
    ex.status = resp.status_code
    ex.answer = _short(resp.text)
    try:
        data = resp.json()
    except ValueError:
        data = None
    return ex, data


def _judge(ex: Exchange, tpl: RequestTemplate, data: Any, key: str, profile: Profile,
           variables: dict[str, Any]) -> None:
    if ex.status in tpl.success:
        ex.ok = True
        for var, where in tpl.extract.items():
            value = dig(data, where)
            if value is None:
                ex.ok = False
                keys = sorted(data) if isinstance(data, dict) else type(data).__name__
                ex.fix = (f"{key}.extract.{var}: the answer has nothing at {where!r} "
                          f"(top-level keys: {keys})")
            else:
                variables[var] = value
        return
    if ex.status == 0:
        return
    if ex.status in profile.asleep_status and key.startswith("actions."):
        ex.ok = True
        ex.notes.append(f"{ex.status} is in asleep_status: the fleet wakes the car and retries")
        return
    hints = {404: f"{key}.path: the backend has no {ex.method} {urlsplit(ex.url).path}",
             405: f"{key}.method: the backend refuses {ex.method} here",
             401: "auth: the backend refused the credentials or the auth header",
             403: "auth: the backend refused the credentials or the auth header",
             400: f"{key}.json: the backend refused the body",
             422: f"{key}.json: the backend refused the body"}
    ex.fix = hints.get(ex.status, "")
    codes = ", ".join(map(str, tpl.success[:6])) + ("..." if len(tpl.success) > 6 else "")
    ex.fix = (ex.fix + "; " if ex.fix else "") + \
        f"or add {ex.status} to {key}.success if it means success (now: {codes})"


def _register(profile: Profile, base: str, admin_token: str, variables: dict[str, Any]
              ) -> Exchange:
    tpl = profile.registration
    assert tpl is not None
    vehicle = {k: variables[k] for k in ("vin", "display_name", "owner_email", "owner_password",
                                         "car_token")}
    ex, data = _send("registration", base, tpl,
                     {**variables, "admin_token": admin_token, "vehicles": [vehicle]})
    _judge(ex, tpl, data, "registration", profile, variables)
    return ex


def _telemetry_http(profile: Profile, base: str, variables: dict[str, Any]) -> Exchange:
    c = profile.contract
    record = make_record(1, field_names(5), random.Random(1), (0.0, 0.0))
    tpl = RequestTemplate(c.method, c.path, c.headers, c.json, c.accept)
    ex, data = _send("telemetry", base, tpl, {**variables, "records": [record]})
    if ex.status == 0:
        return ex
    if ex.status not in c.accept:
        ex.fix = (f"telemetry.accept: {ex.status} does not accept the batch; add it if it "
                  "does, or fix telemetry.path / telemetry.json")
        return ex
    if c.acked is None:
        ex.ok = True
        ex.notes.append(f"{ex.status} accepts the batch: every record in it counts as acked")
        return ex
    listed = dig(data, c.acked)
    if isinstance(listed, list) and 1 in listed:
        ex.ok = True
    else:
        ex.fix = (f"telemetry.acked: the answer has no list holding seq 1 at {c.acked!r}; "
                  "remove telemetry.acked if an accepted batch is acked whole")
    return ex


class _Car:
    """The probe's car over the profile's WebSocket: connected before the actions, so a
    backend that forwards commands to the car (as the reference one does) sees it online;
    it acknowledges every command and reports its messages for the telemetry check."""

    def __init__(self, profile: Profile, base: str, variables: dict[str, Any]) -> None:
        self.contract = profile.contract
        self.url = base.replace("https://", "wss://").replace("http://", "ws://").rstrip("/") \
            + render(self.contract.path, variables)
        self.headers = render(dict(self.contract.headers), variables)
        self.ws: Any = None
        self.messages: queue.Queue[Any] = queue.Queue()
        self.error = ""
        self.status = 0

    def connect(self) -> bool:
        import websocket

        try:
            self.ws = websocket.create_connection(
                self.url, header=[f"{k}: {v}" for k, v in self.headers.items()],
                timeout=TIMEOUT_S, enable_multithread=True)
        except (OSError, websocket.WebSocketException) as exc:
            self.status = int(getattr(exc, "status_code", 0) or 0)
            self.error = _short(str(exc), 200)
            return False
        self.status = 101
        self.ws.send(json.dumps({"type": "state", "state": "online"}))
        threading.Thread(target=self._read, daemon=True).start()
        return True

    def _read(self) -> None:
        import websocket

        while self.ws is not None:
            try:
                self.ws.settimeout(None)
                raw = self.ws.recv()
            except (OSError, websocket.WebSocketException, AttributeError):
                return
            if not raw:
                return
            try:
                msg = json.loads(raw)
            except ValueError:
                msg = None
            if isinstance(msg, dict) and msg.get("type") == "command":
                with contextlib.suppress(Exception):
                    self.ws.send(json.dumps({"type": "command_ack", "id": msg.get("id"),
                                             "result": True, "reason": ""}))
                    if msg.get("command") == "wake_up":
                        self.ws.send(json.dumps({"type": "state", "state": "online"}))
                continue
            self.messages.put((raw, msg))

    def close(self) -> None:
        ws, self.ws = self.ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.close()

    def telemetry(self, base: str) -> Exchange:
        c = self.contract
        record = make_record(1, field_names(5), random.Random(1), (0.0, 0.0))
        ex = Exchange("telemetry", "WS", self.url, self.headers, record, status=self.status)
        if self.ws is None:
            ex.answer = f"no WebSocket: {self.error}"
            ex.fix = ("telemetry.path / telemetry.headers: the WebSocket upgrade failed"
                      if self.status else f"is the backend running at {base}? (--host)")
            return ex
        self.ws.send(json.dumps(record))
        if c.acks_on_write:
            ex.ok = True
            ex.answer = "(written; ack_message: none, so a written record counts as acked)"
            return ex
        deadline = time.monotonic() + WS_ACK_WAIT_S
        seen: list[str] = []
        while time.monotonic() < deadline:
            try:
                raw, msg = self.messages.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(_short(str(raw), 120))
            match = c.ack_message or {}
            if isinstance(msg, dict) and all(msg.get(k) == v for k, v in match.items()) \
                    and dig(msg, c.ack_seq) == 1:
                ex.ok = True
                ex.answer = _short(str(raw))
                return ex
        ex.answer = " | ".join(seen[:3]) or f"(nothing within {WS_ACK_WAIT_S:g} s)"
        ex.fix = (f"telemetry.ack_message / telemetry.ack_seq: no message with "
                  f"{c.ack_message} and seq 1 at {c.ack_seq!r} came back; use "
                  "ack_message: none if the backend never acks")
        return ex


def probe(profile: Profile, host: str, admin_token: str | None = None, *, seed: int = 2021,
          index: int = 0) -> list[Exchange]:
    """Every exchange, in order; stops after a failed login (nothing else could work).
    ``seed`` and ``index`` pick the identity (a run probes as its canary's, already
    registered, so the fleet's own cars are left alone)."""
    variables = _variables(seed, index)
    out: list[Exchange] = []
    if profile.registration is not None and admin_token:
        out.append(_register(profile, host, admin_token, variables))
    car = _Car(profile, host, variables) if profile.contract.transport == "websocket" else None
    try:
        if car is not None:
            car.connect()
        if profile.has_login:
            ex, data = _send("login", host, profile.login, variables)
            _judge(ex, profile.login, data, "auth.login", profile, variables)
            out.append(ex)
            if not ex.ok:
                return out
        auth = render(dict(profile.auth_header), variables)
        for name in ORDER:
            tpl = profile.actions.get(name)
            if tpl is None:
                continue
            ex, data = _send(name, host, tpl, variables, auth)
            _judge(ex, tpl, data, f"actions.{name}", profile, variables)
            out.append(ex)
        if car is not None:
            out.append(car.telemetry(host))
        elif profile.contract.transport == "http":
            out.append(_telemetry_http(profile, host, variables))
        else:  # MQTT goes to a broker, not to --host: `fleetchaos run` checks the broker
            out.append(Exchange("telemetry", profile.contract.transport.upper(),
                                render(profile.contract.path, variables), {}, None, ok=True,
                                answer="(not probed)",
                                notes=[f"telemetry over {profile.contract.transport} goes to "
                                       "a broker, not to --host; fleetchaos run checks it"]))
        return out
    finally:
        if car is not None:
            car.close()


def check_reachable(profile: Profile, host: str) -> None:
    """Raise ProfileError (one line) when the backend does not answer or the login fails.

    A profile that registers its fleet first (like the reference one) cannot log in
    before registration, so for it any HTTP answer to the login request is enough."""
    variables = _variables()
    if profile.has_login:
        ex, data = _send("login", host, profile.login, variables)
        if ex.status == 0:
            raise ProfileError(f"backend {host} does not answer ({ex.answer.removeprefix('no answer: ')}) "
                               f"(check --host or base_url in {profile.source})")
        if profile.registration is None:
            _judge(ex, profile.login, data, "auth.login", profile, variables)
            if not ex.ok and ex.status in REFUSED:
                raise ProfileError(f"{refusal([ex])} (try: fleetchaos probe --target "
                                   f"{profile.source} --host {host})")
            if not ex.ok:
                raise ProfileError(f"{profile.source}: login at {ex.url} answered {ex.status}: "
                                   f"{ex.fix} (try: fleetchaos probe --target "
                                   f"{profile.source} --host {host})")
        return
    try:
        requests.get(host.rstrip("/") + "/", timeout=TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as exc:
        raise ProfileError(f"backend {host} does not answer ({_why(exc)}) "
                           f"(check --host or base_url in {profile.source})") from None


REFUSED = (401, 403)


def refusal(exchanges: list[Exchange]) -> str | None:
    """One line for the first exchange a run cannot go on with, or None.

    Refused credentials (401/403 anywhere), an answer the profile does not accept (a
    ``success``/``accept`` list without it: ``accept: [201]`` against a backend answering
    202) and telemetry never acknowledged stop a run before its fleet starts (exit 2):
    every request of the run would be refused the same way, and the verdict would read
    as a breach. An action that got no answer at all does not (a slow backend is what a
    run measures)."""
    for ex in exchanges:
        if ex.ok or (ex.status == 0 and ex.label not in ("login", "telemetry")):
            continue
        what = "auth.login" if ex.label == "login" else ex.label
        if ex.status in REFUSED:
            head = f"the backend refused the fleet's credentials: {ex.status} on {what}"
        elif ex.status == 0:
            head = f"the backend did not answer {what} ({ex.answer.removeprefix('no answer: ')})"
        elif ex.label == "telemetry" and ex.status == 101:
            head = "the backend never acknowledged the cars' telemetry"
        elif ex.label == "telemetry":
            head = f"the backend does not accept the cars' telemetry: {ex.status}"
        else:
            head = f"the backend does not accept {what}: {ex.status}"
        fix = f"; {ex.fix}" if ex.fix else ""
        return f"{head} ({ex.method} {ex.url}{fix})"
    return None


__all__ = ["Exchange", "check_reachable", "probe", "refusal"]
