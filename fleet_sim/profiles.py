"""Backend profiles: which request means "unlock" on *your* backend, in YAML, no code.

A profile maps each fleet action to a request template (method, path, headers, JSON
body with ``{placeholders}``), says how to log in (optional: a static header or API key
is enough), which statuses count as success and which are worth retrying, how cars send
telemetry and what acknowledges it, and how to register the fleet.

Everything is checked when the profile loads, through the same hardened YAML loader as
scenarios: unknown keys anywhere, every placeholder against the variables that exist,
each error as ``file:line: key: what was expected``. The format is documented in
docs/backend-profiles.md.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from fleetchaos.common.placeholders import NAME, PlaceholderError, check_tree, render
from fleetchaos.common.suggest import closest
from fleetchaos.common.yaml_safe import YamlRefused, load_with_lines, printable
from fleetchaos.fleet_sim.mqtt_profile import MQTT_KEYS, MqttSettings, parse_mqtt

__all__ = ["ACTIONS", "BUILTIN_DIR", "Profile", "ProfileError", "RequestTemplate",
           "TelemetryContract", "builtin_profiles", "dig", "load_profile", "parse_profile",
           "render"]

BUILTIN_DIR = Path(__file__).parent / "profiles"
ACTIONS = ("list_vehicles", "vehicle_data", "wake_up", "unlock", "remote_start")
REQUIRED_ACTIONS = ("unlock",)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE"})  # RFC 9110 9.2.2 (of METHODS)
TWO_XX = tuple(range(200, 300))
# What a phone knows before any answer: its owner's identity and the car's.
PHONE_VARS = frozenset({"vin", "vehicle_id", "owner_email", "owner_password", "car_token",
                        "display_name"})
CAR_VARS = frozenset({"vin", "car_token"})
TELEMETRY_BODY_VARS = frozenset({"records"})
REGISTRATION_VARS = frozenset({"admin_token", "vehicles"})  # one request for a batch of cars
DEFAULT_RETRY = (*range(500, 600), 408, 429)
# What a car's telemetry client does by default (docs/backend-profiles.md says where each
# figure comes from): records waiting to be sent, records per request or write, and how
# many requests (HTTP) or unacknowledged messages (WebSocket, MQTT) it keeps in flight.
DEFAULT_BUFFER = 10_000  # AWS IoT FleetWise Edge Agent: readyToPublishDataBufferSize
DEFAULT_MAX_BATCH = 25  # (est) flood-sized records (~1.9 KB of JSON) in a 64 KB body
DEFAULT_MAX_IN_FLIGHT = {"http": 2, "websocket": 100, "mqtt": 20}  # see the docs' table
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
MAX_PROFILE_BYTES = 256 * 1024


class ProfileError(ValueError):
    """A profile file is wrong: the message names the file, the line and the key."""


@dataclass(frozen=True)
class RequestTemplate:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    success: tuple[int, ...] = (200, 201, 202, 204)
    extract: dict[str, str] = field(default_factory=dict)  # var -> dotted path in the JSON answer
    idempotent: bool = False  # may be resent once when a reused keep-alive connection failed


# A profile without auth.login never sends this; it exists so code that checks
# ``status in profile.login.success`` keeps working (ensure_token answers 200 then).
NO_LOGIN = RequestTemplate("POST", "/", success=(200,))


@dataclass(frozen=True)
class TelemetryContract:
    """How cars send telemetry and what counts as acknowledged (docs/backend-profiles.md)."""

    transport: str  # "websocket" or "http"
    path: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = field(default_factory=lambda: {"records": "{records}"})  # HTTP body
    accept: tuple[int, ...] = TWO_XX  # HTTP: statuses that accept a batch
    acked: str | None = None  # HTTP: JSON path of the acked seqs; None = whole batch on accept
    ack_message: dict[str, Any] | None = field(default_factory=lambda: {"type": "ack"})
    ack_seq: str = "seq"  # WebSocket: JSON path of the acked seq in an ack message
    max_resends: int = 3  # per record; then it is dropped (counted)
    backoff_s: float | None = None  # first resend after this (default: the fleet's ack timeout)
    backoff_max_s: float = 60.0  # resend waits double up to this
    mqtt: MqttSettings | None = None  # transport mqtt: topics, QoS, session (fleet_sim/mqtt_profile.py)
    buffer: int = DEFAULT_BUFFER  # records due and not yet sent, per car; past it the oldest drop
    max_batch: int = DEFAULT_MAX_BATCH  # records per HTTP request, or per write of frames
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT["websocket"]  # HTTP: requests; else: records

    @property
    def acks_on_write(self) -> bool:
        """WebSocket without acks: a record counts as acknowledged once written."""
        return self.transport == "websocket" and self.ack_message is None


@dataclass(frozen=True)
class Profile:
    name: str
    source: str
    description: str
    base_url: str | None
    login: RequestTemplate
    refresh: RequestTemplate | None
    auth_header: dict[str, str]
    actions: dict[str, RequestTemplate]
    telemetry: dict[str, Any]  # transport, path, headers (kept as a mapping for old callers)
    registration: RequestTemplate | None
    registration_batch: int
    asleep_status: tuple[int, ...]
    has_login: bool = True
    retry_statuses: frozenset[int] = frozenset(DEFAULT_RETRY)
    retry_connection_errors: bool = True
    contract: TelemetryContract = field(
        default_factory=lambda: TelemetryContract("websocket", "/"))

    def worth_retrying(self, status: int) -> bool:
        """Whether a phone taps again after this answer (0: connection error or timeout)."""
        if status == 0:
            return self.retry_connection_errors
        return status in self.retry_statuses


def dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data


class _Reader:
    """Validation helpers that name file, line and key in every message."""

    def __init__(self, source: str, lines: dict[str, int]) -> None:
        self.source = source
        self.lines = lines

    def fail(self, key: str, expected: str, *, prefix: str = "expected ") -> ProfileError:
        probe, line = key, self.lines.get(key)
        while line is None and "." in probe:
            probe = probe.rsplit(".", 1)[0]
            line = self.lines.get(probe)
        where = f"{self.source}:{line}" if line else self.source
        return ProfileError(f"{where}: {printable(key)}: {prefix}{expected}")

    def mapping(self, data: Any, key: str, allowed: set[str] | None = None) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(key, "a mapping")
        for k in data:
            if allowed is not None and k not in allowed:
                raise self.fail(f"{key}.{k}" if key else k,
                                f"one of {', '.join(sorted(allowed))} (unknown key {k!r})")
        return data

    def text(self, data: Any, key: str) -> str:
        if not isinstance(data, str) or not data.strip():
            raise self.fail(key, "a non-empty string")
        return data

    def number(self, data: Any, key: str, minimum: float, maximum: float) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float) or not math.isfinite(data) \
                or not minimum <= data <= maximum:
            raise self.fail(key, f"a number from {minimum:g} to {maximum:g}")
        return float(data)

    def statuses(self, data: Any, key: str) -> tuple[int, ...]:
        """A list of HTTP statuses; ``5xx`` stands for 500..599."""
        if not isinstance(data, list) or not data:
            raise self.fail(key, "a list of HTTP statuses, e.g. [200, 201] or [5xx, 429]")
        out: list[int] = []
        for i, s in enumerate(data):
            if isinstance(s, str) and re.fullmatch(r"[1-5]xx", s.strip().lower()):
                base = int(s.strip()[0]) * 100
                out += range(base, base + 100)
            elif isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599:
                out.append(s)
            else:
                raise self.fail(f"{key}.{i}", f"an HTTP status 100-599 or a class like 5xx, "
                                              f"not {s!r}")
        return tuple(dict.fromkeys(out))

    def placeholders(self, value: Any, key: str, known: set[str] | frozenset[str]) -> None:
        for sub, exc in check_tree(value, set(known)):
            where = f"{key}.{sub}" if sub else key
            hint = ""
            if "access_token" in str(exc) and "access_token" not in known:
                hint = " (no request extracts access_token: add auth.login with extract)"
            raise self.fail(where, f"{exc}{hint}", prefix="")

    def template(self, data: Any, key: str, known: set[str] | frozenset[str],
                 extra: set[str] | None = None) -> RequestTemplate:
        allowed = {"method", "path", "headers", "json", "success", "extract", "idempotent"}
        data = self.mapping(data, key, allowed | (extra or set()))
        method = data.get("method")
        if method not in METHODS:
            raise self.fail(f"{key}.method", f"one of {', '.join(METHODS)}")
        path = data.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise self.fail(f"{key}.path", "a path starting with /")
        self.placeholders(path, f"{key}.path", known)
        headers = self.headers(data.get("headers"), f"{key}.headers", known)
        self.placeholders(data.get("json"), f"{key}.json", known)
        success = self.statuses(data["success"], f"{key}.success") if "success" in data \
            else (200, 201, 202, 204)
        extract = data.get("extract") or {}
        if not isinstance(extract, dict):
            raise self.fail(f"{key}.extract", "a mapping of variable to dotted JSON path")
        for var, where in extract.items():
            if not NAME.fullmatch(var):
                raise self.fail(f"{key}.extract.{var}", "a variable name of a-z, 0-9 and _")
            self.text(where, f"{key}.extract.{var}")
        idempotent = data.get("idempotent", method in IDEMPOTENT_METHODS)
        if not isinstance(idempotent, bool):
            raise self.fail(f"{key}.idempotent", "true or false")
        return RequestTemplate(method, path, headers, data.get("json"), success,
                               {str(k): str(v) for k, v in extract.items()}, idempotent)

    def headers(self, data: Any, key: str, known: set[str] | frozenset[str]) -> dict[str, str]:
        data = data or {}
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise self.fail(key, "a mapping of header name to text")
        for name, value in data.items():
            if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name):
                raise self.fail(f"{key}.{name}", "a header name (letters, digits, -)")
            self.placeholders(value, f"{key}.{name}", known)
        return {str(k): v for k, v in data.items()}


def _extracted(data: dict[str, Any]) -> set[str]:
    """Every variable some request's ``extract`` sets (valid names only)."""
    out: set[str] = set()
    auth = data.get("auth")
    templates = [auth.get("login"), auth.get("refresh")] if isinstance(auth, dict) else []
    if isinstance(data.get("actions"), dict):
        templates += list(data["actions"].values())
    for tpl in templates:
        if isinstance(tpl, dict) and isinstance(tpl.get("extract"), dict):
            out |= {k for k in tpl["extract"] if isinstance(k, str) and NAME.fullmatch(k)}
    return out


