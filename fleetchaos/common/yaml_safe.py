"""Read YAML that may be hostile: every bound is enforced *while* parsing, never after.

Scenarios and backend profiles both come through here. PyYAML's pure-Python scanner
keeps one entry per open flow level and scans them all for every token, so a file of
300 KB of ``[`` costs minutes before any "too deep" check made on the finished tree
could run. ``_BoundedLoader`` therefore stops the scanner at the first flow or block
level past ``MAX_DEPTH``, stops the token stream past ``MAX_TOKENS``, and stops the
composer past ``MAX_ALIASES`` aliases or ``MAX_NODES`` nodes, so every hostile file is
refused in milliseconds. Aliases are never expanded by the composer (they point at the
anchored node), and the tree walk that turns nodes into Python values counts every node
it visits, so an alias bomb cannot expand either.

Scalars are built here with typed checks, so a date that does not exist, ``!!float abc``,
a 5,001-digit integer or a 400-digit float give ``line: key: what was expected`` instead
of a traceback. Valid dates come back as their text (no schema here wants a date).
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

import yaml
import yaml.reader
from yaml.resolver import BaseResolver

MAX_BYTES = 256 * 1024  # the largest built-in scenario is under 4 KiB
MAX_DEPTH = 32
MAX_ALIASES = 100
MAX_NODES = 5_000  # the largest built-in scenario or profile has 123
MAX_TOKENS = 15_000  # (288 tokens); the pure-Python scanner costs 10-25 µs a token
MAX_NUMBER_CHARS = 40  # longer than any duration, count or ratio a human would write

TAG_STR = "tag:yaml.org,2002:str"
TAG_INT = "tag:yaml.org,2002:int"
TAG_FLOAT = "tag:yaml.org,2002:float"
TAG_BOOL = "tag:yaml.org,2002:bool"
TAG_NULL = "tag:yaml.org,2002:null"
TAG_TIMESTAMP = "tag:yaml.org,2002:timestamp"
TAG_MAP = BaseResolver.DEFAULT_MAPPING_TAG
TAG_SEQ = BaseResolver.DEFAULT_SEQUENCE_TAG


class YamlRefused(ValueError):
    """The file is refused; ``line`` (1-based) and ``key`` (dotted path) say where."""

    def __init__(self, message: str, line: int | None = None, key: str | None = None) -> None:
        super().__init__(f"{printable(key)}: {message}" if key else message)
        self.line = line
        self.key = key
        self.reason = message


def _tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") \
        else tag


def _line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose scanner and composer stop at the limits instead of after them."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._tokens = 0
        self._aliases = 0
        self._nodes = 0
        self._depth = 0

    # -- scanner: tokens, flow depth, block depth ------------------------------------
    def fetch_more_tokens(self) -> None:
        self._tokens += 1
        if self._tokens > MAX_TOKENS:
            raise YamlRefused(f"more than {MAX_TOKENS} YAML tokens: refused",
                              _line(self.get_mark()))
        super().fetch_more_tokens()

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise YamlRefused(f"nested deeper than {MAX_DEPTH} levels: refused",
                              _line(self.get_mark()))
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column: int) -> bool:
        if len(self.indents) >= MAX_DEPTH:
            raise YamlRefused(f"nested deeper than {MAX_DEPTH} levels: refused",
                              _line(self.get_mark()))
        return bool(super().add_indent(column))

    # -- composer: aliases, nodes, depth ---------------------------------------------
    def _next_mark(self) -> Any:
        # types-PyYAML leaves Parser.peek_event unannotated (it returns an Event)
        return self.peek_event().start_mark  # type: ignore[no-untyped-call]

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlRefused(f"more than {MAX_ALIASES} YAML aliases: refused",
                                  _line(self._next_mark()))
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YamlRefused(f"more than {MAX_NODES} YAML nodes: refused",
                              _line(self._next_mark()))
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlRefused(f"nested deeper than {MAX_DEPTH} levels: refused",
                                  _line(self._next_mark()))
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _reader_refusal(text: str, exc: yaml.reader.ReaderError) -> YamlRefused:
    """YAML allows no control character (BEL, ESC, DEL, U+FFFE ...) outside an escape: say
    which one and on which line, printable, instead of PyYAML's position in a string."""
    line = text.count("\n", 0, max(0, exc.position)) + 1
    char = exc.character if isinstance(exc.character, str) else chr(int(exc.character))
    code = ord(char)
    kind = "a control character" if unicodedata.category(char) == "Cc" else "not a character"
    return YamlRefused(f"character U+{code:04X} ({kind}) is not allowed in YAML: remove it, "
                       f"or inside double quotes write it as \\u{code:04x}", line)


def _compose(text: str) -> yaml.Node | None:
    try:
        loader = _BoundedLoader(text)  # the reader checks every character here
    except yaml.reader.ReaderError as exc:
        raise _reader_refusal(text, exc) from None
    try:
        return loader.get_single_node()
    except YamlRefused:
        raise
    except yaml.reader.ReaderError as exc:
        raise _reader_refusal(text, exc) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlRefused(f"not valid YAML: {exc.problem or exc.context}", _line(mark)) from None
    except yaml.YAMLError as exc:
        raise YamlRefused(f"not valid YAML: {exc}") from None
    except RecursionError:
        raise YamlRefused(f"nested deeper than {MAX_DEPTH} levels: refused") from None
    finally:
        loader.dispose()


