"""Every environment variable the relay reads, parsed and validated once at cold start.

Nothing else in the package reads ``os.environ``. Each variable is named once, with its parser, in the
metadata of the field it sets (``Annotated[type, env(NAME, parser)] = default``); ``Settings.from_env``
walks the fields, groups included. A bad value fails fast with a message naming the variable and what it
accepts. The groups are the config objects the adapters take as they are: ``upstream``,
``slack_webhook`` and ``cache``.

Standard-library ``NamedTuple``s rather than pydantic or dataclasses, for the cold start every function
pays: importing pydantic would cost tens of milliseconds and a fourth runtime dependency, and frozen
dataclasses compile their methods when defined: these five classes took 3.8 ms as dataclasses, and the
whole module now imports in about 1.5 ms (benchmarks/PROFILE.md).
"""

# No ``from __future__ import annotations``: ``_read`` reads each field's Annotated metadata at run time.

import os
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

from endpoint_relay import env_values as parse
from endpoint_relay.core.cache import CachePolicy

if TYPE_CHECKING:
    from endpoint_relay.core.endpoint_ref import EndpointRef
    from endpoint_relay.core.policy import PolicyDocument

API_GATEWAY_BUDGET_SECONDS = 30.0
"""API Gateway gives up on an integration after 30 s; an upstream request must finish well inside it."""
_UPSTREAM_BUDGET_SECONDS = 25.0


class SettingsError(ValueError):
    """A configuration value is missing or invalid."""


# --- a field names its variable and parser once, in its metadata ----------------------------------------------------


class Env(NamedTuple):
    """An environment variable: its name, its parser, and whether it must be set."""

    name: str
    parse: Callable[[str], object]
    required: bool = False


def env(name: str, parser: Callable[[str], object]) -> Env:
    """The field is set by the variable ``name``; unset or blank leaves the field's default."""
    return Env(name, parser)


def required_env(name: str) -> Env:
    """A text field that the variable ``name`` must set."""
    return Env(name, parse.text, required=True)


GROUP = "group"
"""Metadata of a field that is a nested group, read from the environment the same way."""


def _read(kind: Any, environ: Mapping[str, str]) -> Any:
    values: dict[str, Any] = {}
    for name, hint in kind.__annotations__.items():
        for spec in getattr(hint, "__metadata__", ()):
            if spec == GROUP:
                values[name] = _read(hint.__origin__, environ)
            elif isinstance(spec, Env):
                raw = environ.get(spec.name, "")
                if raw.strip():
                    try:
                        values[name] = spec.parse(raw.strip())
                    except ValueError as exc:
                        raise SettingsError(f"{spec.name}={raw!r} is invalid: {exc}") from None
                elif spec.required:
                    raise SettingsError(f"{spec.name} is required and must not be empty")
    return kind(**values)


# --- the groups adapters take ---------------------------------------------------------------------------------------


class UpstreamSettings(NamedTuple):
    """How the Together client calls Together."""

    base_url: Annotated[str, env("TOGETHER_API_BASE_URL", parse.http_url)] = "https://api.together.ai/v1"
    connect_timeout: Annotated[float, env("UPSTREAM_CONNECT_TIMEOUT_SECONDS", parse.float_between(0.05, 10.0))] = 2.0
    # Defaults: 3 attempts x (2 s + 4 s) + 2 waits x 2 s = 22 s worst case, inside the 25 s budget.
    read_timeout: Annotated[float, env("UPSTREAM_READ_TIMEOUT_SECONDS", parse.float_between(0.05, 25.0))] = 4.0
    max_retries: Annotated[int, env("UPSTREAM_MAX_RETRIES", parse.int_between(0, 5))] = 2
    max_retry_after: Annotated[float, env("UPSTREAM_MAX_RETRY_AFTER_SECONDS", parse.float_between(0.0, 10.0))] = 2.0
    """Longest Retry-After the client sleeps for; a longer one is surfaced to the caller instead."""
    max_response_bytes: Annotated[
        int, env("UPSTREAM_MAX_RESPONSE_BYTES", parse.int_between(1_024, 10 * 1024 * 1024))
    ] = 1024 * 1024
    backoff_factor: float = 0.2
    """Not a variable; tests set 0 so retries do not sleep."""

    @property
    def v2_base_url(self) -> str:
        """Where v2 lives: the same host, under ``/v2`` (``https://api.together.ai/v1`` -> ``.../v2``).

        One setting for both keeps a test or a proxy from pointing v1 and v2 at different hosts. A base
        URL that does not end in ``/v1`` is a proxy's prefix, which v2 is put under as it is.
        """
        base = self.base_url.rstrip("/")
        return (base.removesuffix("/v1") if base.endswith("/v1") else base) + "/v2"

    def worst_case_seconds(self) -> float:
        attempts = self.max_retries + 1
        return attempts * (self.connect_timeout + self.read_timeout) + self.max_retries * self.max_retry_after


