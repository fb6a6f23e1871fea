"""Strict allow-list for Together's v2 ids (``ep_``, ``dep_``, ``proj_``), checked before any upstream call.

The spec's examples are a prefix and a base62 tail of 20 to 22 characters
(``ep_8Hq2mZk4TnR7vXw1Lc9Pd``); the tail's alphabet and length are not
documented, so the rule admits ASCII letters, digits, ``_`` and ``-`` (never
first or last) and bounds the whole id at 64 characters. Like the v1 rule in
:mod:`endpoint_relay.core.endpoint_id`, that keeps Unicode look-alikes,
separators, CR/LF, NUL, dots and percent-escapes out of the upstream URL, and
each id is exactly one path segment as it is. v1 ids (``endpoint-...``) never
match: the prefixes differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from endpoint_relay.core.endpoint_id import V2_ENDPOINT_PREFIX
from endpoint_relay.core.errors import InvalidEndpointIdError, InvalidIdError, ProjectNotFoundError

MAX_V2_ID_LENGTH = 64


@dataclass(frozen=True, slots=True)
class V2IdKind:
    prefix: str
    param: str
    """The path parameter's name in the v2 API, for error messages."""


ENDPOINT = V2IdKind(prefix=V2_ENDPOINT_PREFIX, param="endpointId")
DEPLOYMENT = V2IdKind(prefix="dep_", param="deploymentId")
PROJECT = V2IdKind(prefix="proj_", param="projectId")

# Explicit ASCII classes: \w and \d would admit Unicode letters and digits.
_TAIL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?")
# Instance types have no prefix (``1xnvidia-h100-80gb``); the same alphabet and bound keep them one plain segment.
_INSTANCE_TYPE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9])?")


def is_valid_v2_id(kind: V2IdKind, value: str) -> bool:
    return (
        len(value) <= MAX_V2_ID_LENGTH
        and value.startswith(kind.prefix)
        and _TAIL.fullmatch(value, len(kind.prefix)) is not None
    )


def is_valid_v2_endpoint_id(value: str) -> bool:
    return is_valid_v2_id(ENDPOINT, value)


def is_valid_deployment_id(value: str) -> bool:
    return is_valid_v2_id(DEPLOYMENT, value)


def is_valid_project_id(value: str) -> bool:
    return is_valid_v2_id(PROJECT, value)


def require_v2_endpoint_id(value: str) -> str:
    """The caller-facing check: the same error class and code as a bad v1 id, and the value is never echoed."""
    if not is_valid_v2_endpoint_id(value):
        raise InvalidEndpointIdError(
            "endpointId must be 'ep_' followed by ASCII letters, digits, '_' and '-'", param=ENDPOINT.param
        )
    return value


def is_valid_instance_type_id(value: str) -> bool:
    return _INSTANCE_TYPE.fullmatch(value) is not None


def require_v2_id(kind: V2IdKind, value: str) -> str:
    """Any v2 id, refused like :func:`require_v2_endpoint_id` (an ``ep_`` id gets exactly that error)."""
    if kind is ENDPOINT:
        return require_v2_endpoint_id(value)
    if not is_valid_v2_id(kind, value):
        raise InvalidIdError(
            f"{kind.param} must be '{kind.prefix}' followed by ASCII letters, digits, '_' and '-'", param=kind.param
        )
    return value


def require_instance_type_id(value: str) -> str:
    if not is_valid_instance_type_id(value):
        raise InvalidIdError("id must be an instance type id such as 1xnvidia-h100-80gb", param="id")
    return value


def require_allowed_project(value: str, allowed: frozenset[str]) -> str:
    """A well-formed project this relay serves; any other is 404, as if it did not exist, before any call."""
    require_v2_id(PROJECT, value)
    if value not in allowed:
        raise ProjectNotFoundError("this relay does not serve that project", param=PROJECT.param)
    return value
