"""Lazily created boto3 clients with tight timeouts.

boto3 and its service models cost tens of milliseconds each; a cold start that
only serves a cached lookup should not pay for DynamoDB, SNS or Lambda clients.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any, NamedTuple

from endpoint_relay.core.deadline import Deadline


class _ClientSettings(NamedTuple):
    """Timeouts and retries for every AWS client the relay creates."""

    # Fail fast: DynamoDB, Secrets Manager and SNS answer in milliseconds in-region, every caller has a
    # fallback (local cache, next sweep), and each AWS call must fit the invocation's remaining time.
    connect_timeout: float = 1.0
    read_timeout: float = 2.0
    max_attempts: int = 2
    """Attempts in all: botocore's "max_attempts" would count retries only, making three."""
    max_pool_connections: int = 10


_lock = threading.Lock()
_settings = _ClientSettings()
_deadline = Deadline()


def configure(*, max_pool_connections: int = 10, connect_timeout: float = 1.0, read_timeout: float = 2.0) -> None:
    """Size every client's connection pool (sweep workers share the DynamoDB client) and its timeouts.

    Call before first use; clients created earlier are dropped.
    """
    global _settings
    wanted = _settings._replace(
        # Never below botocore's own default of 10.
        max_pool_connections=max(10, max_pool_connections),
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    with _lock:
        if wanted == _settings:
            return
        _settings = wanted
        _client_config.cache_clear()
        _cached_client.cache_clear()


def use_deadline(deadline: Deadline) -> None:
    """Every boto3 call made from now on first checks that its worst case still fits ``deadline``."""
    global _deadline
    _deadline = deadline


def deadline_allows(seconds: float) -> bool:
    """Whether ``seconds`` (a pause before another call, say) still fit the deadline every call is checked against."""
    return _deadline.allows(seconds)


def worst_case_seconds() -> float:
    """The longest one boto3 call can take: every attempt timing out on connect and on read."""
    return _settings.max_attempts * (_settings.connect_timeout + _settings.read_timeout)


@cache
def _client_config() -> Any:
    from botocore.config import Config

    return Config(
        connect_timeout=_settings.connect_timeout,
        read_timeout=_settings.read_timeout,
        retries={"total_max_attempts": _settings.max_attempts, "mode": "standard"},
        max_pool_connections=_settings.max_pool_connections,
    )


def client(service: str) -> Any:
    """A process-wide boto3 client for ``service``; clients are thread-safe once created."""
    with _lock:  # boto3's default session is not thread-safe while creating clients
        return _cached_client(service)


class LazyClient[C]:
    """The injected client, or the process-wide one for ``service``, made on first call.

    Most invocations never touch most services: a cached lookup should not pay for a DynamoDB client.
    """

    def __init__(self, service: str, injected: C | None = None) -> None:
        self._service = service
        self._client = injected

    def __call__(self) -> C:
        if self._client is None:
            self._client = client(self._service)
        return self._client


@cache
def _session() -> Any:
    import boto3

    # One session for all clients: each new Session re-reads botocore's endpoint and
    # partition data, which costs a cold start about 20 ms per extra client.
    return boto3.session.Session()


@cache
def _cached_client(service: str) -> Any:
    created = _session().client(service, config=_client_config())
    created.meta.events.register("before-call", _check_deadline)
    return created


def _check_deadline(model: Any, **_: Any) -> None:
    # Registered on every client at creation, so no adapter has to remember it.
    _deadline.require(worst_case_seconds(), f"{model.service_model.service_name}.{model.name}")


def error_code(exc: BaseException) -> str:
    """AWS's error code of a botocore ClientError (e.g. ``ThrottlingException``), else the exception's type name.

    Safe to log: codes and type names never carry request data.
    """
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__


def reset() -> None:
    """Forget created clients (tests point them at a new moto server)."""
    global _deadline
    _cached_client.cache_clear()
    _session.cache_clear()
    _client_config.cache_clear()
    _deadline = Deadline()
