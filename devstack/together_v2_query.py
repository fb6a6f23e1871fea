"""Query parameters of the v2 list and analytics operations, and cursor pages, as the simulator reads them.

Every refusal is a ``V2Error`` with the status the simulator answers (400 for
a parameter the spec would not accept).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from devstack.together_v2_docs import EVENT_LEVELS, SOURCE_KINDS
from devstack.together_v2_filter import FilterError, compile_filter, parse_instant

Params = dict[str, list[str]]

DEFAULT_LIMIT = 50
_ORDER_FIELDS = {"created_at": "createdAt", "updated_at": "updatedAt"}
_GRANULARITY = re.compile(r"^([1-9][0-9]*)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class V2Error(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# -- parameters ---------------------------------------------------------------------------------------------


def _single(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _listed(params: Params, name: str) -> list[str]:
    """An array parameter, comma-joined as the SDK sends it (repeated keys are accepted too)."""
    return [item for value in params.get(name, []) for item in value.split(",") if item]


def _instant(params: Params, name: str) -> datetime | None:
    value = _single(params, name)
    if value is None:
        return None
    try:
        return parse_instant(value)
    except FilterError as error:
        raise V2Error(400, f"{name}: {error}") from None


def _boolean(params: Params, name: str) -> bool:
    value = _single(params, name)
    if value not in {None, "true", "false"}:
        raise V2Error(400, f"{name} must be true or false")
    return value == "true"


def _granularity(text: str) -> timedelta:
    match = _GRANULARITY.match(text)
    if match is None:
        raise V2Error(400, "granularity must be a duration such as 1m, 1h or 1d")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def _limit(params: Params, maximum: int | None) -> int:
    text = _single(params, "limit")
    if text is None:
        return DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1 or (maximum is not None and int(text) > maximum):
        bound = f"1 to {maximum}" if maximum is not None else "a positive integer"
        raise V2Error(400, f"limit must be {bound}")
    return int(text)


def _order(params: Params) -> tuple[str, bool]:
    """(document field, descending) from ``orderBy``; newest created first when it is absent."""
    text = _single(params, "orderBy")
    if text is None:
        return "createdAt", True
    words = text.split()
    if not 1 <= len(words) <= 2 or words[0] not in _ORDER_FIELDS or words[1:] not in ([], ["asc"], ["desc"]):
        raise V2Error(400, "orderBy must be created_at or updated_at, optionally followed by asc or desc")
    return _ORDER_FIELDS[words[0]], words[1:] == ["desc"]


def filtered(
    items: list[dict[str, Any]],
    params: Params,
    fields: dict[str, Callable[[dict[str, Any]], str]],
    enums: dict[str, set[str]] | None = None,
) -> list[dict[str, Any]]:
    try:
        admits = compile_filter(_single(params, "filter") or "", fields, enums)
        return [item for item in items if admits(item)]
    except FilterError as error:
        raise V2Error(400, f"invalid filter: {error}") from None


# -- cursor pages -------------------------------------------------------------------------------------------------


def _cursor(key: tuple[datetime, str]) -> str:
    raw = "cursor:" + json.dumps([key[0].isoformat(), key[1]])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after(cursor: str) -> tuple[datetime, str]:
    """The sort key a cursor resumes after; keyset, so items added or removed between pages shift nothing."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, item_id = json.loads(raw.removeprefix("cursor:"))
        return datetime.fromisoformat(when), str(item_id)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise V2Error(400, "invalid cursor") from None


def cursor_page(items: list[dict[str, Any]], params: Params, *, maximum: int | None, omit: bool) -> dict[str, Any]:
    limit = _limit(params, maximum)
    field, descending = _order(params)

    def key(item: dict[str, Any]) -> tuple[datetime, str]:
        return parse_instant(item[field]), str(item["id"])

    ordered = sorted(items, key=key, reverse=descending)
    after = _single(params, "after")
    if after:
        resume = _after(after)
        ordered = [item for item in ordered if (key(item) < resume if descending else key(item) > resume)]
    data = ordered[:limit]
    page: dict[str, Any] = {"object": "list", "data": data}
    if len(ordered) > limit:
        page["next_cursor"] = _cursor(key(data[-1]))
    elif not omit:
        page["next_cursor"] = None
    return page


# -- events -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventQuery:
    types: set[str]
    min_level: int
    since: datetime | None
    until: datetime | None
    deployment_ids: set[str]
    source_kinds: set[str]
    subject_id: str | None

    @classmethod
    def parse(cls, params: Params, deployments: set[str]) -> EventQuery:
        level = _single(params, "minLevel")
        if level is not None and level not in EVENT_LEVELS:
            raise V2Error(400, f"minLevel must be one of {', '.join(EVENT_LEVELS)}")
        kinds = set(_listed(params, "sourceKinds"))
        if not kinds <= set(SOURCE_KINDS):
            raise V2Error(400, f"sourceKinds must be among {', '.join(SOURCE_KINDS)}")
        deployment_ids = set(_listed(params, "deploymentIds"))
        if not deployment_ids <= deployments:
            raise V2Error(400, "every deploymentIds entry must be a deployment of this endpoint")
        return cls(
            types=set(_listed(params, "types")),
            min_level=EVENT_LEVELS.index(level) if level else 0,
            since=_instant(params, "since"),
            until=_instant(params, "until"),
            deployment_ids=deployment_ids,
            source_kinds=kinds,
            subject_id=_single(params, "subjectId"),
        )

    def admits(self, event: dict[str, Any]) -> bool:
        at = parse_instant(event["createdAt"])
        kind = event["sourceKind"]
        if self.deployment_ids:
            # With deploymentIds, endpoint-scoped events stay only if sourceKinds asks for them (spec).
            scoped = event.get("deploymentId") in self.deployment_ids
            if not (scoped or (kind == "SOURCE_KIND_ENDPOINT" and kind in self.source_kinds)):
                return False
        return (
            (not self.types or event["type"] in self.types)
            and EVENT_LEVELS.index(event["level"]) >= self.min_level
            and (self.since is None or at >= self.since)
            and (self.until is None or at < self.until)
            and (not self.source_kinds or kind in self.source_kinds)
            and (self.subject_id is None or event.get("subjectId") == self.subject_id)
        )


@dataclass(frozen=True)
class AnalyticsQuery:
    """The window [start, end), the time-series bucket if asked for, and the deployments to report."""

    start: datetime
    end: datetime
    bucket: timedelta | None
    deployment_ids: set[str]

    @classmethod
    def parse(cls, params: Params, now: datetime, deployments: set[str]) -> AnalyticsQuery:
        end = _instant(params, "endTime") or now
        start = _instant(params, "startTime") or end - timedelta(hours=24)
        if start >= end:
            raise V2Error(400, "startTime must be before endTime")
        bucket = _granularity(_single(params, "granularity") or "1d")
        chosen = _single(params, "deploymentId")
        if chosen is not None and chosen not in deployments:
            raise V2Error(400, "deploymentId is not a deployment of this endpoint")
        return cls(
            start=start,
            end=end,
            bucket=bucket if _boolean(params, "includeTimeSeries") else None,
            deployment_ids={chosen} if chosen is not None else deployments,
        )