def _telemetry(r: _Reader, data: Any) -> tuple[dict[str, Any], TelemetryContract]:
    allowed = {"transport", "path", "method", "headers", "json", "accept", "acked",
               "ack_message", "ack_seq", "resend", *SENDING_KEYS} | MQTT_KEYS
    t = r.mapping(data, "telemetry", allowed)
    transport = t.get("transport")
    if transport not in ("websocket", "http", "mqtt"):
        raise r.fail("telemetry.transport", "websocket, http or mqtt")
    if transport == "mqtt":
        return _mqtt_telemetry(r, t)
    for k in sorted(MQTT_KEYS & set(t)):
        raise r.fail(f"telemetry.{k}", f"no {k} with transport {transport} (it applies to "
                                       "transport mqtt)", prefix="")
    path = t.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise r.fail("telemetry.path", "a path starting with /")
    r.placeholders(path, "telemetry.path", CAR_VARS)
    headers = r.headers(t.get("headers"), "telemetry.headers", CAR_VARS)
    http_only = ("method", "json", "accept", "acked")
    ws_only = ("ack_message", "ack_seq")
    for k in (http_only if transport == "websocket" else ws_only):
        if k in t:
            raise r.fail(f"telemetry.{k}", f"no {k} with transport {transport} "
                                           f"(it applies to the other transport)", prefix="")
    method = t.get("method", "POST")
    if method not in ("POST", "PUT", "PATCH"):
        raise r.fail("telemetry.method", "POST, PUT or PATCH")
    body = t.get("json", {"records": "{records}"})
    r.placeholders(body, "telemetry.json", CAR_VARS | TELEMETRY_BODY_VARS)
    if transport == "http" and "{records}" not in repr(body):
        raise r.fail("telemetry.json", "a body that holds the batch as \"{records}\"")
    accept = r.statuses(t["accept"], "telemetry.accept") if "accept" in t else TWO_XX
    acked = t.get("acked")
    if acked is not None:
        acked = r.text(acked, "telemetry.acked")
    ack_message: dict[str, Any] | None = {"type": "ack"}
    if "ack_message" in t:
        raw = t["ack_message"]
        if raw is None or raw == "none":
            ack_message = None
        else:
            ack_message = r.mapping(raw, "telemetry.ack_message")
            if not ack_message:
                raise r.fail("telemetry.ack_message", "fields an ack message has, e.g. "
                                                      "{type: ack}, or none")
    ack_seq = r.text(t.get("ack_seq", "seq"), "telemetry.ack_seq")
    max_resends, backoff, backoff_max = _resend(r, t)
    contract = TelemetryContract(
        transport=str(transport), path=path, method=str(method), headers=headers, json=body,
        accept=accept, acked=acked, ack_message=ack_message, ack_seq=ack_seq,
        max_resends=max_resends, backoff_s=backoff, backoff_max_s=backoff_max,
        **_sending(r, t, str(transport)))
    return {"transport": transport, "path": path, "headers": headers}, contract


