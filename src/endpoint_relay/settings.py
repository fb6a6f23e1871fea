"""Every environment variable the relay reads, parsed and validated once at cold start.

Nothing else in the package reads ``os.environ``. A bad value fails fast with a
message naming the variable and what it accepts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

from endpoint_relay.core.endpoint_id import is_valid_endpoint_id
from endpoint_relay.core.loopback import is_secure_url
from endpoint_relay.core.policy import PolicyDocument, PolicyError

API_GATEWAY_BUDGET_SECONDS = 30.0
"""API Gateway gives up on an integration after 30 s; an upstream request must finish well inside it."""
_UPSTREAM_BUDGET_SECONDS = 25.0

T = TypeVar("T")


class SettingsError(ValueError):
    """A configuration value is missing or invalid."""


class AlertSink(StrEnum):
    SLACK = "slack"
    """Slack incoming webhook; its URL is the secret's slack_webhook_url."""
    SNS = "sns"
    """Amazon Q Developer custom notifications on the ALERT_TOPIC_ARN topic."""


class AuthMode(StrEnum):
    TOKEN = "token"  # noqa: S105 - a mode name, not a credential
    """Callers present a relay token; the secret holds SHA-256 digests of the valid ones."""
    IAM = "iam"
    """API Gateway checks SigV4 before the function runs; the function trusts that."""


