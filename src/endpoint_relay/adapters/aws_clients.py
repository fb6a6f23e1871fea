"""Lazily created boto3 clients with tight timeouts.

boto3 and its service models cost tens of milliseconds each; a cold start that
only serves a cached lookup should not pay for DynamoDB, SNS or Lambda clients.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from endpoint_relay.core.deadline import Deadline

_lock = threading.Lock()
_max_pool_connections = 10
# Fail fast: DynamoDB, Secrets Manager and SNS answer in milliseconds in-region, every caller has a
# fallback (local cache, next sweep), and each AWS call must fit the invocation's remaining time.
_CONNECT_TIMEOUT = 1.0
_READ_TIMEOUT = 2.0
_ATTEMPTS = 2
_deadline: Deadline = Deadline()


def worst_case_seconds() -> float:
    """The longest one AWS call can take: every attempt at its connect and read timeouts."""
    return _ATTEMPTS * (_CONNECT_TIMEOUT + _READ_TIMEOUT)


def use_deadline(deadline: Deadline) -> None:
    """Guard every AWS call with ``deadline``: a call whose worst case no longer fits is not started."""
    global _deadline
    _deadline = deadline


def _guard(model: Any, **_: Any) -> None:
    _deadline.require(worst_case_seconds(), f"calling {model.service_model.service_name}.{model.name}")


def configure(*, max_pool_connections: int) -> None:
    """Size every client's connection pool (sweep workers share the DynamoDB client); call before first use."""
    global _max_pool_connections
    wanted = max(10, max_pool_connections)
    with _lock:
        if wanted == _max_pool_connections:
            return
        _max_pool_connections = wanted
        _client_config.cache_clear()
        _cached_client.cache_clear()


@cache
def _client_config() -> Any:
    from botocore.config import Config

    return Config(
        connect_timeout=_CONNECT_TIMEOUT,
        read_timeout=_READ_TIMEOUT,
        # Two attempts in all: botocore's "max_attempts" would count retries only, making three.
        retries={"total_max_attempts": _ATTEMPTS, "mode": "standard"},
        max_pool_connections=_max_pool_connections,
    )


def client(service: str) -> Any:
    """A process-wide boto3 client for ``service``; clients are thread-safe once created."""
    with _lock:  # boto3's default session is not thread-safe while creating clients
        return _cached_client(service)


@cache
def _session() -> Any:
    import boto3

    # One session for all clients: each new Session re-reads botocore's endpoint and
    # partition data, which costs a cold start about 20 ms per extra client.
    return boto3.session.Session()


@cache
def _cached_client(service: str) -> Any:
    created = _session().client(service, config=_client_config())
    created.meta.events.register("before-call", _guard)
    return created


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
    _cached_client.cache_clear()
    _session.cache_clear()
    _client_config.cache_clear()
