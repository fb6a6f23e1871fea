"""Parsers for environment variable values, used by settings.py.

Each takes the trimmed raw text and returns a typed value, or raises ValueError saying what it
accepts; settings.py prefixes the variable's name. None of them reads the environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from endpoint_relay.core.loopback import is_secure_url

if TYPE_CHECKING:
    from endpoint_relay.core.policy import PolicyDocument


def text(raw: str) -> str:
    return raw


def boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError("accepted values are true or false")


def int_between(low: int, high: int) -> Callable[[str], int]:
    return _between(int, low, high, f"expected a whole number from {low} to {high}")


def float_between(low: float, high: float) -> Callable[[str], float]:
    return _between(float, low, high, f"expected a number from {low:g} to {high:g}")


def _between[N: (int, float)](convert: Callable[[str], N], low: N, high: N, expected: str) -> Callable[[str], N]:
    def parse(raw: str) -> N:
        try:
            value = convert(raw)
        except ValueError:
            raise ValueError(expected) from None
        if not low <= value <= high:  # also refuses nan
            raise ValueError(expected)
        return value

    return parse


def one_of[E: StrEnum](kind: type[E]) -> Callable[[str], E]:
    def parse(raw: str) -> E:
        try:
            return kind(raw.lower())
        except ValueError:
            accepted = ", ".join(member.value for member in kind)
            raise ValueError(f"accepted values are {accepted}") from None

    return parse


def items(raw: str) -> list[str]:
    """The non-blank parts of a comma-separated value, trimmed."""
    return [part.strip() for part in raw.split(",") if part.strip()]


# A name as CloudFormation's !Ref returns it, or a table ARN (DynamoDB accepts both as TableName).
_TABLE_NAME = re.compile(r"(?:arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/)?[A-Za-z0-9_.-]{3,255}")


def table_name(raw: str) -> str:
    if not _TABLE_NAME.fullmatch(raw):
        raise ValueError("expected a DynamoDB table name (3 to 255 of A-Z, a-z, 0-9, _ . -) or a table ARN")
    return raw


def http_url(raw: str) -> str:
    expected = "expected an https base URL such as https://api.together.ai/v1 (http only to a loopback host)"
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise ValueError(expected) from None
    # The Together key travels with every request: cleartext only to this machine (the simulator).
    if not is_secure_url(parts) or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(expected)
    return raw.rstrip("/")


def console_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme != "https" or not parts.hostname or "{endpoint_id}" not in raw or any(c in raw for c in "<>|"):
        raise ValueError(
            "expected an https URL containing {endpoint_id}, such as https://api.together.ai/endpoints/{endpoint_id}"
        )
    return raw


# --- Slack ----------------------------------------------------------------------------------------------------------


def slack_ids(*prefixes: str) -> Callable[[str], frozenset[str]]:
    """Comma-separated Slack ids such as T0123ABCD; the prefixes say which kind."""
    pattern = re.compile(f"[{''.join(prefixes)}][A-Z0-9]{{2,20}}")
    example = f"{prefixes[0]}0123ABCD"

    def parse(raw: str) -> frozenset[str]:
        ids = frozenset(items(raw))
        if not all(pattern.fullmatch(value) for value in ids):
            starts = " or ".join(prefixes)
            raise ValueError(f"expected comma-separated Slack ids starting with {starts}, such as {example}")
        return ids

    return parse


_MUTE_USER = re.compile(r"(?:[TE][A-Z0-9]{2,20}:)?[UW][A-Z0-9]{2,20}")


def mute_user_ids(raw: str) -> frozenset[str]:
    """Users who may mute: ``U0123ABCD`` in any allowed workspace, or ``T0123ABCD:U0123ABCD`` in that one only."""
    ids = frozenset(items(raw))
    if not all(_MUTE_USER.fullmatch(value) for value in ids):
        raise ValueError("expected comma-separated Slack user ids (U0123ABCD) or team:user pairs (T0123ABCD:U0123ABCD)")
    return ids


_HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")


def host_names(raw: str) -> frozenset[str]:
    hosts = frozenset(items(raw.lower()))
    if not hosts or not all(_HOST_NAME.fullmatch(host) for host in hosts):
        raise ValueError("expected comma-separated host names without scheme or port, such as hooks.slack.com")
    return hosts


# --- alerting and sweep ---------------------------------------------------------------------------------------------

_SNS_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}")
_SSM_PARAMETER_NAME = re.compile(r"(?:/[A-Za-z0-9_.-]+)+|[A-Za-z0-9_.-]+")


def sinks[S: StrEnum](kind: type[S]) -> Callable[[str], frozenset[S]]:
    """A comma-separated list of ``kind``'s values, or ``none``."""
    accepted = " and ".join(member.value for member in kind)

    def parse(raw: str) -> frozenset[S]:
        names = [name.lower() for name in items(raw)]
        if names == ["none"]:
            return frozenset()
        try:
            return frozenset(kind(name) for name in names)
        except ValueError:
            raise ValueError(f"expected a comma-separated list of {accepted}, or none") from None

    return parse


def sns_topic_arn(raw: str) -> str:
    if not _SNS_TOPIC_ARN.fullmatch(raw):
        raise ValueError("expected an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:endpoint-alerts")
    return raw


def watched_endpoints(raw: str) -> tuple[str, ...] | None:
    if raw.lower() == "all":
        return None
    # Deferred like the policy: the id rules load only when a relay names endpoints to watch.
    from endpoint_relay.core.endpoint_ref import EndpointRefError, parse_endpoint_ref

    ids = tuple(dict.fromkeys(items(raw)))
    if not ids:
        raise ValueError("expected all, or comma-separated endpoint ids (endpoint-…, ep_… or proj_…/ep_…)")
    for endpoint_id in ids:
        try:
            parse_endpoint_ref(endpoint_id, default_project=None)  # which project a bare ep_ is in: Settings
        except EndpointRefError as exc:
            raise ValueError(f"expected all, or comma-separated endpoint ids: {exc}") from None
    return ids


def policy_json(raw: str) -> PolicyDocument:
    # Deferred: only a relay configured with POLICY_JSON loads the policy module at cold start.
    from endpoint_relay.core.policy import PolicyDocument, PolicyError

    try:
        return PolicyDocument.from_json(raw)
    except PolicyError as exc:
        raise ValueError(str(exc)) from None


def ssm_parameter_name(raw: str) -> str:
    if len(raw) > 2048 or not _SSM_PARAMETER_NAME.fullmatch(raw):
        raise ValueError("expected an SSM parameter name such as /endpoint-relay/policy")
    return raw


_PROJECT_ID_EXPECTED = "a Together project id such as proj_3Fv7QpN2sK8wYd5Rb1Tm"


def project_id(raw: str) -> str:
    from endpoint_relay.core.v2_ids import is_valid_project_id  # only a relay with v2 projects loads the id rules

    if not is_valid_project_id(raw):
        raise ValueError(f"expected {_PROJECT_ID_EXPECTED}")
    return raw


def project_ids(raw: str) -> frozenset[str]:
    from endpoint_relay.core.v2_ids import is_valid_project_id

    ids = items(raw)
    if not all(is_valid_project_id(value) for value in ids):
        raise ValueError(f"expected comma-separated project ids, each {_PROJECT_ID_EXPECTED}")
    return frozenset(ids)
