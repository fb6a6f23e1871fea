"""Requests to the v2 read API as the relay accepts them, checked in one place before any secret or upstream call.

A request is one of the spec's GET paths. Every id in it is held to the
allow-lists of :mod:`endpoint_relay.core.v2_ids`, the project to the relay's
configured projects, and every query parameter to what the spec documents for
that operation (others are refused, not dropped: a silently ignored filter
would answer a different question). What passes is re-encoded canonically,
so the upstream URL never carries the caller's bytes as they came, and two
spellings of one question share one cache entry.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import parse_qsl, quote, urlencode

from endpoint_relay.core.errors import InvalidQueryError, RouteNotFoundError
from endpoint_relay.core.v2_ids import (
    DEPLOYMENT,
    ENDPOINT,
    PROJECT,
    is_valid_deployment_id,
    require_allowed_project,
    require_instance_type_id,
    require_v2_id,
)

MAX_QUERY_FIELDS = 32
MAX_PLAIN_KEY_LENGTH = 1_000
MAX_LIST_ITEMS = 32
ENDPOINTS_MAX_LIMIT = 1_000
"""No maximum is documented for endpoint pages; this bounds what one cached answer can hold."""
DEPLOYMENTS_MAX_LIMIT = 500
EVENTS_MAX_LIMIT = 500
"""The docs say 500 and the SDK 3.1.1 docstring 10000: the stricter bound never asks for what Together refuses."""


class V2Resource(StrEnum):
    ENDPOINT = "endpoint"
    ENDPOINTS = "endpoints"
    EVENTS = "events"
    ANALYTICS = "analytics"
    DEPLOYMENT = "deployment"
    DEPLOYMENTS = "deployments"
    INSTANCE_TYPE = "instance_type"
    INSTANCE_TYPES = "instance_types"


@dataclass(frozen=True, slots=True)
class V2Request:
    resource: V2Resource
    path: str
    """The path under the v2 root, e.g. ``/projects/proj_x/endpoints/ep_y``, built from checked ids only."""
    query: tuple[tuple[str, str], ...] = ()
    """Checked parameters, sorted by name."""
    project_id: str | None = None
    endpoint_id: str | None = None
    deployment_id: str | None = None

    @property
    def target(self) -> str:
        """Path and canonical query, as sent upstream under the v2 root."""
        return self.path + ("?" + urlencode(self.query, quote_via=quote, safe="") if self.query else "")

    @property
    def cache_key(self) -> str:
        # v1 keys are bare ``endpoint-...`` ids: the prefix keeps the two apart in the shared table.
        target = self.target
        if len(target) <= MAX_PLAIN_KEY_LENGTH:
            return "v2" + target
        # A long filter would pass DynamoDB's 2,048-byte key limit once percent-encoded: key by its digest.
        return "v2#sha256:" + hashlib.sha256(target.encode()).hexdigest()


def endpoint_request(project_id: str, endpoint_id: str) -> V2Request:
    """GET one endpoint; the ids must already be checked (the v1 view and the adapter build it too)."""
    return V2Request(
        V2Resource.ENDPOINT,
        f"/projects/{project_id}/endpoints/{endpoint_id}",
        project_id=project_id,
        endpoint_id=endpoint_id,
    )


def analytics_request(project_id: str, endpoint_id: str, raw_query: str) -> V2Request:
    """GET an endpoint's analytics, held to the same checks as a routed request.

    The relay reads analytics for its own idle-spend check; callers' requests are not
    routed there (:func:`parse_v2_request` has no such route), so its answers are never passed on.
    """
    require_v2_id(PROJECT, project_id)
    endpoint_id = require_v2_id(ENDPOINT, endpoint_id)
    path = f"/projects/{project_id}/endpoints/{endpoint_id}/analytics"
    return V2Request(V2Resource.ANALYTICS, path, _query(raw_query, _ANALYTICS), project_id, endpoint_id)


def parse_v2_request(raw_path: str, raw_query: str, allowed_projects: frozenset[str]) -> V2Request:
    """The request for an API Gateway ``rawPath`` (still percent-encoded) and ``rawQueryString``."""
    segments = raw_path.split("/")
    if segments[:2] != ["", "v2"]:
        raise RouteNotFoundError("no such route")
    match segments[2:]:
        case ["public", "inference-instance-types"]:
            return V2Request(V2Resource.INSTANCE_TYPES, "/public/inference-instance-types", _query(raw_query, {}))
        case ["public", "inference-instance-types", type_id]:
            type_id = require_instance_type_id(type_id)
            return V2Request(
                V2Resource.INSTANCE_TYPE, f"/public/inference-instance-types/{type_id}", _query(raw_query, {})
            )
        case ["projects", project_id, "endpoints", *rest]:
            return _project_request(require_allowed_project(project_id, allowed_projects), rest, raw_query)
    raise RouteNotFoundError("no such route")


def _project_request(project_id: str, rest: list[str], raw_query: str) -> V2Request:
    base = f"/projects/{project_id}/endpoints"
    match rest:
        case []:
            return V2Request(V2Resource.ENDPOINTS, base, _query(raw_query, _ENDPOINT_LIST), project_id)
        case [endpoint_id]:
            request = endpoint_request(project_id, require_v2_id(ENDPOINT, endpoint_id))
            _query(raw_query, {})
            return request
        case [endpoint_id, "events"]:
            endpoint_id = require_v2_id(ENDPOINT, endpoint_id)
            path = f"{base}/{endpoint_id}/events"
            return V2Request(V2Resource.EVENTS, path, _query(raw_query, _EVENTS), project_id, endpoint_id)
        case [endpoint_id, "deployments"]:
            endpoint_id = require_v2_id(ENDPOINT, endpoint_id)
            path = f"{base}/{endpoint_id}/deployments"
            return V2Request(V2Resource.DEPLOYMENTS, path, _query(raw_query, _DEPLOYMENT_LIST), project_id, endpoint_id)
        case [endpoint_id, "deployments", deployment_id]:
            endpoint_id = require_v2_id(ENDPOINT, endpoint_id)
            deployment_id = require_v2_id(DEPLOYMENT, deployment_id)
            path = f"{base}/{endpoint_id}/deployments/{deployment_id}"
            return V2Request(V2Resource.DEPLOYMENT, path, _query(raw_query, {}), project_id, endpoint_id, deployment_id)
    raise RouteNotFoundError("no such route")


# --- query parameters ---------------------------------------------------------------------------------------------

Check = Callable[[str, str], str]
"""(parameter name, value) -> the value to send on; raises InvalidQueryError."""


def _refuse(name: str, expected: str) -> InvalidQueryError:
    # The value is not echoed: it is the caller's input.
    return InvalidQueryError(f"{name} must be {expected}", param=name)


def _limit(maximum: int) -> Check:
    def check(name: str, value: str) -> str:
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= maximum):
            raise _refuse(name, f"a whole number from 1 to {maximum}")
        return str(int(value))

    return check


def _pattern(regex: str, expected: str) -> Check:
    compiled = re.compile(regex)

    def check(name: str, value: str) -> str:
        if compiled.fullmatch(value) is None:
            raise _refuse(name, expected)
        return value

    return check


def _list_of(item: Check, expected: str) -> Check:
    """A comma-joined array (as the SDK sends it); repeated keys were joined the same way."""

    def check(name: str, value: str) -> str:
        parts = value.split(",")
        if len(parts) > MAX_LIST_ITEMS or any(not part for part in parts):
            raise _refuse(name, f"a comma-separated list of at most {MAX_LIST_ITEMS} {expected}")
        return ",".join(item(name, part) for part in parts)

    return check


def _filter(name: str, value: str) -> str:
    # The filter language is Together's; the relay only keeps it bounded and printable.
    if len(value) > 1_024 or not value.isprintable():
        raise _refuse(name, "a filter expression of at most 1024 printable characters")
    return value


def _instant(name: str, value: str) -> str:
    if _RFC3339.fullmatch(value) is None:
        raise _refuse(name, "an RFC 3339 date-time such as 2026-11-29T09:41:37Z")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise _refuse(name, "an RFC 3339 date-time such as 2026-11-29T09:41:37Z") from None
    return value


def _deployment_id(name: str, value: str) -> str:
    if not is_valid_deployment_id(value):
        raise _refuse(name, "deployment ids ('dep_...')")
    return value


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")
_CURSOR = _pattern(r"[A-Za-z0-9_.~+/=-]{1,1024}", "a next_cursor value from a previous page")
_ORDER_BY = _pattern(r"(created_at|updated_at)( (asc|desc))?", "created_at or updated_at, optionally asc or desc")
_ARRAYS = frozenset({"types", "deploymentIds", "sourceKinds"})

_ENDPOINT_LIST: Mapping[str, Check] = {
    "limit": _limit(ENDPOINTS_MAX_LIMIT),
    "after": _CURSOR,
    "orderBy": _ORDER_BY,
    "filter": _filter,
}
_DEPLOYMENT_LIST: Mapping[str, Check] = {**_ENDPOINT_LIST, "limit": _limit(DEPLOYMENTS_MAX_LIMIT)}
_EVENTS: Mapping[str, Check] = {
    "limit": _limit(EVENTS_MAX_LIMIT),
    "after": _CURSOR,
    "types": _list_of(_pattern(r"[A-Za-z0-9._-]{1,64}", "event types"), "event types such as deployment.scaled"),
    # Level and source-kind names are checked by shape, not against today's enum: one Together adds passes.
    "minLevel": _pattern(r"LEVEL_[A-Z]{1,16}", "an event level such as LEVEL_WARN"),
    "since": _instant,
    "until": _instant,
    "deploymentIds": _list_of(_deployment_id, "deployment ids"),
    "sourceKinds": _list_of(_pattern(r"SOURCE_KIND_[A-Z_]{1,32}", "source kinds"), "source kinds"),
    "subjectId": _pattern(r"[A-Za-z0-9_-]{1,64}", "an id of ASCII letters, digits, '_' and '-'"),
}


_ANALYTICS: Mapping[str, Check] = {
    "startTime": _instant,
    "endTime": _instant,
    # A free duration string upstream (examples 1m, 1h, 1d): only that shape is passed on.
    "granularity": _pattern(r"[1-9][0-9]{0,5}[smhd]", "a duration such as 1m, 1h or 1d"),
    "includeTimeSeries": _pattern(r"true|false", "true or false"),
    "deploymentId": _deployment_id,
}


def _query(raw_query: str, allowed: Mapping[str, Check]) -> tuple[tuple[str, str], ...]:
    try:
        pairs = parse_qsl(raw_query, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS, errors="strict")
    except ValueError:  # too many fields, or percent-escapes that are not UTF-8
        raise InvalidQueryError("the query string is malformed or too long") from None
    values: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            raise InvalidQueryError("the query has a parameter this operation does not take")
        if name in values and name not in _ARRAYS:
            raise _refuse(name, "given once")
        values[name] = f"{values[name]},{value}" if name in values else value
    return tuple(sorted((name, allowed[name](name, value)) for name, value in values.items()))