class _Builder:
    """Nodes to plain Python values, counting every node visited (aliases included)."""

    def __init__(self) -> None:
        self.lines: dict[str, int] = {}
        self.count = 0
        self.constructor = yaml.SafeLoader("")

    def build(self, n: yaml.Node | None, path: str, depth: int) -> Any:
        self.count += 1
        line = _line(n.start_mark) if n is not None else None
        if self.count > MAX_NODES:
            raise YamlRefused(f"more than {MAX_NODES} YAML nodes (aliases expanded): refused",
                              line, path or None)
        if depth > MAX_DEPTH:
            raise YamlRefused(f"nested deeper than {MAX_DEPTH} levels: refused", line,
                              path or None)
        if n is None:
            return None
        if path and line is not None:
            self.lines.setdefault(path, line)
        if isinstance(n, yaml.MappingNode):
            if n.tag != TAG_MAP:
                raise YamlRefused(f"tag {_tag(n.tag)} is not allowed: expected a plain mapping",
                                  line, path or None)
            out: dict[str, Any] = {}
            for key_node, value_node in n.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise YamlRefused("YAML merge keys (<<) are not supported: write the "
                                      "keys out", _line(key_node.start_mark), path or None)
                key = key_node.value if (isinstance(key_node, yaml.ScalarNode)
                                         and key_node.tag == TAG_STR) else None
                if not isinstance(key, str):
                    raise YamlRefused("mapping keys must be plain text",
                                      _line(key_node.start_mark), path or None)
                child = f"{path}.{key}" if path else key
                if key in out:
                    raise YamlRefused("key given twice", _line(key_node.start_mark), child)
                self.lines[child] = _line(key_node.start_mark) or 0
                out[key] = self.build(value_node, child, depth + 1)
            return out
        if isinstance(n, yaml.SequenceNode):
            if n.tag != TAG_SEQ:
                raise YamlRefused(f"tag {_tag(n.tag)} is not allowed: expected a plain list",
                                  line, path or None)
            return [self.build(v, f"{path}.{i}" if path else str(i), depth + 1)
                    for i, v in enumerate(n.value)]
        assert isinstance(n, yaml.ScalarNode)
        return self.scalar(n, path or None, line)

    def scalar(self, n: yaml.ScalarNode, key: str | None, line: int | None) -> Any:
        tag, text = n.tag, str(n.value)
        if tag == TAG_STR:
            return text
        if tag in (TAG_INT, TAG_FLOAT) and len(text) > MAX_NUMBER_CHARS:
            raise YamlRefused(f"a number of {len(text)} characters: expected a number of at "
                              f"most {MAX_NUMBER_CHARS}", line, key)
        try:
            if tag == TAG_INT:
                return self.constructor.construct_yaml_int(n)
            if tag == TAG_FLOAT:
                value = self.constructor.construct_yaml_float(n)
                if not math.isfinite(value):
                    raise YamlRefused(f"{text} is not a finite number: expected a finite "
                                      "number", line, key)
                return value
            if tag == TAG_BOOL:
                return self.constructor.construct_yaml_bool(n)
            if tag == TAG_NULL:
                return None
            if tag == TAG_TIMESTAMP:
                self.constructor.construct_yaml_timestamp(n)
                return text
        except YamlRefused:
            raise
        except (ValueError, TypeError, OverflowError, yaml.YAMLError):
            kind = {TAG_INT: "an integer", TAG_FLOAT: "a number", TAG_BOOL: "true or false",
                    TAG_TIMESTAMP: "a valid date (quote it if it is text)"}[tag]
            raise YamlRefused(f"{text!r}: expected {kind}", line, key) from None
        raise YamlRefused(f"tag {_tag(tag)} is not allowed here: expected plain text, a number, "
                          "true/false or a list/mapping", line, key)


def load_with_lines(raw: bytes) -> tuple[Any, dict[str, int]]:
    """Parse ``raw``; return (data, {"dotted.key.path": line})."""
    if len(raw) > MAX_BYTES:
        raise YamlRefused(f"file is {len(raw)} bytes; YAML files here are limited to {MAX_BYTES}")
    if b"\x00" in raw:
        raise YamlRefused("file is binary (contains NUL bytes), not YAML text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlRefused(f"file is not UTF-8 text (byte {exc.start})") from None
    node = _compose(text)
    builder = _Builder()
    try:
        data = builder.build(node, "", 0)
    except RecursionError:
        raise YamlRefused(f"nested deeper than {MAX_DEPTH} levels: refused") from None
    return data, builder.lines


def printable(key: str) -> str:
    """A key path as it can stand in a one-line message: control characters escaped.

    Keys come from the user's file, and a key holding a newline would otherwise split the
    ``file:line: key: expected ...`` refusal over several lines.
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in key)