class SlackWebhookSettings(NamedTuple):
    """How alert notices are posted to the Slack incoming webhook."""

    connect_timeout: Annotated[float, env("SLACK_CONNECT_TIMEOUT_SECONDS", parse.float_between(0.05, 10.0))] = 2.0
    read_timeout: Annotated[float, env("SLACK_READ_TIMEOUT_SECONDS", parse.float_between(0.05, 15.0))] = 4.0
    max_retry_after: Annotated[float, env("SLACK_MAX_RETRY_AFTER_SECONDS", parse.float_between(0.0, 10.0))] = 3.0
    """Longest Retry-After honoured on a 429; a longer one leaves the notice for the next sweep."""
    rate_limit_retries: int = 2

    def worst_case_seconds(self) -> float:
        """The longest one post can take: every allowed Retry-After wait, a connect retry, then a timeout.

        A read timeout ends the post (it is never retried), so only one read timeout counts.
        """
        waits = self.rate_limit_retries * self.max_retry_after
        return waits + 2 * self.connect_timeout + self.read_timeout + 1.0


class CacheSettings(NamedTuple):
    """The cache tiers' lifetimes and the shared table."""

    ttl: Annotated[int, env("CACHE_TTL_SECONDS", parse.int_between(0, 86_400))] = 30
    stale_window: Annotated[int, env("CACHE_STALE_SECONDS", parse.int_between(0, 7 * 86_400))] = 900
    negative_ttl: Annotated[int, env("CACHE_NEGATIVE_TTL_SECONDS", parse.int_between(0, 3_600))] = 10
    table_name: Annotated[str | None, env("CACHE_TABLE_NAME", parse.table_name)] = None
    """The shared tier's DynamoDB table; without it each container caches alone."""

    @property
    def policy(self) -> CachePolicy:
        return CachePolicy(fresh_ttl=self.ttl, stale_window=self.stale_window, negative_ttl=self.negative_ttl)


# --- everything -----------------------------------------------------------------------------------------------------


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


