"""Backend profiles: which request means "unlock" on *your* backend, in YAML, no code.

A profile maps each fleet action to a request template (method, path, headers, JSON
body with ``{placeholders}``), says how to log in and refresh, which statuses count
as success, how cars send telemetry, and how to register the fleet. Validation names
the file and the key path that is wrong and what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BUILTIN_DIR = Path(__file__).parent / "profiles"
ACTIONS = ("list_vehicles", "vehicle_data", "wake_up", "unlock", "remote_start")
REQUIRED_ACTIONS = ("unlock",)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
KNOWN_VARS = {"vin", "vehicle_id", "owner_email", "owner_password", "car_token",
              "access_token", "refresh_token", "admin_token", "vehicles", "display_name"}


class ProfileError(ValueError):
    """A profile file is wrong: the message names the file and the key."""


@dataclass(frozen=True)
class RequestTemplate:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    success: tuple[int, ...] = (200, 201, 202, 204)
    extract: dict[str, str] = field(default_factory=dict)  # var -> dotted path in the JSON answer


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
    telemetry: dict[str, Any]
    registration: RequestTemplate | None
    registration_batch: int
    asleep_status: tuple[int, ...]


def render(value: Any, variables: dict[str, Any]) -> Any:
    """Fill ``{name}`` placeholders; a string that is exactly one placeholder keeps its type."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return variables.get(whole.group(1), "")
        return PLACEHOLDER.sub(lambda m: str(variables.get(m.group(1), "")), value)
    if isinstance(value, dict):
        return {k: render(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, variables) for v in value]
    return value


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
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, expected: str) -> ProfileError:
        return ProfileError(f"{self.source}: {key}: expected {expected}")

    def mapping(self, data: Any, key: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(key, "a mapping")
        return data

    def template(self, data: Any, key: str) -> RequestTemplate:
        data = self.mapping(data, key)
        allowed = {"method", "path", "headers", "json", "success", "extract"}
        for k in data:
            if k not in allowed:
                raise self.fail(f"{key}.{k}", f"one of {', '.join(sorted(allowed))}")
        method = data.get("method")
        if method not in METHODS:
            raise self.fail(f"{key}.method", f"one of {', '.join(METHODS)}")
        path = data.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise self.fail(f"{key}.path", "a path starting with /")
        self.placeholders(path, f"{key}.path")
        headers = data.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise self.fail(f"{key}.headers", "a mapping of header name to string")
        success = data.get("success", [200, 201, 202, 204])
        if not isinstance(success, list) or not all(
            isinstance(s, int) and 100 <= s <= 599 for s in success
        ):
            raise self.fail(f"{key}.success", "a list of HTTP status codes")
        extract = data.get("extract") or {}
        if not isinstance(extract, dict):
            raise self.fail(f"{key}.extract", "a mapping of variable to dotted JSON path")
        return RequestTemplate(method, path, dict(headers), data.get("json"), tuple(success),
                               {str(k): str(v) for k, v in extract.items()})

    def placeholders(self, text: str, key: str) -> None:
        for name in PLACEHOLDER.findall(text):
            if name not in KNOWN_VARS:
                raise self.fail(key, f"placeholders among {', '.join(sorted(KNOWN_VARS))}, "
                                     f"not {{{name}}}")


def parse_profile(data: Any, source: str) -> Profile:
    r = _Reader(source)
    data = r.mapping(data, "(top level)")
    allowed = {"name", "description", "base_url", "auth", "actions", "telemetry",
               "registration", "asleep_status"}
    for k in data:
        if k not in allowed:
            raise r.fail(k, f"one of {', '.join(sorted(allowed))}")
    auth = r.mapping(data.get("auth"), "auth")
    login = r.template(auth.get("login"), "auth.login")
    refresh = r.template(auth["refresh"], "auth.refresh") if auth.get("refresh") else None
    header = auth.get("header", {"Authorization": "Bearer {access_token}"})
    if not isinstance(header, dict):
        raise r.fail("auth.header", "a mapping of header name to template")
    actions_raw = r.mapping(data.get("actions"), "actions")
    actions = {}
    for name, spec in actions_raw.items():
        if name not in ACTIONS:
            raise r.fail(f"actions.{name}", f"an action among {', '.join(ACTIONS)}")
        actions[name] = r.template(spec, f"actions.{name}")
    for name in REQUIRED_ACTIONS:
        if name not in actions:
            raise r.fail(f"actions.{name}", "this action (it is required)")
    telemetry = r.mapping(data.get("telemetry"), "telemetry")
    if telemetry.get("transport") not in ("websocket", "http"):
        raise r.fail("telemetry.transport", "websocket or http")
    if not isinstance(telemetry.get("path"), str) or not telemetry["path"].startswith("/"):
        raise r.fail("telemetry.path", "a path starting with /")
    r.placeholders(telemetry["path"], "telemetry.path")
    registration, batch = None, 500
    if data.get("registration"):
        reg = dict(r.mapping(data["registration"], "registration"))
        batch = reg.pop("batch", 500)
        if not isinstance(batch, int) or batch < 1:
            raise r.fail("registration.batch", "a whole number >= 1")
        registration = r.template(reg, "registration")
    base_url = data.get("base_url")
    if base_url is not None and (not isinstance(base_url, str) or "://" not in base_url):
        raise r.fail("base_url", "a URL like http://127.0.0.1:8080")
    asleep = data.get("asleep_status", [408])
    if not isinstance(asleep, list):
        raise r.fail("asleep_status", "a list of HTTP status codes")
    return Profile(
        name=str(data.get("name") or Path(source).stem), source=source,
        description=str(data.get("description") or ""), base_url=base_url,
        login=login, refresh=refresh, auth_header={str(k): str(v) for k, v in header.items()},
        actions=actions, telemetry=dict(telemetry), registration=registration,
        registration_batch=batch, asleep_status=tuple(asleep),
    )


def builtin_profiles() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def load_profile(name_or_path: str) -> Profile:
    path = Path(name_or_path)
    if not path.suffix and (BUILTIN_DIR / f"{name_or_path}.yaml").exists():
        path = BUILTIN_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        raise ProfileError(f"{name_or_path}: no such profile file, and not a built-in profile "
                           f"({', '.join(builtin_profiles())})")
    try:
        text = path.read_text(encoding="utf-8")
        if len(text) > 256 * 1024:
            raise ProfileError(f"{path}: larger than 256 KiB; not a profile")
        data = yaml.safe_load(text)
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from None
    return parse_profile(data, str(path))