def _mqtt_telemetry(r: _Reader, t: dict[str, Any]) -> tuple[dict[str, Any], TelemetryContract]:
    """Telemetry over MQTT: one PUBLISH per record; QoS 1 acked by the broker's PUBACK."""
    for k in ("path", "headers", "method", "json", "accept", "acked", "ack_message", "ack_seq"):
        if k in t:
            raise r.fail(f"telemetry.{k}", f"no {k} with transport mqtt (topics, qos and the "
                                           "session keys say how cars publish)", prefix="")
    settings = parse_mqtt(r, t, CAR_VARS)
    max_resends, backoff, backoff_max = _resend(r, t)
    contract = TelemetryContract(transport="mqtt", path=settings.topic, ack_message=None,
                                 max_resends=max_resends, backoff_s=backoff,
                                 backoff_max_s=backoff_max, mqtt=settings,
                                 **_sending(r, t, "mqtt"))
    return {"transport": "mqtt", "path": settings.topic, "headers": {}}, contract


SENDING_KEYS = ("buffer", "max_batch", "max_in_flight")
SENDING_LIMITS = {"buffer": 1_000_000, "max_batch": 10_000, "max_in_flight": 10_000}


class _Sending(TypedDict):
    buffer: int
    max_batch: int
    max_in_flight: int


