"""Lazily created boto3 clients with tight timeouts.

boto3 and its service models cost tens of milliseconds each; a cold start that
only serves a cached lookup should not pay for DynamoDB, SNS or Lambda clients.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

_lock = threading.Lock()
_max_pool_connections = 10


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

    # Fail fast: every caller has a fallback (local cache, next sweep) and a 30 s API budget.
    return Config(
        connect_timeout=2,
        read_timeout=3,
        # Two attempts in all: botocore's "max_attempts" would count retries only, making three.
        retries={"total_max_attempts": 2, "mode": "standard"},
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
    return _session().client(service, config=_client_config())


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
