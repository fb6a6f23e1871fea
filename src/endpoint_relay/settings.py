"""Every environment variable the relay reads, parsed and validated once at cold start.

Nothing else in the package reads ``os.environ``. A bad value fails fast with a
message naming the variable and what it accepts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

API_GATEWAY_BUDGET_SECONDS = 30.0
"""API Gateway gives up on an integration after 30 s; an upstream request must finish well inside it."""
_UPSTREAM_BUDGET_SECONDS = 25.0

T = TypeVar("T")


class SettingsError(ValueError):
    """A configuration value is missing or invalid."""


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
    upstream_read_timeout: float = 5.0
    upstream_max_retries: int = 2
    upstream_max_retry_after: float = 3.0
    upstream_max_response_bytes: int = 256 * 1024
    auth_mode: AuthMode = AuthMode.TOKEN
    xray_sdk_enabled: bool = False
    # --- alerting and sweep fields (issue 3) go below this line ---
    # --- Slack command fields (issue 4) go below this line ---

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
            cache_table_name=env.get("CACHE_TABLE_NAME", _text, None),
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
            # --- Slack command variables (issue 4) go below this line ---
        )
        settings._check_upstream_budget()
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
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("expected an http(s) base URL such as https://api.together.ai/v1")
    return raw.rstrip("/")