def _sending(r: _Reader, t: dict[str, Any], transport: str) -> _Sending:
    """buffer, max_batch and max_in_flight: whole numbers, defaults by transport."""
    def pick(key: str, default: int) -> int:
        value, high = t.get(key, default), SENDING_LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise r.fail(f"telemetry.{key}", f"a whole number from 1 to {high}")
        return value

    return {"buffer": pick("buffer", DEFAULT_BUFFER),
            "max_batch": pick("max_batch", DEFAULT_MAX_BATCH),
            "max_in_flight": pick("max_in_flight", DEFAULT_MAX_IN_FLIGHT[transport])}


def _resend(r: _Reader, t: dict[str, Any]) -> tuple[int, float | None, float]:
    resend = r.mapping(t.get("resend") or {}, "telemetry.resend",
                       {"max", "backoff_s", "backoff_max_s"})
    max_resends = resend.get("max", 3)
    if isinstance(max_resends, bool) or not isinstance(max_resends, int) \
            or not 0 <= max_resends <= 100:
        raise r.fail("telemetry.resend.max", "a whole number of resends from 0 to 100")
    backoff = None
    if "backoff_s" in resend:
        backoff = r.number(resend["backoff_s"], "telemetry.resend.backoff_s", 0.01, 3600)
    backoff_max = r.number(resend.get("backoff_max_s", 60.0), "telemetry.resend.backoff_max_s",
                           0.01, 86400)
    return max_resends, backoff, backoff_max


def parse_profile(data: Any, source: str, lines: dict[str, int] | None = None) -> Profile:
    r = _Reader(source, lines or {})
    data = r.mapping(data, "(top level)")
    allowed = {"name", "description", "base_url", "auth", "actions", "telemetry",
               "registration", "asleep_status", "retry"}
    r.mapping(data, "", allowed)
    phone = set(PHONE_VARS) | _extracted(data)
    auth = r.mapping(data.get("auth") or {}, "auth", {"login", "refresh", "header"})
    has_login = auth.get("login") is not None
    login = r.template(auth["login"], "auth.login", phone) if has_login else NO_LOGIN
    refresh = None
    if auth.get("refresh") is not None:
        if not has_login:
            raise r.fail("auth.refresh", "auth.login too (a refresh needs a login first)")
        refresh = r.template(auth["refresh"], "auth.refresh", phone)
    default_header = {"Authorization": "Bearer {access_token}"} if has_login else {}
    header = r.headers(auth.get("header", default_header), "auth.header", phone)
    actions_raw = r.mapping(data.get("actions"), "actions")
    actions = {}
    for name, spec in actions_raw.items():
        if name not in ACTIONS:
            raise r.fail(f"actions.{name}", f"an action among {', '.join(ACTIONS)}")
        actions[name] = r.template(spec, f"actions.{name}", phone)
    for name in REQUIRED_ACTIONS:
        if name not in actions:
            raise r.fail(f"actions.{name}", "this action (it is required)")
    telemetry, contract = _telemetry(r, data.get("telemetry"))
    registration, batch = None, 500
    if data.get("registration"):
        reg = dict(r.mapping(data["registration"], "registration"))
        batch = reg.pop("batch", 500)
        if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 100_000:
            raise r.fail("registration.batch", "a whole number from 1 to 100000")
        registration = r.template(reg, "registration", REGISTRATION_VARS)
    base_url = data.get("base_url")
    if base_url is not None and (not isinstance(base_url, str)
                                 or not re.match(r"https?://[^/\s]+", base_url)):
        raise r.fail("base_url", "a URL like http://127.0.0.1:8080")
    asleep = r.statuses(data["asleep_status"], "asleep_status") \
        if "asleep_status" in data else (408,)
    retry = r.mapping(data.get("retry") or {}, "retry", {"statuses", "connection_errors"})
    retry_statuses = r.statuses(retry["statuses"], "retry.statuses") \
        if "statuses" in retry else DEFAULT_RETRY
    conn = retry.get("connection_errors", True)
    if not isinstance(conn, bool):
        raise r.fail("retry.connection_errors", "true or false")
    name = data.get("name")
    if name is not None and not isinstance(name, str | int | float):
        raise r.fail("name", "a short text")
    return Profile(
        name=str(name or Path(source).stem), source=source,
        description=str(data.get("description") or ""), base_url=base_url,
        login=login, refresh=refresh, auth_header=header,
        actions=actions, telemetry=telemetry, registration=registration,
        registration_batch=batch, asleep_status=asleep, has_login=has_login,
        retry_statuses=frozenset(retry_statuses), retry_connection_errors=conn,
        contract=contract,
    )