class Settings(NamedTuple):
    """The relay's whole configuration, read once per container by :meth:`from_env`."""

    secret_id: Annotated[str, required_env("RELAY_SECRET_ID")]
    secret_max_age: Annotated[int, env("SECRET_MAX_AGE_SECONDS", parse.int_between(0, 86_400))] = 300
    upstream: Annotated[UpstreamSettings, GROUP] = UpstreamSettings()
    cache: Annotated[CacheSettings, GROUP] = CacheSettings()
    auth_mode: Annotated[AuthMode, env("RELAY_AUTH_MODE", parse.one_of(AuthMode))] = AuthMode.TOKEN
    xray_sdk_enabled: Annotated[bool, env("XRAY_SDK_ENABLED", parse.boolean)] = False
    # --- alerting and sweep ---
    alert_table_name: Annotated[str | None, env("ALERT_TABLE_NAME", parse.table_name)] = None
    """DynamoDB table holding alert state; without it nobody is ever notified."""
    alert_sinks: Annotated[frozenset[AlertSink], env("ALERT_SINKS", parse.sinks(AlertSink))] = frozenset()
    alert_topic_arn: Annotated[str | None, env("ALERT_TOPIC_ARN", parse.sns_topic_arn)] = None
    alert_repeat_seconds: Annotated[int, env("ALERT_REPEAT_SECONDS", parse.int_between(60, 7 * 86_400))] = 4 * 3600
    watched_endpoints: Annotated[tuple[str, ...] | None, env("WATCHED_ENDPOINTS", parse.watched_endpoints)] = None
    """What a sweep without explicit targets checks; None means every dedicated endpoint ("all")."""
    policy: Annotated["PolicyDocument | None", env("POLICY_JSON", parse.policy_json)] = None
    """The policy from POLICY_JSON, validated; None means POLICY_PARAMETER_NAME or the built-in defaults."""
    policy_parameter_name: Annotated[str | None, env("POLICY_PARAMETER_NAME", parse.ssm_parameter_name)] = None
    policy_max_age: Annotated[int, env("POLICY_MAX_AGE_SECONDS", parse.int_between(0, 86_400))] = 300
    sweep_max_workers: Annotated[int, env("SWEEP_MAX_WORKERS", parse.int_between(1, 64))] = 10
    sweep_time_margin_ms: Annotated[int, env("SWEEP_TIME_MARGIN_MS", parse.int_between(0, 900_000))] = 5_000
    daily_digest: Annotated[bool, env("DAILY_DIGEST", parse.boolean)] = False
    """The daily digest is scheduled: each sweep then posts what is still owed of yesterday's and today's."""
    slack_webhook: Annotated[SlackWebhookSettings, GROUP] = SlackWebhookSettings()
    together_console_url: Annotated[str, env("TOGETHER_CONSOLE_URL", parse.console_url)] = (
        "https://api.together.ai/endpoints/{endpoint_id}"
    )
    # --- Together v2 projects ---
    default_project_id: Annotated[str | None, env("TOGETHER_PROJECT_ID", parse.project_id)] = None
    """The project of an ``ep_...`` id given without one (the v1 view); None when unset."""
    extra_project_ids: Annotated[frozenset[str], env("TOGETHER_PROJECT_IDS", parse.project_ids)] = frozenset()
    """Further projects the v2 routes serve, besides the default one."""
    # --- Slack commands ---
    slack_allowed_team_ids: Annotated[frozenset[str], env("SLACK_ALLOWED_TEAM_IDS", parse.slack_ids("T", "E"))] = (
        frozenset()
    )
    """Slack workspaces (team ids) allowed to use the command; empty means any workspace the app is in."""
    slack_mute_user_ids: Annotated[frozenset[str], env("SLACK_MUTE_USER_IDS", parse.mute_user_ids)] = frozenset()
    """Slack users allowed to mute and unmute (``U…``, or ``T…:U…`` for one workspace); empty means nobody."""
    slack_response_url_hosts: Annotated[frozenset[str], env("SLACK_RESPONSE_URL_HOSTS", parse.host_names)] = frozenset(
        {"hooks.slack.com"}
    )
    slack_response_url_allow_http: Annotated[bool, env("SLACK_RESPONSE_URL_ALLOW_HTTP", parse.boolean)] = False
    """Only for local tests against a loopback receiver; Slack's response_urls are always https."""
    slack_worker_function: Annotated[str | None, env("SLACK_WORKER_FUNCTION", parse.text)] = None
    """The Slack worker function (name, ARN or alias ARN) that ApiFunction hands slow commands to."""
    slack_check_cooldown_seconds: Annotated[int, env("SLACK_CHECK_COOLDOWN_SECONDS", parse.int_between(60, 86_400))] = (
        300
    )
    """How long one workspace's ``check`` holds off the next; at least the worker's timeout, so none overlap."""

    @property
    def allowed_project_ids(self) -> frozenset[str]:
        """Every project the v2 routes serve; a request for any other is 404 without an upstream call."""
        default = frozenset({self.default_project_id}) if self.default_project_id else frozenset()
        return default | self.extra_project_ids

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        settings: Settings = _read(cls, os.environ if environ is None else environ)
        settings._check_upstream_budget()
        settings._check_alerting()
        settings._check_watched()
        return settings

    def _check_upstream_budget(self) -> None:
        worst = self.upstream.worst_case_seconds()
        if worst > _UPSTREAM_BUDGET_SECONDS:
            raise SettingsError(
                "UPSTREAM_MAX_RETRIES, UPSTREAM_CONNECT_TIMEOUT_SECONDS, UPSTREAM_READ_TIMEOUT_SECONDS and "
                f"UPSTREAM_MAX_RETRY_AFTER_SECONDS allow {worst:.1f}s per upstream request; "
                f"keep it within {_UPSTREAM_BUDGET_SECONDS:.0f}s so API Gateway's "
                f"{API_GATEWAY_BUDGET_SECONDS:.0f}s limit is never hit"
            )

    def _check_watched(self) -> None:
        if not self.watched_endpoints:
            return  # "all", or unset: nothing to check, and no id rules to load
        for ref in self.watched_refs:
            if not ref.is_v2:
                continue
            if ref.project_id is None:
                raise SettingsError(f"WATCHED_ENDPOINTS: {ref.endpoint_id} has no project; set TOGETHER_PROJECT_ID")
            if ref.project_id not in self.allowed_project_ids:
                raise SettingsError(
                    f"WATCHED_ENDPOINTS names project {ref.project_id}, which is not in TOGETHER_PROJECT_ID(S)"
                )

    @property
    def watched_refs(self) -> "tuple[EndpointRef, ...]":
        """The watched endpoints, a bare ``ep_…`` in the default project; () for "all"."""
        from endpoint_relay.core.endpoint_ref import parse_endpoint_ref

        return tuple(parse_endpoint_ref(text, self.default_project_id) for text in self.watched_endpoints or ())

    def _check_alerting(self) -> None:
        if self.alert_sinks and self.alert_table_name is None:
            raise SettingsError(
                "ALERT_SINKS needs ALERT_TABLE_NAME: the alert state table decides who is notified, and when"
            )
        if AlertSink.SNS in self.alert_sinks and self.alert_topic_arn is None:
            raise SettingsError("ALERT_SINKS includes sns, so ALERT_TOPIC_ARN is required")
        if self.policy is not None and self.policy_parameter_name is not None:
            raise SettingsError("set POLICY_JSON or POLICY_PARAMETER_NAME, not both")
