"""Read YAML that may be hostile: bounded size, depth and aliases; line numbers kept.

The loader composes the node graph itself (never constructs arbitrary objects),
refuses binary and non-UTF-8 input, counts aliases so an alias bomb cannot expand,
and records the line of every key so errors can point at it.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_ALIASES = 100
MAX_NODES = 100_000


class YamlRefused(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def load_with_lines(raw: bytes) -> tuple[Any, dict[str, int]]:
    """Parse ``raw``; return (data, {"dotted.key.path": line})."""
    if len(raw) > MAX_BYTES:
        raise YamlRefused(f"file is {len(raw)} bytes; scenarios are limited to {MAX_BYTES}")
    if b"\x00" in raw:
        raise YamlRefused("file is binary (contains NUL bytes), not YAML text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlRefused(f"file is not UTF-8 text (byte {exc.start})") from None
    aliases = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise YamlRefused(f"more than {MAX_ALIASES} YAML aliases: refused",
                                      event.start_mark.line + 1 if event.start_mark else 0)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise YamlRefused(f"not valid YAML: {exc.problem}", line) from None
    except yaml.YAMLError as exc:
        raise YamlRefused(f"not valid YAML: {exc}") from None
    lines: dict[str, int] = {}
    count = [0]

    def build(n: yaml.Node | None, path: str, depth: int) -> Any:
        count[0] += 1
        if count[0] > MAX_NODES:
            raise YamlRefused(f"more than {MAX_NODES} YAML nodes: refused")
        if depth > MAX_DEPTH:
            raise YamlRefused(f"nested deeper than {MAX_DEPTH} levels: refused",
                              n.start_mark.line + 1 if n else None)
        if n is None:
            return None
        if path:
            lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in n.value:
                key = yaml.SafeLoader.construct_scalar(yaml.SafeLoader(""), key_node) \
                    if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, str):
                    raise YamlRefused("mapping keys must be plain strings",
                                      key_node.start_mark.line + 1)
                child = f"{path}.{key}" if path else key
                lines[child] = key_node.start_mark.line + 1
                out[key] = build(value_node, child, depth + 1)
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(v, f"{path}.{i}" if path else str(i), depth + 1)
                    for i, v in enumerate(n.value)]
        loader = yaml.SafeLoader("")
        return loader.construct_object(n, deep=True)

    return build(node, "", 0), lines