def substitute_env(value: Any, env: Mapping[str, str], key: str, r: _Reader) -> Any:
    """``${NAME}`` / ``${NAME:-default}`` from the environment (API keys stay out of files).

    Braces in the value are doubled so a secret is never read as a placeholder."""
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            got = env.get(name, default)
            if got is None:
                raise r.fail(key, f"environment variable {name} is not set "
                                  f"(use ${{{name}:-default}} for a default)", prefix="")
            return got.replace("{", "{{").replace("}", "}}")

        return ENV_REF.sub(repl, value)
    if isinstance(value, dict):
        return {k: substitute_env(v, env, f"{key}.{k}" if key else k, r) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, env, f"{key}.{i}", r) for i, v in enumerate(value)]
    return value


def builtin_profiles() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def resolve(name_or_path: str) -> Path:
    """A built-in profile's file, or the user's ``.yaml``/``.yml`` file.

    Only YAML files are read, as for scenarios: a profile name can come from Locust's start
    form, and a refusal quotes what it could not parse, so ``../../../../etc/shadow`` is
    refused by its name, never opened."""
    shown = printable(name_or_path if len(name_or_path) <= 300 else name_or_path[:297] + "...")
    builtins = builtin_profiles()
    path = Path(name_or_path)
    if not path.suffix and "/" not in name_or_path and name_or_path in builtins:
        return BUILTIN_DIR / f"{name_or_path}.yaml"
    try:
        if path.suffix not in (".yaml", ".yml"):
            near = closest(name_or_path, builtins)
            hint = f"; did you mean {near!r}?" if near else ""
            what = "no such profile file, and not" if "/" not in name_or_path and \
                not path.exists() else "not a profile file (a .yaml or .yml file) nor"
            raise ProfileError(f"{shown}: {what} a built-in profile{hint} "
                               f"({', '.join(builtins)})")
        if not path.exists():
            raise ProfileError(f"{shown}: no such profile file")
        if not path.is_file():
            raise ProfileError(f"{shown}: not a file")
    except OSError as exc:  # a name too long for the file system, a loop of links, ...
        raise ProfileError(f"{shown}: cannot open: {exc.strerror or exc}") from None
    return path


def load_profile(name_or_path: str, env: Mapping[str, str] | None = None) -> Profile:
    """Read, check and build a profile; every problem is one ProfileError line."""
    path = resolve(name_or_path)
    source = str(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_PROFILE_BYTES:
        raise ProfileError(f"{path}: larger than {MAX_PROFILE_BYTES // 1024} KiB; not a profile")
    try:
        data, lines = load_with_lines(raw)
    except YamlRefused as exc:
        where = f"{source}:{exc.line}" if exc.line else source
        raise ProfileError(f"{where}: {exc}") from None
    r = _Reader(source, lines)
    data = substitute_env(data, os.environ if env is None else env, "", r)
    try:
        return parse_profile(data, source, lines)
    except PlaceholderError as exc:  # defensive: every check above names its key
        raise ProfileError(f"{source}: {exc}") from None