@dataclass(frozen=True)  # no slots: from_env reads the class-level defaults
class Settings:
    secret_id: str
    together_base_url: str = "https://api.together.ai/v1"
    secret_max_age: int = 300
    cache_ttl: int = 30
    cache_stale_window: int = 900
    cache_negative_ttl: int = 10
    cache_table_name: str | None = None
    upstream_connect_timeout: float = 2.0
    # Defaults: 3 attempts x (2 s + 4 s) + 2 waits x 2 s = 22 s worst case, inside the 25 s budget.
    upstream_read_timeout: float = 4.0
    upstream_max_retries: int = 2
    upstream_max_retry_after: float = 2.0
    upstream_max_response_bytes: int = 256 * 1024
    auth_mode: AuthMode = AuthMode.TOKEN
    xray_sdk_enabled: bool = False
    # --- alerting and sweep fields (issue 3) go below this line ---
    alert_table_name: str | None = None
    """DynamoDB table holding alert state; without it nobody is ever notified."""
    alert_sinks: frozenset[AlertSink] = frozenset()
    alert_topic_arn: str | None = None
    alert_repeat_seconds: int = 4 * 3600
    watched_endpoints: tuple[str, ...] | None = None
    """What a sweep without explicit targets checks; None means every dedicated endpoint ("all")."""
    policy: PolicyDocument | None = None
    """The policy from POLICY_JSON, validated; None means POLICY_PARAMETER_NAME or the built-in defaults."""
    policy_parameter_name: str | None = None
    policy_max_age: int = 300
    sweep_max_workers: int = 10
    sweep_time_margin_ms: int = 5_000
    slack_connect_timeout: float = 2.0
    slack_read_timeout: float = 4.0
    slack_max_retry_after: float = 3.0
    together_console_url: str = "https://api.together.ai/endpoints/{endpoint_id}"
    # --- Slack command fields (issue 4) go below this line ---
    slack_allowed_team_ids: frozenset[str] = frozenset()
    """Slack workspaces (team ids) allowed to use the command; empty means any workspace the app is in."""
    slack_mute_user_ids: frozenset[str] = frozenset()
    """Slack users allowed to mute and unmute (``U…``, or ``T…:U…`` for one workspace); empty means nobody."""
    slack_response_url_hosts: frozenset[str] = frozenset({"hooks.slack.com"})
    slack_response_url_allow_http: bool = False
    """Only for local tests against a loopback receiver; Slack's response_urls are always https."""
    slack_worker_function: str | None = None
    """The Slack worker function (name, ARN or alias ARN) that ApiFunction hands slow commands to."""
    slack_check_cooldown_seconds: int = 300
    """How long one workspace's ``check`` holds off the next; at least the worker's timeout, so none overlap."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = _Reader(os.environ if environ is None else environ)
        settings = cls(
            secret_id=env.required("RELAY_SECRET_ID"),
            together_base_url=env.get("TOGETHER_API_BASE_URL", _http_url, cls.together_base_url),
            secret_max_age=env.get("SECRET_MAX_AGE_SECONDS", _int_between(0, 86_400), cls.secret_max_age),
            cache_ttl=env.get("CACHE_TTL_SECONDS", _int_between(0, 86_400), cls.cache_ttl),
            cache_stale_window=env.get("CACHE_STALE_SECONDS", _int_between(0, 7 * 86_400), cls.cache_stale_window),
            cache_negative_ttl=env.get("CACHE_NEGATIVE_TTL_SECONDS", _int_between(0, 3_600), cls.cache_negative_ttl),
            cache_table_name=env.get("CACHE_TABLE_NAME", _table_name, None),
            upstream_connect_timeout=env.get(
                "UPSTREAM_CONNECT_TIMEOUT_SECONDS", _float_between(0.05, 10.0), cls.upstream_connect_timeout
            ),
            upstream_read_timeout=env.get(
                "UPSTREAM_READ_TIMEOUT_SECONDS", _float_between(0.05, 25.0), cls.upstream_read_timeout
            ),
            upstream_max_retries=env.get("UPSTREAM_MAX_RETRIES", _int_between(0, 5), cls.upstream_max_retries),
            upstream_max_retry_after=env.get(
                "UPSTREAM_MAX_RETRY_AFTER_SECONDS", _float_between(0.0, 10.0), cls.upstream_max_retry_after
            ),
            upstream_max_response_bytes=env.get(
                "UPSTREAM_MAX_RESPONSE_BYTES", _int_between(1_024, 10 * 1024 * 1024), cls.upstream_max_response_bytes
            ),
            auth_mode=env.get("RELAY_AUTH_MODE", _enum(AuthMode), cls.auth_mode),
            xray_sdk_enabled=env.get("XRAY_SDK_ENABLED", _bool, cls.xray_sdk_enabled),
            # --- alerting and sweep variables (issue 3) go below this line ---
            alert_table_name=env.get("ALERT_TABLE_NAME", _table_name, None),
            alert_sinks=env.get("ALERT_SINKS", _alert_sinks, cls.alert_sinks),
            alert_topic_arn=env.get("ALERT_TOPIC_ARN", _sns_topic_arn, None),
            alert_repeat_seconds=env.get(
                "ALERT_REPEAT_SECONDS", _int_between(60, 7 * 86_400), cls.alert_repeat_seconds
            ),
            watched_endpoints=env.get("WATCHED_ENDPOINTS", _watched_endpoints, cls.watched_endpoints),
            policy=env.get("POLICY_JSON", _policy_json, None),
            policy_parameter_name=env.get("POLICY_PARAMETER_NAME", _ssm_parameter_name, None),
            policy_max_age=env.get("POLICY_MAX_AGE_SECONDS", _int_between(0, 86_400), cls.policy_max_age),
            sweep_max_workers=env.get("SWEEP_MAX_WORKERS", _int_between(1, 64), cls.sweep_max_workers),
            sweep_time_margin_ms=env.get("SWEEP_TIME_MARGIN_MS", _int_between(0, 900_000), cls.sweep_time_margin_ms),
            slack_connect_timeout=env.get(
                "SLACK_CONNECT_TIMEOUT_SECONDS", _float_between(0.05, 10.0), cls.slack_connect_timeout
            ),
            slack_read_timeout=env.get(
                "SLACK_READ_TIMEOUT_SECONDS", _float_between(0.05, 15.0), cls.slack_read_timeout
            ),
            slack_max_retry_after=env.get(
                "SLACK_MAX_RETRY_AFTER_SECONDS", _float_between(0.0, 10.0), cls.slack_max_retry_after
            ),
            together_console_url=env.get("TOGETHER_CONSOLE_URL", _console_url, cls.together_console_url),
            # --- Slack command variables (issue 4) go below this line ---
            slack_allowed_team_ids=env.get("SLACK_ALLOWED_TEAM_IDS", _slack_ids("T", "E"), cls.slack_allowed_team_ids),
            slack_mute_user_ids=env.get("SLACK_MUTE_USER_IDS", _mute_user_ids, cls.slack_mute_user_ids),
            slack_response_url_hosts=env.get("SLACK_RESPONSE_URL_HOSTS", _host_names, cls.slack_response_url_hosts),
            slack_response_url_allow_http=env.get(
                "SLACK_RESPONSE_URL_ALLOW_HTTP", _bool, cls.slack_response_url_allow_http
            ),
            slack_worker_function=env.get("SLACK_WORKER_FUNCTION", _text, None),
            slack_check_cooldown_seconds=env.get(
                "SLACK_CHECK_COOLDOWN_SECONDS", _int_between(60, 86_400), cls.slack_check_cooldown_seconds
            ),
        )
        settings._check_upstream_budget()
        settings._check_alerting()
        return settings

    def upstream_worst_case_seconds(self) -> float:
        attempts = self.upstream_max_retries + 1
        per_attempt = self.upstream_connect_timeout + self.upstream_read_timeout
        return attempts * per_attempt + self.upstream_max_retries * self.upstream_max_retry_after

    def _check_upstream_budget(self) -> None:
        worst = self.upstream_worst_case_seconds()
        if worst > _UPSTREAM_BUDGET_SECONDS:
            raise SettingsError(
                "UPSTREAM_MAX_RETRIES, UPSTREAM_CONNECT_TIMEOUT_SECONDS, UPSTREAM_READ_TIMEOUT_SECONDS and "
                f"UPSTREAM_MAX_RETRY_AFTER_SECONDS allow {worst:.1f}s per upstream request; "
                f"keep it within {_UPSTREAM_BUDGET_SECONDS:.0f}s so API Gateway's "
                f"{API_GATEWAY_BUDGET_SECONDS:.0f}s limit is never hit"
            )

    def _check_alerting(self) -> None:
        if self.alert_sinks and self.alert_table_name is None:
            raise SettingsError(
                "ALERT_SINKS needs ALERT_TABLE_NAME: the alert state table decides who is notified, and when"
            )
        if AlertSink.SNS in self.alert_sinks and self.alert_topic_arn is None:
            raise SettingsError("ALERT_SINKS includes sns, so ALERT_TOPIC_ARN is required")
        if self.policy is not None and self.policy_parameter_name is not None:
            raise SettingsError("set POLICY_JSON or POLICY_PARAMETER_NAME, not both")


class _Reader:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def required(self, name: str) -> str:
        value = self._environ.get(name, "").strip()
        if not value:
            raise SettingsError(f"{name} is required and must not be empty")
        return value

    def get(self, name: str, parse: Callable[[str], T], default: T) -> T:
        raw = self._environ.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            return parse(raw.strip())
        except ValueError as exc:
            raise SettingsError(f"{name}={raw!r} is invalid: {exc}") from None


def _text(raw: str) -> str:
    return raw


# A name as CloudFormation's !Ref returns it, or a table ARN (DynamoDB accepts both as TableName).
_TABLE_NAME = re.compile(r"(?:arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/)?[A-Za-z0-9_.-]{3,255}")


def _table_name(raw: str) -> str:
    if not _TABLE_NAME.fullmatch(raw):
        raise ValueError("expected a DynamoDB table name (3 to 255 of A-Z, a-z, 0-9, _ . -) or a table ARN")
    return raw


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError("accepted values are true or false")


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"expected a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a whole number from {low} to {high}")
        return value

    return parse


def _float_between(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"expected a number from {low:g} to {high:g}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low:g} to {high:g}")
        return value

    return parse


def _enum[E: StrEnum](kind: type[E]) -> Callable[[str], E]:
    def parse(raw: str) -> E:
        try:
            return kind(raw.lower())
        except ValueError:
            accepted = ", ".join(member.value for member in kind)
            raise ValueError(f"accepted values are {accepted}") from None

    return parse


def _http_url(raw: str) -> str:
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


def _slack_ids(*prefixes: str) -> Callable[[str], frozenset[str]]:
    """Comma-separated Slack ids such as T0123ABCD; the prefixes say which kind."""
    pattern = re.compile(f"[{''.join(prefixes)}][A-Z0-9]{{2,20}}")
    example = f"{prefixes[0]}0123ABCD"

    def parse(raw: str) -> frozenset[str]:
        ids = frozenset(part.strip() for part in raw.split(",") if part.strip())
        if not all(pattern.fullmatch(value) for value in ids):
            starts = " or ".join(prefixes)
            raise ValueError(f"expected comma-separated Slack ids starting with {starts}, such as {example}")
        return ids

    return parse


_MUTE_USER = re.compile(r"(?:[TE][A-Z0-9]{2,20}:)?[UW][A-Z0-9]{2,20}")


def _mute_user_ids(raw: str) -> frozenset[str]:
    """Users who may mute: ``U0123ABCD`` in any allowed workspace, or ``T0123ABCD:U0123ABCD`` in that one only."""
    ids = frozenset(part.strip() for part in raw.split(",") if part.strip())
    if not all(_MUTE_USER.fullmatch(value) for value in ids):
        raise ValueError("expected comma-separated Slack user ids (U0123ABCD) or team:user pairs (T0123ABCD:U0123ABCD)")
    return ids


_HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")


def _host_names(raw: str) -> frozenset[str]:
    hosts = frozenset(part.strip().lower() for part in raw.split(",") if part.strip())
    if not hosts or not all(_HOST_NAME.fullmatch(host) for host in hosts):
        raise ValueError("expected comma-separated host names without scheme or port, such as hooks.slack.com")
    return hosts


# --- alerting and sweep (issue 3) -----------------------------------------------------------------------------------

_SNS_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}")
_SSM_PARAMETER_NAME = re.compile(r"(?:/[A-Za-z0-9_.-]+)+|[A-Za-z0-9_.-]+")


def _alert_sinks(raw: str) -> frozenset[AlertSink]:
    names = [part.strip().lower() for part in raw.split(",") if part.strip()]
    if names == ["none"]:
        return frozenset()
    try:
        return frozenset(AlertSink(name) for name in names)
    except ValueError:
        raise ValueError("expected a comma-separated list of slack and sns, or none") from None


def _sns_topic_arn(raw: str) -> str:
    if not _SNS_TOPIC_ARN.fullmatch(raw):
        raise ValueError("expected an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:endpoint-alerts")
    return raw


def _watched_endpoints(raw: str) -> tuple[str, ...] | None:
    if raw.lower() == "all":
        return None
    ids = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if not ids or not all(is_valid_endpoint_id(endpoint_id) for endpoint_id in ids):
        raise ValueError("expected all, or comma-separated endpoint ids such as endpoint-1234abcd")
    return ids


def _policy_json(raw: str) -> PolicyDocument:
    try:
        return PolicyDocument.from_json(raw)
    except PolicyError as exc:
        raise ValueError(str(exc)) from None


def _ssm_parameter_name(raw: str) -> str:
    if len(raw) > 2048 or not _SSM_PARAMETER_NAME.fullmatch(raw):
        raise ValueError("expected an SSM parameter name such as /endpoint-relay/policy")
    return raw


def _console_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme != "https" or not parts.hostname or "{endpoint_id}" not in raw or any(c in raw for c in "<>|"):
        raise ValueError(
            "expected an https URL containing {endpoint_id}, such as https://api.together.ai/endpoints/{endpoint_id}"
        )
    return raw
