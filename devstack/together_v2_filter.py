"""The `filter` expressions of Together's v2 list operations: a small AIP-160 subset.

Grammar (as google.aip.dev/160 has it, OR binding tighter than AND, juxtaposition meaning AND):

    expression := sequence ("AND" sequence)*
    sequence   := factor factor*                      # implicit AND
    factor     := term ("OR" term)*
    term       := ["NOT"] (comparison | "(" expression ")")
    comparison := FIELD OP VALUE     OP in  = != < <= > >= :     VALUE a bare word or "quoted string"

Fields are the spec's: ``name``, ``created_at`` and ``updated_at`` for endpoints,
plus ``state`` and ``model`` for deployments. Timestamps compare as RFC 3339
instants; ``name`` matches with ``:`` (substring) and ``*`` prefix/suffix
wildcards, against the qualified name or, for a value without ``/``, its last
segment. Anything else raises ``FilterError`` (the simulator's 400).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<op><=|>=|!=|[=<>:()])|(?P<word>[^\s"=<>!:()]+))')
_KEYWORDS = {"AND", "OR", "NOT"}


class FilterError(ValueError):
    """A filter the API would refuse with 400."""


def parse_instant(text: str) -> datetime:
    """An RFC 3339 instant (with a zone), or FilterError."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise FilterError(f"not an RFC 3339 timestamp: {text}") from None
    if instant.tzinfo is None:
        raise FilterError(f"timestamp without a time zone: {text}")
    return instant


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise FilterError(f"unexpected character at {position}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
        position = match.end()
    return tokens


def _name_matches(qualified: str, op: str, value: str) -> bool:
    subject = qualified if "/" in value else qualified.rsplit("/", 1)[-1]
    if op == ":":
        return value.strip("*") in subject
    if op not in {"=", "!="}:
        raise FilterError("name takes =, != or :")
    if value.startswith("*") and value.endswith("*") and len(value) > 1:
        equal = value[1:-1] in subject
    elif value.startswith("*"):
        equal = subject.endswith(value[1:])
    elif value.endswith("*"):
        equal = subject.startswith(value[:-1])
    else:
        equal = subject == value
    return equal if op == "=" else not equal


def _compare(left: Any, op: str, right: Any) -> bool:
    match op:
        case "=":
            return bool(left == right)
        case "!=":
            return bool(left != right)
        case "<":
            return bool(left < right)
        case "<=":
            return bool(left <= right)
        case ">":
            return bool(left > right)
        case ">=":
            return bool(left >= right)
    raise FilterError(f"operator {op} does not apply here")


class _Parser:
    def __init__(self, text: str, fields: dict[str, Callable[[dict[str, Any]], str]], enums: dict[str, set[str]]):
        self._tokens = _tokens(text)
        self._at = 0
        self._fields = fields
        self._enums = enums

    def parse(self) -> Predicate:
        if not self._tokens:
            return lambda _item: True
        predicate = self._expression()
        if self._peek() is not None:
            raise FilterError("unexpected trailing input")
        return predicate

    def _peek(self) -> tuple[str, str] | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise FilterError("unexpected end of filter")
        self._at += 1
        return token

    def _keyword(self, word: str) -> bool:
        if self._peek() == ("word", word):
            self._at += 1
            return True
        return False

    def _expression(self) -> Predicate:
        parts = [self._sequence()]
        while self._keyword("AND"):
            parts.append(self._sequence())
        return lambda item: all(part(item) for part in parts)

    def _sequence(self) -> Predicate:
        parts = [self._factor()]
        while (token := self._peek()) is not None and token != ("op", ")") and token != ("word", "AND"):
            parts.append(self._factor())
        return lambda item: all(part(item) for part in parts)

    def _factor(self) -> Predicate:
        parts = [self._term()]
        while self._keyword("OR"):
            parts.append(self._term())
        return lambda item: any(part(item) for part in parts)

    def _term(self) -> Predicate:
        if self._keyword("NOT"):
            inner = self._term()
            return lambda item: not inner(item)
        if self._peek() == ("op", "("):
            self._at += 1
            inner = self._expression()
            if self._take() != ("op", ")"):
                raise FilterError("missing )")
            return inner
        return self._comparison()

    def _comparison(self) -> Predicate:
        kind, field = self._take()
        if kind != "word" or field in _KEYWORDS or field not in self._fields:
            raise FilterError(f"cannot filter on {field}")
        op_kind, op = self._take()
        value_kind, value = self._take()
        if op_kind != "op" or op in "()" or value_kind not in {"word", "string"}:
            raise FilterError(f"malformed comparison on {field}")
        read = self._fields[field]
        if field == "name":
            return lambda item: _name_matches(read(item), op, value)
        if field.endswith("_at"):
            if op == ":":
                raise FilterError(f"{field} takes a comparison operator")
            instant = parse_instant(value)
            return lambda item: _compare(parse_instant(read(item)), op, instant)
        if op not in {"=", "!="}:
            raise FilterError(f"{field} takes = or !=")
        if field in self._enums and value not in self._enums[field]:
            raise FilterError(f"unknown {field} {value}")
        return lambda item: _compare(read(item), op, value)


def compile_filter(
    text: str, fields: dict[str, Callable[[dict[str, Any]], str]], enums: dict[str, set[str]] | None = None
) -> Predicate:
    """A predicate over documents for ``text``; FilterError when the API would refuse it."""
    return _Parser(text, fields, enums or {}).parse()
